"""tastemap: find the hidden structure in music-listening data.

``tastemap.load("results/<dataset>")`` opens a finished run in a notebook (see
:mod:`tastemap.app.loader`).
"""
__version__ = "0.1.0"  # the package's version (pyproject.toml reads it from here)

__all__ = ["load", "__version__"]


def __getattr__(name):
    # lazy: `import tastemap.core.logs` in every workflow script must not pull in pandas and scipy
    if name == "load":
        from tastemap.app.loader import load

        return load
    raise AttributeError(f"module 'tastemap' has no attribute {name!r}")
