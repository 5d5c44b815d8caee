"""Fitted models on disk without pickle: one ``.npz`` of named arrays plus a JSON header.

A file holds numpy arrays only (written uncompressed by :func:`numpy.savez`, read with
``allow_pickle=False``), so opening a results folder someone sent you runs none of their code,
and a file written with one numpy/scipy/implicit/torch version reads with the next. Layout:

* ``__header__``: a 0-d unicode array holding JSON: ``format`` (:data:`FORMAT`), ``version``
  (:data:`VERSION`), ``family`` (the registered name), ``class`` (``module:QualName``),
  ``params`` (the constructor's hyper-parameters) and ``state``: for every fitted attribute
  (name ending in ``_``) its kind and, for JSON values, the value itself.
* one array per numpy attribute (``item_factors_``); a scipy sparse matrix as its parts
  (``similarity_/data``, ``/indices``, ``/indptr``; shape and format in the header); a dict of
  arrays as ``weights_/<key>``.

Recommenders write ``family``/``class``/``params`` (:meth:`tastemap.models.Recommender.save`);
fitted scikit-learn pipelines (the explore SVD / PCA / UMAP maps) write ``steps`` (each
step's name, class and parameters) and ``params`` instead, their fitted attributes as state
entries ``<step>/<attribute>`` (:func:`write_estimators`, :func:`read_estimators`).

>>> import io, scipy.sparse as sp
>>> buf = io.BytesIO()
>>> write(buf, {"family": "demo"}, {"v_": np.arange(3.0), "s_": sp.eye(2, format="csr"), "n_": 4})
>>> header, state = read(io.BytesIO(buf.getvalue()))
>>> header["family"], state["v_"].tolist(), state["s_"].toarray().tolist(), state["n_"]
('demo', [0.0, 1.0, 2.0], [[1.0, 0.0], [0.0, 1.0]], 4)
"""
from __future__ import annotations

import json
import numbers
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy.sparse as sp

FORMAT = "tastemap.model"
VERSION = 1
HEADER = "__header__"


class ModelFileError(ValueError):
    """A model file that is not a tastemap model, or holds something other than plain arrays."""


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return False
    return True


def _pack(name: str, value: Any, arrays: dict[str, np.ndarray]) -> dict:
    """One attribute -> its header entry; its arrays go into ``arrays`` (keys ``name[/part]``)."""
    if sp.issparse(value):
        fmt = value.format
        if fmt not in ("csr", "csc"):
            value, fmt = value.tocsr(), "csr"
        for part in ("data", "indices", "indptr"):
            arrays[f"{name}/{part}"] = np.asarray(getattr(value, part))
        return {"kind": "sparse", "format": fmt, "shape": list(value.shape)}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"{name}: an object array cannot be saved without pickle")
        arrays[name] = value
        return {"kind": "array"}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Mapping) and value and all(isinstance(v, np.ndarray) for v in value.values()):
        for key, arr in value.items():
            _pack(f"{name}/{key}", arr, arrays)
        return {"kind": "arrays", "keys": list(value)}
    if _is_json(value):
        return {"kind": "json", "value": value}
    raise TypeError(f"{name}: a {type(value).__name__} cannot be saved without pickle; keep "
                    "fitted state in numpy arrays, scipy sparse matrices or JSON values")


def write(file: str | Path | IO[bytes], header: dict, state: Mapping[str, Any]) -> None:
    """Write ``header`` (JSON-able) and the fitted ``state`` (attribute -> value) to ``file``.

    The file is written as given (``numpy.savez`` would append ``.npz`` to a path without it).
    """
    arrays: dict[str, np.ndarray] = {}
    entries = {name: _pack(name, value, arrays) for name, value in state.items()}
    text = json.dumps({"format": FORMAT, "version": VERSION, **header, "state": entries})
    if isinstance(file, (str, Path)):
        with open(file, "wb") as fh:
            np.savez(fh, **{HEADER: np.array(text)}, **arrays)
    else:
        np.savez(file, **{HEADER: np.array(text)}, **arrays)


def _array(npz, key: str, where: str) -> np.ndarray:
    try:
        return npz[key]
    except KeyError:
        raise ModelFileError(f"{where}: array {key!r} listed in the header is missing") from None
    except ValueError as err:  # numpy: "Object arrays cannot be loaded when allow_pickle=False"
        raise ModelFileError(f"{where}: array {key!r} is a pickled object array, which tastemap "
                             f"never writes and does not load ({err})") from None


def read_header(npz, where: str) -> dict:
    """The JSON header of an open npz file, checked (format, version)."""
    if HEADER not in npz.files:
        raise ModelFileError(f"{where}: not a tastemap model file (no {HEADER} array)")
    raw = _array(npz, HEADER, where)
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise ModelFileError(f"{where}: {HEADER} must be a 0-d unicode array, is {raw.dtype} {raw.shape}")
    header = json.loads(str(raw))
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{where}: format {header.get('format')!r}, expected {FORMAT!r}")
    if header.get("version") != VERSION:
        raise ModelFileError(f"{where}: format version {header.get('version')!r}; this tastemap "
                             f"reads version {VERSION}")
    return header


