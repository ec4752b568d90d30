"""`make bench`: how fast a question is answered, in-process and over HTTP, in one run.

    (a) in-process embedding of one question: the naive sentence-transformers call
        (SentenceTransformer(path).encode([q]), torch, its default threads) and each backend
    (b) HTTP POST /query, one at a time, every question different (no cache hits)
    (c) queries per second and p99 with 1, 4, 8 and 32 connections kept open
    (d) cold start: process start to GET /ready == 200, with a built index
    (e) resident memory of the server after the load

The server runs as its own process on 127.0.0.1; the load comes from this process over
plain keep-alive HTTP/1.1, each level bounded in time and in requests. Both share the
machine's cores, so the figures are for client and server together. Prints Markdown
tables and writes benchmarks/results/bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rsa_qa.config import Settings
from rsa_qa.pipeline.embed import BACKENDS
from rsa_qa.text import normalise

CONNECTIONS = (1, 4, 8, 32)
# After torch calls its OpenMP threads spin for a while on both cores; a pause lets them
# settle so that they do not slow down what is measured next.
PAUSE_AFTER_NAIVE_S = 0.02
GOAL_HTTP_P50_RATIO = 0.5
GOAL_QPS_RATIO = 4.0
GOAL_READY_S = 5.0
_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200, help="questions per in-process/sequential run")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each concurrency level")
    parser.add_argument("--max-requests", type=int, default=4000, help="cap on requests per level")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench.json"))
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    settings = Settings()
    questions = distinct_questions(Path("eval"))
    report: dict[str, Any] = {"machine": machine(), "settings": _settings_summary(settings)}
    print(f"machine: {report['machine']['cpus']} CPUs, load average {report['machine']['load_before']}")

    report["embedding"], naive = embedding_latencies(settings, questions, args.questions)
    report["server"] = server_figures(settings, questions, args, naive)
    report["machine"]["load_after"] = _load_average()
    report["goals"] = goals(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_tables(report))
    print(f"\nwritten to {args.out}")
    missed = [name for name, goal in report["goals"].items() if not goal["met"]]
    if missed:
        print(f"goals missed in this run: {', '.join(missed)} (see the load average above)")
    return 1 if missed and args.check else 0


def distinct_questions(eval_dir: Path) -> Iterator[str]:
    """Real questions from eval/, then each again with an article word added: never a repeat."""
    questions = [
        json.loads(line)["question"]
        for path in sorted(eval_dir.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    yield from questions
    words = sorted({w for q in questions for w in re.findall(r"[A-Za-z]{5,}", q)})
    for word in words:
        for question in questions:
            yield f"{question} {word}"


def _take(questions: Iterator[str], count: int) -> list[str]:
    return [next(questions) for _ in range(count)]


def percentiles(seconds: list[float]) -> dict[str, Any]:
    ms = np.array(seconds) * 1000
    return {
        "n": len(seconds),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def embedding_latencies(
    settings: Settings, questions: Iterator[str], count: int
) -> tuple[dict[str, Any], Any]:
    """(a) one question at a time, in this process: each path in a run of its own.

    Runs of their own, as a server would make the calls: taking turns question by question
    let each model push the others out of the CPU caches and slowed every path. The naive
    path runs first and last, and its figure pools both. Returns the figures and the naive
    model, kept for (b).
    """
    import torch
    from sentence_transformers import SentenceTransformer

    from rsa_qa.service import load_embedder

    naive_model = SentenceTransformer(settings.model_path, device="cpu", local_files_only=True)
    default_threads = torch.get_num_threads()

    def naive(question: str) -> Any:
        return naive_model.encode([question])

    half = count // 2
    naive_seconds = _seconds(naive, _take(questions, half))
    time.sleep(PAUSE_AFTER_NAIVE_S)
    results: dict[str, Any] = {}
    # torch last: its thread setting is process-wide and would change the naive path.
    for backend in ("onnx", "onnx-int8", "torch"):
        if backend == "torch":
            naive_seconds += _seconds(naive, _take(questions, count - half))
        configured = settings.model_copy(update={"embedding_backend": backend})
        embedder = load_embedder(configured, export_if_missing=True)
        results[backend] = percentiles(
            _seconds(lambda q, e=embedder: e.encode([normalise(q)]), _take(questions, count))
        )
        results[backend]["label"] = f"{backend} backend, {settings.inference_threads} thread(s)"
        batch = [normalise(q) for q in _take(questions, 8 * 25)]
        started = time.perf_counter()
        for i in range(0, len(batch), 8):
            embedder.encode(batch[i : i + 8])
        results[backend]["batch8_per_question_ms"] = round(
            (time.perf_counter() - started) / len(batch) * 1000, 3
        )
        del embedder
        gc.collect()
    # The torch backend set torch's process-wide thread count to its own; the naive runs
    # in (b) must get torch's default back.
    torch.set_num_threads(default_threads)
    results["naive"] = percentiles(naive_seconds)
    results["naive"]["label"] = (
        f"naive: SentenceTransformer(path).encode([q]), torch, its default {default_threads} threads"
    )
    return {name: results[name] for name in ("naive", *BACKENDS)}, naive_model


def _seconds(call: Any, questions: list[str]) -> list[float]:
    call("warm-up")
    seconds = []
    for question in questions:
        started = time.perf_counter()
        call(question)
        seconds.append(time.perf_counter() - started)
    return seconds


def server_figures(
    settings: Settings, questions: Iterator[str], args: argparse.Namespace, naive: Any
) -> dict[str, Any]:
    log = args.out.parent / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "rsa_qa.cli", "serve", "--host", "127.0.0.1", "--port", str(args.port)]
    if _port_open(args.port):
        raise SystemExit(f"port {args.port} is in use; pass --port")
    started = time.perf_counter()
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        ready_s = _wait_ready(args.port, server, timeout=60)
        figures: dict[str, Any] = {"ready_s": round(ready_s - started, 3)}
        figures["rss_after_start_mb"] = process_rss_mb(server.pid)
        asyncio.run(_warm(args.port, _take(questions, 20)))
        figures["sequential"], figures["naive_alongside"] = asyncio.run(
            _sequential(args.port, questions, args.questions, naive)
        )
        figures["concurrent"] = {
            str(n): asyncio.run(_load(args.port, questions, n, args.seconds, args.max_requests))
            for n in CONNECTIONS
        }
        figures["rss_after_load_mb"] = process_rss_mb(server.pid)
        figures["rss_peak_mb"] = process_rss_mb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before it was ready; see benchmarks/results/server.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"the server was not ready within {timeout:.0f}s; see benchmarks/results/server.log")


def process_rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _request_bytes(question: str) -> bytes:
    body = json.dumps({"query": question, "top_k": 5}).encode()
    head = (
        "POST /query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, question: str) -> bool:
    writer.write(_request_bytes(question))
    head = await reader.readuntil(b"\r\n\r\n")
    length = _CONTENT_LENGTH.search(head)
    body = await reader.readexactly(int(length.group(1)) if length else 0)
    return head.startswith(b"HTTP/1.1 200") and body.startswith(b'{"query"')


async def _warm(port: int, questions: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for question in questions:
        await _exchange(reader, writer, question)
    writer.close()


async def _sequential(
    port: int, questions: Iterator[str], count: int, naive: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(b) one request at a time, bracketed by the naive in-process call before and after.

    The naive figure the goals use comes from these two runs (A-B-A), so that it and the
    HTTP figure see the same background load, as far as a shared machine allows.
    """

    def run_naive(times: int) -> list[float]:
        seconds = []
        for _ in range(times):
            question = next(questions)
            began = time.perf_counter()
            naive.encode([question])
            seconds.append(time.perf_counter() - began)
        time.sleep(PAUSE_AFTER_NAIVE_S)
        return seconds

    baseline = run_naive(count // 2)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    http: list[float] = []
    errors = 0
    for _ in range(count):
        began = time.perf_counter()
        errors += not await _exchange(reader, writer, next(questions))
        http.append(time.perf_counter() - began)
    writer.close()
    baseline += run_naive(count - count // 2)
    return percentiles(http) | {"errors": errors, "qps": round(count / sum(http), 1)}, percentiles(baseline)


async def _load(
    port: int, questions: Iterator[str], connections: int, seconds: float, cap: int
) -> dict[str, Any]:
    """connections clients, each sending its next question as soon as the last is answered."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def client() -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while sent < cap and time.perf_counter() < deadline:
                sent += 1
                question = next(questions)
                began = time.perf_counter()
                try:
                    ok = await asyncio.wait_for(_exchange(reader, writer, question), timeout=30)
                except (OSError, asyncio.IncompleteReadError, TimeoutError):
                    errors += 1
                    return
                latencies.append(time.perf_counter() - began)
                errors += not ok
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return percentiles(latencies) | {
        "connections": connections,
        "errors": errors,
        "seconds": round(elapsed, 2),
        "qps": round(len(latencies) / elapsed, 1),
    }


def goals(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    server = report["server"]
    # The naive figure measured alongside the HTTP requests, under the same load.
    naive_p50 = server["naive_alongside"]["p50_ms"]
    naive_rate = 1000 / naive_p50
    http_ratio = server["sequential"]["p50_ms"] / naive_p50
    qps_ratio = server["concurrent"]["8"]["qps"] / naive_rate
    errors = server["sequential"]["errors"] + sum(c["errors"] for c in server["concurrent"].values())
    return {
        "http_p50_vs_naive": {"value": round(http_ratio, 3), "goal": f"<= {GOAL_HTTP_P50_RATIO}"}
        | {"met": http_ratio <= GOAL_HTTP_P50_RATIO},
        "qps8_vs_naive_rate": {"value": round(qps_ratio, 2), "goal": f">= {GOAL_QPS_RATIO}"}
        | {"met": qps_ratio >= GOAL_QPS_RATIO},
        "errors": {"value": errors, "goal": "0", "met": errors == 0},
        "ready_s": {
            "value": server["ready_s"],
            "goal": f"< {GOAL_READY_S}",
            "met": server["ready_s"] < GOAL_READY_S,
        },
    }


def format_tables(report: dict[str, Any]) -> str:
    embedding = report["embedding"]
    lines = [
        "| in-process embedding, one question | p50 ms | p99 ms | batch of 8, ms per question |",
        "|---|---:|---:|---:|",
    ]
    for row in embedding.values():
        batch = row.get("batch8_per_question_ms", "–")
        lines.append(f"| {row['label']} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {batch} |")
    server = report["server"]
    seq = server["sequential"]
    lines += [
        "",
        "| HTTP POST /query, distinct questions | connections | requests | QPS | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| sequential | 1 | {seq['n']} | {seq['qps']} | {seq['p50_ms']:.2f} | {seq['p99_ms']:.2f} "
        f"| {seq['errors']} |",
    ]
    naive = server["naive_alongside"]
    lines.append(
        f"| naive in-process call, just before and after the sequential requests | – | {naive['n']} "
        f"| {1000 / naive['p50_ms']:.1f} | {naive['p50_ms']:.2f} | {naive['p99_ms']:.2f} | – |"
    )
    for n, row in server["concurrent"].items():
        lines.append(
            f"| concurrent, {row['seconds']:.0f} s | {n} | {row['n']} | {row['qps']} "
            f"| {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} |"
        )
    lines += [
        "",
        f"cold start to ready: {server['ready_s']:.2f} s; server memory (RSS): "
        f"{server['rss_after_start_mb']} MB ready, {server['rss_after_load_mb']} MB after the load, "
        f"{server['rss_peak_mb']} MB peak",
        "",
        "| goal | value | target | met |",
        "|---|---:|---|---|",
    ]
    for name, goal in report["goals"].items():
        lines.append(f"| {name} | {goal['value']} | {goal['goal']} | {'yes' if goal['met'] else 'NO'} |")
    machine = report["machine"]
    load = f"load average before {machine['load_before']}, after {machine['load_after']}"
    lines.append(f"\n{machine['cpus']} CPUs; {load}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load_before": _load_average(), "python": sys.version.split()[0]}


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _settings_summary(settings: Settings) -> dict[str, Any]:
    keys = (
        "embedding_backend",
        "inference_threads",
        "inference_workers",
        "batch_max_size",
        "batch_max_wait_ms",
    )
    return {key: getattr(settings, key) for key in keys}


if __name__ == "__main__":
    sys.exit(main())
