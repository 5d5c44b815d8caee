"""tastemap: find the hidden structure in music-listening data."""
__version__ = "0.1.0"
