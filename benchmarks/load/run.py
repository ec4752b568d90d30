"""`make load`: serve the index on 127.0.0.1 and put it under bounded load with locust.

It starts `rsa-qa serve` on a free loopback port (with an API key, so auth is exercised),
measures the server's memory, runs 64 concurrent clients for 60 s (benchmarks/load/locustfile.py),
measures again, stops the server with SIGTERM, and prints the figures. It exits non-zero
on any 5xx, dropped connection or unexpected status, or if memory grows more than
--max-rss-growth-mib after warm-up. Results go to benchmarks/load/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=64, help="concurrent connections (default: 64)")
    parser.add_argument("--seconds", type=int, default=60, help="how long the load lasts (default: 60)")
    parser.add_argument(
        "--max-rss-growth-mib",
        type=float,
        default=100,
        help="fail if the server grows more than this under load, after warm-up (default: 100)",
    )
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    log_path = RESULTS / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(BIN / "rsa-qa"), "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            env=env | {"RSA_QA_API_KEY": key},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = _wait_until_ready(server, log_path, key)
        rss_start = _rss_mib(server.pid)
        _warm_up(url, key, args.users)
        rss_warm = _rss_mib(server.pid)
        samples: list[float] = []
        sampler = threading.Thread(target=_sample_rss, args=(server.pid, samples, args.seconds), daemon=True)
        sampler.start()
        report = _run_locust(url, key, args.users, args.seconds)
        rss_end = _rss_mib(server.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)
    server_5xx = len(re.findall(r"rsa_qa\.access: \S+ \S+ \S+ 5\d\d ", log_path.read_text(errors="replace")))
    report |= {
        "users": args.users,
        "seconds": args.seconds,
        "rss_mib": {
            "after_start": rss_start,
            "after_warm_up": rss_warm,
            "after_load": rss_end,
            "every_10s_under_load": samples,
        },
        "server_logged_5xx": server_5xx,
        "server_exit": server.returncode,
    }
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(_summary(report))
    grew = rss_end - rss_warm > args.max_rss_growth_mib
    failed = report["server_errors"] or server_5xx or report["dropped"] or report["unexpected"] or grew
    return 1 if failed else 0


def _wait_until_ready(server: subprocess.Popen[bytes], log_path: Path, key: str, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline and server.poll() is None:
        if url is None:
            found = re.search(
                r"Uvicorn running on (http://127\.0\.0\.1:\d+)", log_path.read_text(errors="replace")
            )
            url = found.group(1) if found else None
        elif httpx.get(f"{url}/ready", headers={"Authorization": f"Bearer {key}"}).status_code == 200:
            return url
        time.sleep(0.3)
    raise SystemExit(f"the server did not become ready; see {log_path} (is the index built? make index)")


def _warm_up(url: str, key: str, users: int) -> None:
    """Concurrent requests first, so that the memory after warm-up includes every worker thread."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:

        def ask(i: int) -> None:
            client.post("/query", json={"query": f"IVIG dose {i}", "top_k": 5})

        with ThreadPoolExecutor(users) as pool:
            list(pool.map(ask, range(users * 5)))


def _run_locust(url: str, key: str, users: int, seconds: int) -> dict[str, Any]:
    report_path = RESULTS / "locust.json"
    report_path.unlink(missing_ok=True)
    command = [
        str(BIN / "locust"),
        "--locustfile", str(Path(__file__).resolve().parent / "locustfile.py"),
        "--headless",
        "--host", url,
        "--users", str(users),
        "--spawn-rate", str(users),
        "--run-time", f"{seconds}s",
        "--stop-timeout", "30",
        "--csv", str(RESULTS / "locust"),
        "--only-summary",
    ]  # fmt: skip
    env = os.environ | {"RSA_QA_LOAD_KEY": key, "RSA_QA_LOAD_REPORT": str(report_path)}
    subprocess.run(command, env=env, timeout=seconds + 120, check=False)
    return dict(json.loads(report_path.read_text(encoding="utf-8")))


def _sample_rss(pid: int, samples: list[float], seconds: int) -> None:
    for _ in range(seconds // 10):
        time.sleep(10)
        samples.append(_rss_mib(pid))


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return round(int(found.group(1)) / 1024, 1) if found else float("nan")


def _summary(report: dict[str, Any]) -> str:
    latency, rss = report["latency_ms"], report["rss_mib"]
    return "\n".join(
        [
            "",
            f"load: {report['users']} connections for {report['seconds']} s against 127.0.0.1",
            f"  requests      {report['requests']} ({report['requests_per_s']}/s)",
            f"  statuses      {report['statuses']}",
            f"  5xx           {report['server_errors']} (server log: {report['server_logged_5xx']})",
            f"  dropped       {sum(report['dropped'].values())} {report['dropped'] or ''}",
            f"  unexpected    {sum(report['unexpected'].values())} {report['unexpected'] or ''}",
            f"  latency ms    p50 {latency['p50']}  p95 {latency['p95']}  p99 {latency['p99']}  "
            f"max {latency['max']:.0f}",
            f"  RSS MiB       {rss['after_start']} after start, {rss['after_warm_up']} after warm-up, "
            f"{rss['after_load']} after load",
            f"  RSS under load every 10 s: {rss['every_10s_under_load']}",
            f"  SIGTERM       server exit status {report['server_exit']}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
