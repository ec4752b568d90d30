"""`make bench-scale`, part two: `rsa-qa serve` from start to /ready, and its memory, 10k–1M passages.

For each size it writes a real index directory (a version, as `rsa-qa index` writes one:
passages, vectors, sentence vectors, the manifest and its checksums), starts `rsa-qa serve`
on it in a fresh process, and measures the seconds from the process starting to /ready
answering 200, the resident memory then, and the vectors' size on disk. Then it asks a few
questions over HTTP, to check the server answers from what it loaded.

Passages and vectors are bench_scale.py's synthetic ones (the article's sentences,
shuffled and perturbed; vectors mixed from the model's vectors of those sentences), so that
the files have the sizes and the statistics of a real corpus without hours of embedding.
Each synthetic sentence gets its passage's vector. Writes benchmarks/results/start.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from bench import machine, process_rss_mb
from bench_scale import PassageMaker
from embedded_postgres import free_port

from rsa_qa.config import Settings
from rsa_qa.search.tables import derive
from rsa_qa.service import ann_settings, load_embedder, open_index
from rsa_qa.store.build import Part, write_files
from rsa_qa.store.versions import new_staging, publish

SIZES = (10_000, 100_000, 1_000_000)
GOAL_READY_S = 10.0
GOAL_RSS_RATIO = 1.5
QUESTIONS = ["What daily IVIG dose did Carp give?", "Which anticoagulant was given with aspirin?"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_start.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/start.json"))
    parser.add_argument(
        "--keep", type=Path, help="write the indexes here and keep them (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    embedder = load_embedder(settings)
    article = open_index(settings, embedder)
    maker = PassageMaker(article, seed=7)
    report: dict[str, Any] = {"machine": machine(), "sizes": {}}
    root = args.keep or Path(tempfile.mkdtemp(prefix="rsa-qa-start-"))
    try:
        for size in args.sizes:
            index_dir = root / f"index-{size}"
            if not (index_dir / "current").exists():
                started = time.perf_counter()
                write_index(index_dir, article, maker, size, embedder)
                print(f"{size:>9,} passages written in {time.perf_counter() - started:.0f}s", flush=True)
            figures = measure_start(index_dir)
            report["sizes"][str(size)] = figures
            print(f"{size:>9,} passages: {json.dumps(figures)}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    report["goal"] = goal(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_table(report))
    return 0


def write_index(index_dir: Path, article: Any, maker: PassageMaker, size: int, embedder: Any) -> None:
    sources = maker.sources(size)
    passages = maker.passages(sources)
    vectors = maker.vectors(sources)
    counts = np.array([len(p.sentences) for p in passages])
    sentence_vectors = np.repeat(vectors, counts, axis=0)
    manifest = json.loads(json.dumps(article.manifest))
    manifest.pop("files", None)
    manifest["passage_count"] = size
    manifest["index_version"] = f"synthetic{size}"
    manifest["corpus_dir"] = None
    ann = ann_settings(Settings())
    manifest["vector_index"] = {"kind": ann.kind_for(size)}
    info = next(iter(article.documents.values()))
    parts = [Part(info=info, passages=passages, vectors=vectors, sentence_vectors=sentence_vectors)]
    index_dir.mkdir(parents=True, exist_ok=True)
    staging = new_staging(index_dir)
    write_files(staging, manifest, parts, ann, getattr(embedder, "onnx_file", None), derive)
    publish(index_dir, staging, manifest["index_version"])


def measure_start(index_dir: Path) -> dict[str, Any]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")}
    env |= {"RSA_QA_INDEX_DIR": str(index_dir), "RSA_QA_PORT": str(port)}
    rsa_qa = str(Path(sys.executable).with_name("rsa-qa"))
    log = tempfile.TemporaryFile()  # not a pipe: a server's log would fill one and block it
    started = time.monotonic()
    server = subprocess.Popen([rsa_qa, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        ready_s = _wait_ready(port, server, started, log)
        rss_mb = process_rss_mb(server.pid)
        answers = [_ask(port, q) for q in QUESTIONS]
        version = index_dir / "current"
        vectors_mb = (
            sum((version / name).stat().st_size for name in ("passages.faiss", "sentences.npy")) / 2**20
        )
        return {
            "ready_s": round(ready_s, 1),
            "rss_at_ready_mb": round(rss_mb),
            "peak_rss_mb": round(process_rss_mb(server.pid, "VmHWM")),
            "vectors_on_disk_mb": round(vectors_mb),
            "rss_vs_vectors": round(rss_mb / vectors_mb, 2),
            "answered": all(a["results"] for a in answers),
        }
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def _wait_ready(port: int, server: subprocess.Popen[bytes], started: float, log: Any) -> float:
    while True:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited: {log.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > 1800:
            raise RuntimeError("not ready after 30 minutes")
        time.sleep(0.1)


def _ask(port: int, question: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/query",
        data=json.dumps({"query": question}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(json.loads(response.read()))


def goal(report: dict[str, Any]) -> dict[str, Any]:
    size, figures = max(report["sizes"].items(), key=lambda item: int(item[0]))
    return {
        "passages": int(size),
        "ready_s": figures["ready_s"],
        "rss_vs_vectors": figures["rss_vs_vectors"],
        "met": figures["ready_s"] <= GOAL_READY_S and figures["rss_vs_vectors"] <= GOAL_RSS_RATIO,
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [
        "| passages | start → /ready | RSS at ready | peak RSS | vectors on disk | RSS / vectors |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size, f in report["sizes"].items():
        lines.append(
            f"| {int(size):,} | {f['ready_s']} s | {f['rss_at_ready_mb']} MB | {f['peak_rss_mb']} MB "
            f"| {f['vectors_on_disk_mb']} MB | {f['rss_vs_vectors']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