def _unpack(npz, name: str, entry: dict, where: str) -> Any:
    kind = entry.get("kind")
    if kind == "json":
        return entry["value"]
    if kind == "array":
        return _array(npz, name, where)
    if kind == "arrays":
        return {key: _array(npz, f"{name}/{key}", where) for key in entry["keys"]}
    if kind == "sparse":
        parts = tuple(_array(npz, f"{name}/{p}", where) for p in ("data", "indices", "indptr"))
        cls = sp.csr_matrix if entry["format"] == "csr" else sp.csc_matrix
        return cls(parts, shape=tuple(entry["shape"]))
    raise ModelFileError(f"{where}: attribute {name!r} has unknown kind {kind!r}")


def read(file: str | Path | IO[bytes]) -> tuple[dict, dict[str, Any]]:
    """``(header, state)`` of a model file written by :func:`write`; never unpickles.

    Raises :class:`ModelFileError` naming the file for anything but a tastemap model file.
    """
    where = str(file) if isinstance(file, (str, Path)) else "model file"
    try:
        npz = np.load(file, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ModelFileError(f"{where}: not a tastemap model file (.npz of arrays): {err}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{where}: a single array, not a tastemap model file")
    with npz:
        header = read_header(npz, where)
        state = {name: _unpack(npz, name, entry, where)
                 for name, entry in header.pop("state", {}).items()}
    return header, state


def fingerprint(matrix: sp.csr_matrix) -> str:
    """Short checksum of a CSR matrix (shape, structure and values): tells whether a matrix given
    to a loaded model is the one it was fit on. CRC-32, about 0.1 s per 100 MB.

    >>> fingerprint(sp.csr_matrix(np.eye(2, dtype=np.float32)))
    '2x2:2:ea8c3682'
    """
    m = sp.csr_matrix(matrix)
    crc = 0
    for part, dtype in ((m.indptr, np.int64), (m.indices, np.int32), (m.data, np.float32)):
        crc = zlib.crc32(np.ascontiguousarray(part, dtype=dtype).view(np.uint8), crc)
    return f"{m.shape[0]}x{m.shape[1]}:{m.nnz}:{crc:08x}"


# ---- fitted scikit-learn estimators (the explore maps) ----------------------------------------


def _fitted(est: Any) -> dict[str, Any]:
    """The fitted attributes of ``est`` (names ending in ``_``) this format can hold: numpy
    arrays and scalars, numbers, scipy sparse matrices. Others (e.g. the ``RandomState`` of a
    fitted ``LatentDirichletAllocation``, which its ``transform`` does not use) are left out."""
    return {key: value for key, value in vars(est).items()
            if key.endswith("_") and not key.startswith("_")
            and (isinstance(value, np.ndarray | numbers.Number | np.generic) or sp.issparse(value))}


def write_estimators(file: str | Path | IO[bytes], estimators: list[tuple[str, Any]],
                     params: dict | None = None) -> None:
    """Write fitted scikit-learn ``estimators`` (name, estimator: e.g. the steps of a
    ``Pipeline``) and JSON-able ``params`` as one model file (:func:`write`): the header lists
    each step's name, class and ``get_params()``; its fitted attributes are the state entries
    ``<name>/<attribute>``.

    >>> import io
    >>> from sklearn.preprocessing import Normalizer
    >>> buf = io.BytesIO()
    >>> write_estimators(buf, [("l2", Normalizer().fit(np.ones((2, 3))))], {"method": "demo"})
    >>> steps, params = read_estimators(io.BytesIO(buf.getvalue()), {"Normalizer": Normalizer})
    >>> steps[0][0], steps[0][1].n_features_in_, params
    ('l2', 3, {'method': 'demo'})
    """
    steps, state = [], {}
    for name, est in estimators:
        fitted = _fitted(est)
        steps.append({"name": name, "class": type(est).__name__, "params": est.get_params(),
                      "attributes": list(fitted)})
        state |= {f"{name}/{key}": value for key, value in fitted.items()}
    write(file, {"steps": steps, "params": params or {}}, state)


def read_estimators(file: str | Path | IO[bytes], classes: Mapping[str, type]
                    ) -> tuple[list[tuple[str, Any]], dict]:
    """``(estimators, params)`` of a file written by :func:`write_estimators`, each estimator
    constructed with its saved parameters and its fitted attributes set. ``classes`` maps the
    class names the caller accepts to the classes: any other class in the file is an error
    (nothing is imported by name)."""
    header, state = read(file)
    where = str(file) if isinstance(file, str | Path) else "model file"
    if "steps" not in header:
        raise ModelFileError(f"{where}: a model file without estimator steps "
                             f"(family {header.get('family')!r})")
    estimators = []
    for step in header["steps"]:
        if step["class"] not in classes:
            raise ModelFileError(f"{where}: step {step['name']!r} is a {step['class']}, not one "
                                 f"of {sorted(classes)}")
        est = classes[step["class"]](**step["params"])
        for key in step["attributes"]:
            setattr(est, key, state[f"{step['name']}/{key}"])
        estimators.append((step["name"], est))
    return estimators, header["params"]
