"""Modules outside tastemap that the config names (``input.module`` for a format,
``models.<name>.module`` for a family): imported from ``PYTHONPATH`` or the working directory,
never from a results folder."""
from __future__ import annotations

import importlib
import os
import re
import sys

#: a dotted Python module name
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def import_outside(module: str, key: str, inside: str) -> None:
    """Import ``module``, the value of config key ``key``, also from the working directory.

    Errors name the key: not a module name, a module inside tastemap (``inside`` says where the
    package's own ones are listed), or no such module (an import error inside the module itself
    propagates as it is).

    >>> import_outside("tastemap.core.layout", "input.module", "the registry")
    Traceback (most recent call last):
    ...
    ValueError: input.module: 'tastemap.core.layout' is inside tastemap; list it in the registry instead
    """
    if not MODULE_NAME.fullmatch(str(module)):
        raise ValueError(f"{key}: {module!r} is not a Python module name")
    if module.split(".")[0] == "tastemap":
        raise ValueError(f"{key}: {module!r} is inside tastemap; list it in {inside} instead")
    if os.getcwd() not in sys.path:  # the workflow's working directory, like `python -m`
        sys.path.append(os.getcwd())
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module and not module.startswith(f"{err.name}."):
            raise
        raise ModuleNotFoundError(f"{key}: no module {module!r} on PYTHONPATH or in the working "
                                  f"directory {os.getcwd()}") from err
