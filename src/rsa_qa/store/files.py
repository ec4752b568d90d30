"""Writing and reading the index's files so that nothing half-written or damaged gets through.

Every write is checked: a failed write, flush, fsync or close raises IndexWriteError naming
the file and the cause ("No space left on device"), where faiss alone would only print
"close error" and go on. Every read first checks that the path is a regular file (a FIFO
would hang the reader, a device would never end) and turns a permission error into a
sentence.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import faiss
import numpy as np

from rsa_qa.errors import REBUILD_HINT, IndexCorrupt, IndexWriteError

_CHUNK = 1 << 20


def write_bytes(path: Path, data: bytes) -> None:
    write_with(path, lambda handle: handle.write(data))


def write_faiss(path: Path, index: faiss.Index) -> None:
    # Streamed through Python so that a failed write raises (PyCallbackIOWriter propagates
    # the exception) instead of faiss printing "close error" and carrying on.
    def stream(handle: BinaryIO) -> None:
        writer = faiss.PyCallbackIOWriter(handle.write)  # type: ignore[attr-defined]
        faiss.write_index(index, writer)
        del writer

    write_with(path, stream)


def write_array(path: Path, array: np.ndarray) -> None:
    write_with(path, lambda handle: np.save(handle, array, allow_pickle=False))


def write_with(path: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Create path, let fill write it, and make it durable; any failure names the file."""
    try:
        with path.open("xb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise IndexWriteError(f"cannot write {path}: {describe_os_error(exc)}") from exc


def fsync_directory(path: Path) -> None:
    """Make the names in a directory (new files, renames) durable."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise IndexWriteError(f"cannot sync {path}: {describe_os_error(exc)}") from exc


def describe_os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{reason.lower()} (the disk is full: free space and build again)"
    if exc.errno == errno.EFBIG:
        return f"{reason.lower()} (a file size limit was reached)"
    return reason[:1].lower() + reason[1:]


def read_checked(path: Path) -> bytes:
    """The bytes of a regular file, or IndexCorrupt saying why they cannot be read."""
    _check_regular(path)
    try:
        with path.open("rb") as handle:
            return handle.read()
    except OSError as exc:
        raise IndexCorrupt(f"{path} cannot be read ({describe_os_error(exc)}): {REBUILD_HINT}") from exc


def verify_file(path: Path, checksum: str) -> None:
    """Check a regular file against its sha256 without holding it in memory (it is then
    memory-mapped: versions are never changed once written, so what was checked is mapped)."""
    _check_regular(path)
    try:
        actual = sha256_file(path)
    except OSError as exc:
        raise IndexCorrupt(f"{path} cannot be read ({describe_os_error(exc)}): {REBUILD_HINT}") from exc
    if actual != checksum:
        raise IndexCorrupt(f"{path} fails its checksum (truncated or modified): {REBUILD_HINT}")


def _check_regular(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError as exc:
        raise IndexCorrupt(f"{path} is missing: {REBUILD_HINT}") from exc
    except OSError as exc:
        raise IndexCorrupt(f"{path} cannot be read ({describe_os_error(exc)}): {REBUILD_HINT}") from exc
    if not stat.S_ISREG(mode):
        raise IndexCorrupt(f"{path} is not a regular file: {REBUILD_HINT}")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
