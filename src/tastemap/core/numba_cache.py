"""umap-learn with every numba function cached on disk, so a new process does not recompile it.

umap-learn and pynndescent decorate most of their numba functions without ``cache=True``: each
new process compiled them again the first time it fitted a map (measured on the project's
2-core machine: 13 s of CPU for a 300-point UMAP fit + transform in a fresh process, with or
without a warm ``NUMBA_CACHE_DIR``). :func:`import_umap` turns numba's on-disk cache on for every
numba dispatcher of those two packages before anything is compiled; the first process writes the
compiled code to ``NUMBA_CACHE_DIR`` (``workflow/rules/common.smk`` sets it; without it numba
uses ``__pycache__`` beside the package or a per-user folder), and every later process loads it
(the same fit + transform then costs 2.8 s of CPU, import included). numba keys each cache
entry on the function's source file, its bytecode, closure variables and the argument types, so
a changed umap-learn version or different argument types compile afresh; the compiled code is the
same machine code, hence the same numbers (``tests/test_explore.py`` compares a map made with a
cold cache with one made from the warm cache).

numba has no public switch for caching a function decorated without ``cache=True``; the switch
goes through :func:`tastemap.core.compat.numba_enable_disk_cache`, which checks numba's version and the
private names first: with another numba than the tested one (``compat.NUMBA_TESTED``, the version
pyproject.toml pins) nothing is switched on and umap compiles in every process, as released.
"""
from __future__ import annotations

import sys
from types import ModuleType

from tastemap.core.compat import numba_enable_disk_cache

#: packages whose numba functions get the on-disk cache
PACKAGES = ("umap", "pynndescent")


def enable_disk_cache(packages: tuple[str, ...] = PACKAGES) -> int:
    """Turn numba's on-disk cache on for every not-yet-cached numba function of the already
    imported modules of ``packages``; returns how many were switched on (0 with an untested
    numba)."""
    count = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in packages:
            continue
        for obj in list(vars(module).values()):
            count += numba_enable_disk_cache(obj)
    return count


def import_umap() -> ModuleType:
    """``import umap``, with the on-disk cache of :func:`enable_disk_cache` switched on."""
    import umap

    enable_disk_cache()
    return umap
