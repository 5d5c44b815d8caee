"""Logging set-up for workflow scripts: everything goes to the rule's log file."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path


def setup(path: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send log records (and uncaught exceptions) of this process to ``path``.

    Called first by every workflow script with ``snakemake.log[0]``. Returns the ``tastemap``
    logger. Without a path, logs go to stderr.
    """
    handlers: list[logging.Handler]
    if path is None:
        handlers = [logging.StreamHandler(sys.stderr)]
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers = [logging.FileHandler(path, mode="w", encoding="utf-8")]
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logger = logging.getLogger("tastemap")

    def _excepthook(exc_type, exc, tb):
        # The log file gets the traceback; stderr (Snakemake's console) gets the one-line reason.
        logger.error("failed: %s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))
        print(f"tastemap: {exc_type.__name__}: {exc}", file=sys.stderr)

    sys.excepthook = _excepthook
    return logger


class Progress:
    """Log progress of a long loop at most every ``every`` seconds (and at the end).

    >>> p = Progress("fit", total=10)
    >>> for i in range(10):
    ...     p.update(i + 1)
    """

    def __init__(self, what: str, total: int | None = None, every: float = 10.0,
                 logger: logging.Logger | None = None):
        self.what, self.total, self.every = what, total, every
        self.logger = logger or logging.getLogger("tastemap")
        self.start = self._last = time.monotonic()

    def update(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        if now - self._last < self.every and (self.total is None or done < self.total):
            return
        self._last = now
        of = f"/{self.total}" if self.total is not None else ""
        pct = f" ({100 * done / self.total:.0f}%)" if self.total else ""
        self.logger.info("%s: %d%s%s after %.1f s %s", self.what, done, of, pct, now - self.start, extra)
