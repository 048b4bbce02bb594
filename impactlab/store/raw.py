"""Raw samples beside the store: ``raw/<sha256>.parquet``, written while a recording streams past.

The file is named by the SHA-256 of the samples (UTC ns times as little-endian int64, then x, y, z
as little-endian float32, chunk by chunk), written to ``raw/.tmp-<pid>-<ns>.parquet`` while the
recording is read, fsynced and renamed (owner-only, 0600) before the import's commit. A raw file
without a recording row is harmless and reused by the next import of the same samples.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..io._common import RecordingSource
from ..recording import Recording

__all__ = ["RawWriter", "chunks_of", "file_sha256", "jsonable"]


def jsonable(v: Any) -> Any:
    """``v`` with numpy/pandas scalars and timestamps made JSON-ready (the pipeline's rules)."""
    from ..pipeline import _jsonable

    return _jsonable(v)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def chunks_of(source: Recording | RecordingSource) -> Iterator[Recording]:
    """The chunks of a source (a whole :class:`Recording` is one chunk)."""
    if isinstance(source, Recording):
        yield source
    else:
        yield from source.chunks()


class RawWriter:
    """Hashes chunks and writes them to a temporary Parquet file while they stream past.

    Parameters
    ----------
    raw_dir : pathlib.Path
        The store's ``raw/`` folder.
    """

    def __init__(self, raw_dir: Path) -> None:
        self.raw_dir = raw_dir
        self.tmp = raw_dir / f".tmp-{os.getpid()}-{time.monotonic_ns()}.parquet"
        self.hash = hashlib.sha256()
        self.writer: pq.ParquetWriter | None = None
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.n_rows = 0

    def tap(self, chunks: Iterable[Recording]) -> Iterator[Recording]:
        """Yield ``chunks`` unchanged, hashing and writing each one."""
        for chunk in chunks:
            data = chunk.data
            if len(data):
                t = data.index.as_unit("ns").asi8
                xyz = np.ascontiguousarray(data[["x", "y", "z"]].to_numpy(dtype=np.float32))
                self.hash.update(t.astype("<i8").tobytes())
                self.hash.update(xyz.astype("<f4").tobytes())
                table = pa.Table.from_pandas(data.tz_convert("UTC"), preserve_index=True)
                if self.writer is None:
                    meta = chunk.meta.to_dict()
                    meta.pop("extra", None)
                    schema = table.schema.with_metadata({b"impactlab.meta": json.dumps(jsonable(meta)).encode()})
                    self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")
                self.writer.write_table(table.replace_schema_metadata(self.writer.schema.metadata))
                self.first_ns = int(t[0]) if self.first_ns is None else self.first_ns
                self.last_ns = int(t[-1])
                self.n_rows += len(data)
            yield chunk

    def finish(self) -> str:
        """Close the temporary file; returns the samples' SHA-256 (hex)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        return self.hash.hexdigest()

    def commit(self, final: Path) -> None:
        """fsync, make owner-only and rename the temporary file to ``final`` (kept when it exists)."""
        if final.exists():
            self.discard()
            return
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(self.tmp, 0o600)
        os.replace(self.tmp, final)

    def discard(self) -> None:
        """Close and delete the temporary file."""
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            self.writer = None
        with contextlib.suppress(OSError):
            self.tmp.unlink()
