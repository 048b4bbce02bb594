"""Read the next chunk of a recording in a second thread while the current one is analysed.

Decoding (``.cwa`` sectors, Parquet row groups, CSV blocks) and the analysis stages are numpy,
scipy and pyarrow work that releases the GIL, so on two cores the two overlap and ``analyze``
takes about the longer of the two rather than their sum. At most one chunk is read ahead: the
reader starts on chunk k + 1 only once chunk k has been handed over, so besides the chunk being
analysed only the one being read is held (bounded memory, as without the thread). Chunks arrive
in the reader's order and are the reader's own objects, so results are those of a plain loop. An
exception in the reader (a damaged file, a library error) is raised in the caller, with its
traceback, at the point in the sequence where it happened; when the caller stops early (an error
in the analysis, Ctrl-C) the reader stops after the chunk it is reading and is closed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")
_END = object()


def prefetch(items: Iterator[T], *, name: str = "impactlab-reader") -> Iterator[T]:
    """Yield the items of ``items`` in order, producing each next one in a background thread.

    Parameters
    ----------
    items : iterator
        The producer (e.g. ``RecordingSource.chunks()``); it is advanced and closed only in the
        background thread.
    name : str
        Name of the thread (shown by debuggers and profilers).

    Yields
    ------
    object
        The items of ``items``, in order; an exception raised by ``items`` is raised here.
    """
    out: queue.SimpleQueue[tuple[object, BaseException | None]] = queue.SimpleQueue()
    go = threading.Semaphore(1)  # one token: the reader may produce one item ahead of the caller
    stop = threading.Event()

    def work() -> None:
        try:
            while True:
                go.acquire()
                if stop.is_set():
                    return
                try:
                    item = next(items)
                except StopIteration:
                    out.put((_END, None))
                    return
                out.put((item, None))
                del item
        except BaseException as err:  # handed to the caller, who raises it
            out.put((_END, err))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            got, err = out.get()
            if got is _END:
                if err is not None:
                    raise err
                return
            go.release()  # the reader starts on the next item while the caller works on this one
            yield got  # type: ignore[misc]
            del got
    finally:
        stop.set()
        go.release()
        thread.join()
