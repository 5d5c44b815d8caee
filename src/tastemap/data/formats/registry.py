"""Which input formats exist and what each one declares, as :mod:`tastemap.models.registry` does
for model families.

A format is one module that declares itself with one :class:`Format` passed to
:func:`register`: its name (the value of ``input.format``), its reader, the file name it has in
the archive it is shipped in (``member``), its side files (``input.tracks_path``) with their
names in their archives, whether it gives track names and timestamps, and whether its reader
streams. Everything else is built from these declarations: the table of archive members
(:data:`KNOWN_MEMBERS`), which formats have no track names (:meth:`Format.gives_tracks`, for the
config rule on the song entity), the dispatch of :func:`tastemap.data.formats.read_listens`, and the
list of formats the config schema's ``input.format`` enum must equal (:func:`schema_enum`, a
test compares).

The package's formats are the modules of :data:`PACKAGE`, imported by
``tastemap.data.formats`` (importing any part of the package registers all of them). A format
outside the package is one module that registers its declaration, and two config keys::

    input: {format: my-format, module: myformat, path: plays.txt}

``input.module`` is imported from ``PYTHONPATH`` or the working directory (the config check and
the ingest job both import it; see :func:`get`). The smallest reader returns whole tables and
leaves streaming to the caller (``streams=False``)::

    import pyarrow as pa
    from tastemap.data.formats import Format, register

    def read(path, *, tracks_path=None, generic=None, block_bytes=None):
        rows = [line.split(";") for line in open(path, encoding="utf-8").read().splitlines()]
        listens = pa.table({"user": [r[0] for r in rows], "artist": [r[1] for r in rows]})
        return listens, None, {}

    register(Format("my-format", read, streams=False))

Missing listens columns become null (``track``, ``timestamp``) or 1 (``plays``); missing stats
(``file``, ``format``, ``lines``, ``kept``, ``rejected``, ``rejected_by_reason``,
``header_lines``) are counted from the tables (:meth:`Format.read`).

>>> [f.name for f in package_formats()]
['lastfm-1k', 'lastfm-360k', 'msd-triplets', 'hetrec-2k', 'generic']
>>> KNOWN_MEMBERS["msd-tracks"], get("hetrec-2k").gives_tracks(side_file=True)
('unique_tracks.txt', False)
"""
from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from tastemap.core.plugins import import_outside
from tastemap.data.formats.base import (
    BLOCK_BYTES,
    LISTENS_SCHEMA,
    REJECTED_SCHEMA,
    FormatError,
    _listens_table,
)

#: the package's format modules (``tastemap.data.formats.<module>``), one format each, in the order
#: the formats are listed (schema enum, messages, docs)
PACKAGE = ("lastfm1k", "lastfm360k", "msd", "hetrec", "generic")
#: values of ``input.format`` that are not formats of this registry: ``simulate`` (the workflow
#: writes a Last.fm layout, ``simulate.layout``, and ingests it) and ``given`` (ingest of a
#: ``split.scheme: given`` split, :mod:`tastemap.data.formats.given`)
RESERVED = ("simulate", "given")

#: name -> declaration, filled by :func:`register` when a format's module is imported
REGISTRY: dict[str, Format] = {}

_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")

#: ``reader(path, *, tracks_path, generic, block_bytes[, sink, rejected_sink])``
#: -> ``(listens, rejected, stats)``
Reader = Callable[..., tuple]


