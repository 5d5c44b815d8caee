"""tastemap: find the hidden structure in music-listening data.

``tastemap.load("results/<dataset>")`` opens a finished run in a notebook (see
:mod:`tastemap.app.loader`).
"""
from importlib.metadata import version as _version

__version__ = _version("tastemap")  # pyproject.toml's

__all__ = ["load", "__version__"]


def __getattr__(name):
    # lazy: `import tastemap.core.logs` in every workflow script must not pull in pandas and scipy
    if name == "load":
        from tastemap.app.loader import load

        return load
    raise AttributeError(f"module 'tastemap' has no attribute {name!r}")
