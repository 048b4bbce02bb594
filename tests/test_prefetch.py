"""The reader thread of ``analyze`` (impactlab._prefetch): order, read-ahead bound, errors, early stop."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from impactlab import analyze
from impactlab._prefetch import prefetch
from impactlab.errors import CorruptFileError, DataError
from impactlab.io._common import RecordingSource
from impactlab.recording import Recording
from impactlab.simulate import simulate_recording


class Producer:
    """Counts what was produced and taken; can fail after ``fail_after`` items."""

    def __init__(self, n: int, fail_after: int | None = None) -> None:
        self.n, self.fail_after = n, fail_after
        self.produced = 0
        self.ahead: list[int] = []  # produced - taken, seen each time an item is produced
        self.taken = 0
        self.closed = threading.Event()
        self.thread_names: set[str] = set()

    def items(self) -> Iterator[int]:
        try:
            for i in range(self.n):
                if self.fail_after is not None and i == self.fail_after:
                    raise CorruptFileError(f"sector {i} is damaged", path="x.cwa")
                self.thread_names.add(threading.current_thread().name)
                self.produced += 1
                self.ahead.append(self.produced - self.taken)
                yield i
        finally:
            self.closed.set()


def test_items_arrive_in_order_from_another_thread_one_ahead_at_most() -> None:
    p = Producer(50)
    got = []
    for x in prefetch(p.items()):
        got.append(x)
        p.taken += 1
    assert got == list(range(50))
    assert p.thread_names == {"impactlab-reader"}
    assert max(p.ahead) <= 2  # the item the caller holds and the one read ahead
    assert p.closed.is_set()


def test_a_reader_error_is_raised_in_the_caller_after_the_items_before_it() -> None:
    p = Producer(10, fail_after=3)
    got = []
    with pytest.raises(CorruptFileError, match="sector 3 is damaged") as info:
        for x in prefetch(p.items()):
            got.append(x)
    assert got == [0, 1, 2]
    assert info.value.path == "x.cwa"
    assert p.closed.is_set()


def test_stopping_early_closes_the_reader_and_ends_its_thread() -> None:
    before = threading.active_count()
    p = Producer(1000)
    gen = prefetch(p.items())
    assert next(gen) == 0
    gen.close()  # type: ignore[attr-defined]  # a generator, typed as the Iterator it yields
    assert p.closed.is_set()
    assert p.produced <= 2
    assert threading.active_count() == before


def _source(rec: Recording, n_chunks: int, bad_chunk: int | None = None, log: list[str] | None = None
            ) -> RecordingSource:
    edges = np.linspace(0, len(rec), n_chunks + 1).astype(int)

    def chunks() -> Iterator[Recording]:
        try:
            for k, (a, b) in enumerate(itertools.pairwise(edges)):
                data = rec.data.iloc[a:b]
                if k == bad_chunk:
                    data = data.copy()
                    data.iloc[5, 0] = np.nan
                if log is not None:
                    log.append(f"read {k}")
                yield Recording(data, rec.meta, validate=False)
        finally:
            if log is not None:
                log.append("closed")

    return RecordingSource(meta=rec.meta, chunks=chunks, n_rows_hint=len(rec))


@pytest.fixture(scope="module")
def rec() -> Recording:
    return simulate_recording(duration_s=1800, fs=100.0, jumps=[(100.0 + 4 * i, 2.5) for i in range(20)],
                              walks=[], seed=3)


def test_analyze_in_threads_gives_the_single_chunk_results(rec: Recording) -> None:
    whole = analyze(rec)
    chunked = analyze(_source(rec, 7))
    assert whole.band_totals() == chunked.band_totals() and whole.band_totals()["total"] >= 15
    assert whole.impacts.equals(chunked.impacts)
    assert whole.sessions.equals(chunked.sessions)
    assert whole.daily.equals(chunked.daily)


def test_a_stage_error_stops_the_reader_at_once(rec: Recording) -> None:
    log: list[str] = []
    with pytest.raises(DataError, match="non-finite"):
        analyze(_source(rec, 20, bad_chunk=2, log=log))
    assert log[-1] == "closed"  # closed before analyze returned, not when the traceback is freed
    assert log.count("closed") == 1 and len(log) <= 5  # chunks 0-2, at most one read ahead