@dataclass(frozen=True)
class Format:
    """What a format is: the one declaration of its module.

    name : the value of ``input.format`` (lowercase letters, digits and ``-``).
    reader : ``reader(path, *, tracks_path, generic, block_bytes)`` -> ``(listens, rejected,
        stats)`` as :func:`tastemap.data.formats.read_listens` documents; with ``streams`` it also
        takes ``sink`` and ``rejected_sink`` and hands the rows to them itself.
    member : the file's name in the archive the format is shipped in (read from an archive
        before any other member, :mod:`tastemap.data.formats.source`); None: the archive's only data
        file.
    side_files : side file key -> its name in its archive (the file ``input.tracks_path``
        names, e.g. ``{"msd-tracks": "unique_tracks.txt"}``).
    has_tracks : whether the listens have track names (the song entity needs them).
    tracks_need_side_file : the track names come from the side file: none without it.
    has_timestamps : whether the listens have timestamps (``split.scheme: temporal``).
    streams : whether the reader takes the sinks (memory bounded by a block); otherwise it
        returns whole tables and :meth:`read` hands them on.
    """

    name: str
    reader: Reader = field(repr=False)
    member: str | None = None
    side_files: Mapping[str, str] = field(default_factory=dict)
    has_tracks: bool = False
    tracks_need_side_file: bool = False
    has_timestamps: bool = False
    streams: bool = False

    @property
    def module(self) -> str:
        """The module that declares the format (its reader's)."""
        return self.reader.__module__

    def gives_tracks(self, side_file: bool) -> bool:
        """Whether the listens have track names, with (``side_file``) or without the side file.

        >>> get("msd-triplets").gives_tracks(False), get("msd-triplets").gives_tracks(True)
        (False, True)
        """
        return self.has_tracks and (side_file or not self.tracks_need_side_file)

    def read(self, path: str | Path, tracks_path: str | Path | None = None,
             generic: dict | None = None, block_bytes: int = BLOCK_BYTES,
             sink: Callable[[pa.Table], None] | None = None,
             rejected_sink: Callable[[pa.Table], None] | None = None,
             ) -> tuple[pa.Table | None, pa.Table | None, dict]:
        """Run the reader (see :func:`tastemap.data.formats.read_listens`); the whole tables of a
        reader that does not stream are completed (:func:`complete`) and given to the sinks."""
        path = Path(path)
        options = {"tracks_path": tracks_path, "generic": generic, "block_bytes": block_bytes}
        if self.streams:
            return self.reader(path, **options, sink=sink, rejected_sink=rejected_sink)
        listens, rejected, stats = complete(self, path, *self.reader(path, **options))
        if sink is not None:
            sink(listens)
            listens = None
        if rejected_sink is not None:
            rejected_sink(rejected)
            rejected = None
        return listens, rejected, stats


def register(fmt: Format) -> Format:
    """Make ``fmt`` available as ``input.format: <fmt.name>``; returns it.

    A name is registered once (importing its module again replaces the declaration; another
    module registering the same name is an error).
    """
    if not isinstance(fmt, Format):
        raise TypeError(f"register() takes a tastemap.data.formats.Format, not {type(fmt).__name__}")
    if not _NAME.fullmatch(fmt.name) or fmt.name in RESERVED:
        raise ValueError(f"format name {fmt.name!r}: use lowercase letters, digits and '-' "
                         f"(not {' or '.join(RESERVED)})")
    old = REGISTRY.get(fmt.name)
    if old is not None and old.module != fmt.module:
        raise ValueError(f"format {fmt.name!r} is registered by {old.module} already; "
                         f"{fmt.module} must give its format another name")
    REGISTRY[fmt.name] = fmt
    return fmt


def package_formats() -> list[Format]:
    """The package's formats, in :data:`PACKAGE` order (imports their modules)."""
    out = []
    for name in PACKAGE:
        module = f"tastemap.data.formats.{name}"
        importlib.import_module(module)
        found = [f for f in REGISTRY.values() if f.module == module]
        if len(found) != 1:
            raise RuntimeError(f"{module} registers {len(found)} formats; a module of the "
                               "package declares exactly one")
        out.extend(found)
    return out


def names() -> tuple[str, ...]:
    """The names of the package's formats (:data:`tastemap.data.formats.FORMATS`)."""
    return tuple(f.name for f in package_formats())


def schema_enum() -> list[str]:
    """What the config schema's ``input.format`` enum must be: ``simulate`` and the package's
    formats (a test compares it with ``src/tastemap/schemas/config.schema.yaml``)."""
    return ["simulate", *names()]


