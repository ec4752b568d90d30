"""The index folder: complete versions, and a link naming the one served, switched atomically.

    index/current              -> versions/20261129T222500.123456Z-89d252bd77fb
    index/versions/            complete versions, the newest few kept for --rollback;
                               a build writes <stamp>.building-<pid> here first
    index/.lock                held by the one build that may run at a time

A build writes and checks a whole version beside the others, renames it to its final name,
then points `current` at it with one rename(2) of a new link over the old: at every moment
`current` names a complete index, whatever kills the build. Leftovers of killed builds are
removed by the next one, which also restores `current` from the newest complete version if
it was lost. A folder holding a version's files itself (a copied version) is read as it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rsa_qa.errors import IndexNotFound, IndexWriteError
from rsa_qa.store.files import describe_os_error, fsync_directory

CURRENT = "current"
VERSIONS = "versions"
BUILDING = ".building-"
Progress = Callable[[str], None]


def served_version(index_dir: Path) -> Path:
    """The folder whose files are the served index: what `current` names, or index_dir
    itself when it holds the files (a copied version, or an index before versions)."""
    link = index_dir / CURRENT
    if link.is_symlink() or link.exists():
        return link.resolve()
    return index_dir


def versions_dir(index_dir: Path) -> Path:
    return index_dir / VERSIONS


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Only one build of an index at a time: a second one stops with a sentence."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / ".lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexWriteError(f"another build of {index_dir} is running (it holds {path})") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_staging(index_dir: Path) -> Path:
    folder = versions_dir(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f"{_stamp()}{BUILDING}{os.getpid()}"
    staging.mkdir()
    return staging


def complete_versions(index_dir: Path, is_complete: Callable[[Path], bool]) -> list[Path]:
    """The complete versions, newest first."""
    folder = versions_dir(index_dir)
    if not folder.is_dir():
        return []
    names = sorted((p for p in folder.iterdir() if p.is_dir() and BUILDING not in p.name), reverse=True)
    return [p for p in names if is_complete(p)]


def tidy(index_dir: Path, is_complete: Callable[[Path], bool], progress: Progress) -> None:
    """Before a build: restore a lost link, and remove what killed builds left behind."""
    link = index_dir / CURRENT
    if not link.exists():
        newest = next(iter(complete_versions(index_dir, is_complete)), None)
        if newest is not None:
            point(index_dir, newest)
            progress(f"restored {link} -> {newest.name}: a build had been stopped before it finished")
    folder = versions_dir(index_dir)
    for leftover in sorted(folder.glob(f"*{BUILDING}*")) if folder.is_dir() else []:
        shutil.rmtree(leftover, ignore_errors=True)
        progress(f"removed {leftover.name}, left by a build that did not finish")
    for leftover in index_dir.glob(f".{CURRENT}-*"):
        leftover.unlink(missing_ok=True)
    # What the layout before versions left beside the index folder.
    for legacy in [
        *index_dir.parent.glob(f".{index_dir.name}.building-*"),
        *index_dir.parent.glob(f".{index_dir.name}.retired-*"),
    ]:
        shutil.rmtree(legacy, ignore_errors=True)


def publish(index_dir: Path, staging: Path, version: str) -> Path:
    """Give a written, checked version its final name and point `current` at it."""
    final = staging.with_name(f"{staging.name.split(BUILDING)[0]}-{version}")
    _rename(staging, final)
    fsync_directory(final.parent)
    point(index_dir, final)
    return final


def point(index_dir: Path, target: Path) -> None:
    """Make `current` name target, in one rename of a new link over the old."""
    link = index_dir / f".{CURRENT}-{os.getpid()}"
    link.unlink(missing_ok=True)
    try:
        os.symlink(os.path.relpath(target, index_dir), link)
    except OSError as exc:
        raise IndexWriteError(f"cannot create {link}: {describe_os_error(exc)}") from exc
    _rename(link, index_dir / CURRENT)
    fsync_directory(index_dir)


def prune(index_dir: Path, keep: int, is_complete: Callable[[Path], bool]) -> list[Path]:
    """Remove all but the newest `keep` versions, never the one `current` names."""
    current = served_version(index_dir)
    removed = []
    for old in complete_versions(index_dir, is_complete)[max(keep, 1) :]:
        if old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


def rollback(index_dir: Path, is_loadable: Callable[[Path], bool]) -> tuple[Path | None, Path]:
    """Point `current` at the newest version older than the current one that loads."""
    link = index_dir / CURRENT
    current = link.resolve() if link.exists() else None
    versions = complete_versions(index_dir, lambda _: True)
    for candidate in versions:
        if current is not None and candidate.name >= current.name:
            continue
        if is_loadable(candidate):
            point(index_dir, candidate)
            return current, candidate
    raise IndexNotFound(f"no earlier version to roll back to in {versions_dir(index_dir)}")


def _rename(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:
        raise IndexWriteError(f"cannot rename {source} to {target}: {describe_os_error(exc)}") from exc


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
