"""How a workflow script's process ends: :func:`finish`, the last statement of every ``main()``.

Why. A job's process holds native thread pools that outlive the Python code: Arrow's CPU and I/O
pools (every job reads or writes Parquet), and in the fits torch's, OpenMP's and implicit's.
When the interpreter tears itself down after ``main()``, an Arrow worker that is still finishing
an asynchronous read can drop the last reference to memory Python owns (``pa.py_buffer`` of
``bytes``, a numpy array, a Python file). Its destructor asks for the GIL; once Python is
finalizing, CPython 3.11 answers by ending that thread with ``pthread_exit``, whose forced unwind
meets a C++ ``noexcept`` destructor: ``std::terminate``, "terminate called without an active
exception", SIGABRT - after the job had written everything and logged its summary. Snakemake
then deletes the outputs and stops the run. The window is the few milliseconds before Python
marks itself finalizing, so it shows under CPU load (the worker descheduled at the wrong moment).
Seen in core dumps of ingest jobs: the aborting thread is an Arrow pool worker running the CSV
reader's last future callback, ``~AsyncThreadedTableReader -> ~BufferReader -> PyBuffer::~PyBuffer
-> PyGILState_Ensure -> take_gil -> PyThread_exit_thread -> pthread_exit -> std::terminate``
(the buffer is ``tastemap.data.formats.fields``' ``pa.py_buffer`` of a block's bytes), the main
thread in ``Py_FinalizeEx``. ``benchmarks/stress_exit.py`` (4 runs at once beside 2 busy loops,
2 cores): 32 of 1,000 ingest runs aborted exiting as before, 0 of 2,000 with :func:`finish`. Upstream:
apache/arrow#34314, #45017 (the same ``pthread_exit`` unwind), CPython gh-87135.

What. :func:`finish` does what Python does before its teardown - wait for non-daemon threads
(``threading._shutdown``: also stops ``concurrent.futures`` executors), run the ``atexit``
handlers (``logging.shutdown`` flushes and closes the job's log) - flushes what may still be
buffered, and ends the process with ``os._exit(0)``. Without the teardown nothing is ever
"finalizing" (a late worker simply dies with the process) and no C++ static destructor runs
(nor torch's or OpenMP's). Skipped as well: the teardown's cost, 0.13 s CPU of an ingest job and
0.7 s of a fit (about a quarter of each job's CPU time).

The one risk of ``os._exit`` is output still in a buffer: every output must be complete when
``main()`` ends (written by functions that close their files, or in ``with`` blocks), as
Snakemake assumes anyway. As a safety net, a Python file still open for writing is flushed and a
``pyarrow.parquet.ParquetWriter`` still open is closed (what the teardown's finalizers would have
done), with a warning in the job's log naming them.

``TASTEMAP_NORMAL_EXIT=1`` makes :func:`finish` return instead, so the interpreter exits as usual
(for a tool that needs the teardown, and for ``benchmarks/stress_exit.py --normal-exit``); so
does a call from code that is not the program's ``__main__`` module. An exception in ``main()``
never reaches :func:`finish`: a failing job exits as before.
"""
from __future__ import annotations

import atexit
import ctypes
import gc
import io
import logging
import os
import sys
import threading

#: Set to 1: :func:`finish` returns and the interpreter tears down as usual.
NORMAL_EXIT_ENV = "TASTEMAP_NORMAL_EXIT"
_WRITABLE_IO = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)


def finish() -> None:
    """End the process with status 0 now, without the interpreter's teardown (module docstring).

    Called as the last statement of a workflow script's ``main()``; does not return, unless
    ``TASTEMAP_NORMAL_EXIT=1`` or the caller is not the program's ``__main__`` module (a script
    imported by other code, e.g. a notebook calling its ``main()``, must not end that process).
    An exception while finishing propagates: the job fails.
    """
    if os.environ.get(NORMAL_EXIT_ENV, "") not in ("", "0"):
        return
    if sys._getframe(1).f_globals.get("__name__") != "__main__":
        return
    shutdown = getattr(threading, "_shutdown", None)  # what Py_FinalizeEx calls first
    if shutdown is not None:
        shutdown()
    else:  # pragma: no cover - every CPython has it; join non-daemon threads
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
    _flush_open_outputs()
    atexit._run_exitfuncs()  # then Py_FinalizeEx's second step: logging.shutdown and the others
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not stream.closed:
            stream.flush()
    _flush_c_stdio()
    os._exit(0)


def _flush_c_stdio() -> None:
    """fflush(NULL): what native libraries printed with C stdio and is still buffered."""
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, TypeError, AttributeError):  # pragma: no cover - no C library to load
        pass


def _flush_open_outputs() -> list[str]:
    """Flush Python files still open for writing and close open ParquetWriters (what their
    finalizers would do in the teardown). Returns the files found besides the standard streams
    and the log handlers' files, also logged as a warning: a job should close what it writes."""
    pq = sys.modules.get("pyarrow.parquet")
    parquet_writer = getattr(pq, "ParquetWriter", None)
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    streams = [getattr(h, "stream", None) for lg in loggers for h in getattr(lg, "handlers", ())]
    expected = {id(s) for s in streams} | {id(getattr(s, "buffer", None)) for s in streams}
    found: set[str] = set()
    for obj in gc.get_objects():
        if type(obj) in _WRITABLE_IO:  # exact types: isinstance with io's ABCs takes 0.1 s
            try:
                if obj.closed or not obj.writable():
                    continue
            except ValueError:  # a detached buffer
                continue
            obj.flush()
            name = getattr(obj, "name", None)
            if id(obj) not in expected and isinstance(name, str) and not name.startswith("<"):
                found.add(name)
        # type(), not isinstance(): isinstance reads obj.__class__, which a dead weakref.proxy
        # answers with ReferenceError (met at Last.fm-360K size) and other objects may compute
        elif parquet_writer is not None and issubclass(type(obj), parquet_writer):
            if getattr(obj, "is_open", False):
                obj.close()
                found.add(str(getattr(obj, "where", "a ParquetWriter")))
    if found:
        logging.getLogger("tastemap").warning(
            "finish: still open at the end of main(), flushed/closed: %s", ", ".join(sorted(found)))
    return sorted(found)