def get(name: str, module: str | None = None) -> Format:
    """The declaration of format ``name``: one of the package's, or registered by ``module``
    (``input.module``: a format outside the package, imported here).

    Errors name the config key: ``input.format: unknown format 'x'; ...`` (a
    :class:`FormatError`), ``input.module: ...`` (ValueError or ModuleNotFoundError).

    >>> get("lastfm-1k").member
    'userid-timestamp-artid-artname-traid-traname.tsv'
    """
    package = names()
    if module is not None:
        if name in package:
            raise ValueError(f"input.module: {name} is one of tastemap's own formats; leave "
                             "input.module out, or give the outside format another name")
        if name not in REGISTRY:
            import_outside(module, "input.module", "tastemap.data.formats.registry.PACKAGE")
            if name not in REGISTRY:
                raise ValueError(f"input.module: {module} registers no format named {name!r} "
                                 f"(registered: {', '.join(REGISTRY)})")
        return REGISTRY[name]
    if name not in REGISTRY:
        raise FormatError(f"input.format: unknown format {name!r}; expected one of "
                          f"{', '.join(package)} (a format outside tastemap needs input.module)")
    return REGISTRY[name]


class _Members(Mapping):
    """Format or side-file key -> the file's name in its shipped archive, read from the
    declarations each time (a format registered later is in it too)."""

    def _table(self) -> dict[str, str]:
        out = {}
        for fmt in {f.name: f for f in [*package_formats(), *REGISTRY.values()]}.values():
            if fmt.member:
                out[fmt.name] = fmt.member
            out.update(fmt.side_files)
        return out

    def __getitem__(self, key: str) -> str:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return repr(self._table())


#: the file name of each format (and side file) in the archive it is shipped in
KNOWN_MEMBERS: Mapping[str, str] = _Members()


def complete(fmt: Format, path: Path, listens: pa.Table, rejected: pa.Table | None,
             stats: dict | None) -> tuple[pa.Table, pa.Table, dict]:
    """The whole tables of a reader that does not stream, with :data:`LISTENS_SCHEMA` (missing
    columns: null, ``plays`` 1), :data:`REJECTED_SCHEMA` (None: no rejected line) and the stats
    every reader gives (missing counts counted from the tables; ``lines == kept + rejected``
    checked).

    >>> listens, rejected, stats = complete(get("generic"), Path("x.csv"),
    ...                                     pa.table({"user": ["u"], "artist": ["a"]}), None, {})
    >>> listens.schema == LISTENS_SCHEMA, rejected.num_rows, stats["lines"], stats["format"]
    (True, 0, 1, 'generic')
    """
    where = f"format {fmt.name!r} ({fmt.module})"
    extra = sorted(set(listens.column_names) - set(LISTENS_SCHEMA.names))
    if extra or not {"user", "artist"} <= set(listens.column_names):
        raise ValueError(f"{where}: its reader returned listens columns {listens.column_names}; "
                         f"expected user, artist and some of {', '.join(LISTENS_SCHEMA.names[2:])}")
    listens = _listens_table({c: listens.column(c) for c in listens.column_names},
                             listens.num_rows)
    rejected = REJECTED_SCHEMA.empty_table() if rejected is None else rejected.cast(REJECTED_SCHEMA)
    stats = dict(stats or {})
    counted = {"file": str(path), "format": fmt.name, "kept": listens.num_rows,
               "rejected": rejected.num_rows, "header_lines": 0,
               "lines": listens.num_rows + rejected.num_rows}
    if "rejected_by_reason" not in stats:
        counts = Counter(rejected.column("reason").to_pylist())
        counted["rejected_by_reason"] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    stats = {**counted, **stats}
    if (stats["kept"], stats["rejected"]) != (listens.num_rows, rejected.num_rows) or \
            stats["lines"] != stats["kept"] + stats["rejected"]:
        raise ValueError(f"{where}: its stats do not count its tables: lines {stats['lines']}, "
                         f"kept {stats['kept']} ({listens.num_rows} rows), rejected "
                         f"{stats['rejected']} ({rejected.num_rows} rows)")
    return listens, rejected, stats
