"""tastemap: find the hidden structure in music-listening data.

``tastemap.load("results/<dataset>")`` opens a finished run in a notebook (see
:mod:`tastemap.loader`).
"""
__version__ = "0.1.0"

__all__ = ["load", "__version__"]


def __getattr__(name):
    # lazy: `import tastemap.logs` in every workflow script must not pull in pandas and scipy
    if name == "load":
        from tastemap.loader import load

        return load
    raise AttributeError(f"module 'tastemap' has no attribute {name!r}")
