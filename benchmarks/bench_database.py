"""`make bench-scale`, part three: the PostgreSQL store beside the index directory, 10k–1M passages.

For each size it writes the synthetic index bench_start.py writes (or reuses it with
--keep), publishes it to a throw-away PostgreSQL with pgvector (embedded_postgres.py), and
measures: the publish (binary COPY, the search tables, pgvector's HNSW or IVFFlat index) and the
database's size; a replica's load of the version, and its load again with the version it
serves lending every document (as for a new version that adds one); and a question's 100 nearest passages
from pgvector (the replica's query path) beside the same from the in-memory FAISS index,
both p50/p99 and recall@10 against exact, one question at a time, over TCP on 127.0.0.1;
and a whole query (embedded, searched, ranked) through each.
Writes benchmarks/results/database.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import psycopg
from bench import machine
from bench_scale import PassageMaker, eval_questions, search_latency
from bench_start import write_index
from embedded_postgres import embedded_postgres

from rsa_qa.config import Settings
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import ann_settings, load_embedder, open_index
from rsa_qa.store.database import load_from_database, publish
from rsa_qa.store.load import load_index
from rsa_qa.store.vector_index import exact_vectors
from rsa_qa.text import normalise

SIZES = (10_000, 100_000, 1_000_000)
NEAREST = 100
# Room for the vector index at a million passages (1.6 GB), as docs/operating.md advises.
SHARED_BUFFERS = "2GB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_database.py", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/database.json"))
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the indexes in this folder")
    args = parser.parse_args(argv)
    faiss.omp_set_num_threads(1)
    settings = Settings()
    ann = ann_settings(settings)
    embedder = load_embedder(settings)
    article = open_index(settings, embedder)
    questions = eval_questions(Path("eval"))[: args.queries]
    vectors = embedder.encode([normalise(q) for q in questions]).astype(np.float32)
    report: dict[str, Any] = {"machine": machine(), "sizes": {}}
    # Every question, as for the nearest passages, rather than the first 50.
    queried = (questions, vectors)
    root = args.keep or Path(tempfile.mkdtemp(prefix="rsa-qa-database-"))
    try:
        for size in args.sizes:
            index_dir = root / f"index-{size}"
            if not (index_dir / "current").exists():
                write_index(index_dir, article, PassageMaker(article, seed=7), size, embedder)
            report["sizes"][str(size)] = measure(index_dir, vectors, ann, embedder, queried)
            print(f"{size:>9,} passages: {json.dumps(report['sizes'][str(size)])}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_table(report))
    return 0


def measure(
    index_dir: Path, vectors: np.ndarray, ann: Any, embedder: Any, queried: tuple[list[str], np.ndarray]
) -> dict[str, Any]:
    index = load_index(index_dir)
    exact = exact_vectors(index.vectors)
    truth = [set(np.argsort(-(exact @ v))[:10].tolist()) for v in vectors]
    del exact
    figures: dict[str, Any] = {"faiss": _in_memory_figures(index, vectors, truth, embedder, queried)}
    # The database server would have a machine of its own: here it shares one with this
    # process, whose copies of the index (this one and the replica's, ~15 GB at a million
    # passages) would push the database's files out of the page cache and onto the disk.
    with embedded_postgres(shared_buffers=SHARED_BUFFERS) as url:
        started = time.perf_counter()
        publish(index, url)
        figures["publish_s"] = round(time.perf_counter() - started, 1)
        del index
        gc.collect()
        # As an operator does after a bulk load: else autovacuum works through the new
        # tables (two cores, gigabytes) while the first questions are timed.
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("VACUUM (ANALYZE) rsa_qa_passages")
            connection.execute("VACUUM (ANALYZE) rsa_qa_sentences")
        with psycopg.connect(url) as connection:
            size = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        figures["database_mb"] = round(int(size[0]) / 2**20) if size else None
        started = time.perf_counter()
        # Asked of the database at every size here (a server asks it from ann.min_passages on).
        loaded = load_from_database(url, dataclasses.replace(ann, min_passages=1))
        figures["replica_load_s"] = round(time.perf_counter() - started, 1)
        # What a replica pays for a new version: the documents it already serves are lent by
        # the version served, the others read (here none: the same version, loaded again).
        started = time.perf_counter()
        load_from_database(url, ann, previous=loaded)
        figures["replica_reload_s"] = round(time.perf_counter() - started, 1)
        nearest = loaded.nearest
        assert nearest is not None
        # Warmed as a serving database is, by every question once: a question's IVF lists
        # read for the first time cost twice as much (the first 50 questions, warmed, took
        # 16.8 ms at the median and the other 150, cold, about 30 ms), and a whole query,
        # timed after, found them all warm.
        for vector in vectors:
            nearest(vector, NEAREST)
        figures["pgvector"] = _nearest_figures(lambda v: nearest(v, NEAREST), vectors, truth)
        figures["pgvector"]["query"] = search_latency(Searcher(loaded, embedder), *queried)
        nearest.close()  # type: ignore[attr-defined]
    del loaded
    gc.collect()
    # The in-memory query timed again, twenty minutes after the first: on a shared machine
    # the speed of both sides drifts, and the ratio is to be read against both timings.
    figures["faiss"]["query_after"] = search_latency(Searcher(load_index(index_dir), embedder), *queried)
    return figures


def _in_memory_figures(
    index: Any,
    vectors: np.ndarray,
    truth: list[set[int]],
    embedder: Any,
    queried: tuple[list[str], np.ndarray],
) -> dict[str, Any]:
    def search(vector: np.ndarray) -> np.ndarray:
        return index.vectors.search(vector[None], NEAREST)[1][0]

    # Warmed as the database's lists are below: the index's files, memory-mapped, may have
    # left the page cache since they were written (cold, the nearest took 34 ms, not 0.7).
    for vector in vectors:
        search(vector)
    figures = _nearest_figures(search, vectors, truth)
    # A whole query (embedded, searched, ranked) as a server answers it, from each store.
    figures["query"] = search_latency(Searcher(index, embedder), *queried)
    return figures


def _nearest_figures(
    search: Callable[[np.ndarray], np.ndarray], vectors: np.ndarray, truth: list[set[int]]
) -> dict[str, float]:
    times, found = [], 0
    for vector, best in zip(vectors, truth, strict=True):
        started = time.perf_counter()
        rows = search(vector)
        times.append((time.perf_counter() - started) * 1000)
        found += len(best & set(np.asarray(rows)[:10].tolist()))
    return {
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "p99_ms": round(float(np.percentile(times, 99)), 2),
        "recall_at_10": round(found / (10 * len(vectors)), 3),
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [
        "| passages | publish | database | replica load / again | FAISS p50 / p99 / recall@10 "
        "| pgvector p50 / p99 / recall@10 | whole query p50 FAISS before / pgvector / FAISS after "
        "| ratio |",
        "|---:|---:|---:|---:|---|---|---|---:|",
    ]
    for size, f in report["sizes"].items():
        faiss_, pg = f["faiss"], f["pgvector"]
        # Against the mean of the in-memory timings before and after (older runs: before only).
        after = faiss_.get("query_after", {}).get("query_p50_ms")
        in_memory = [faiss_["query"]["query_p50_ms"]] + ([after] if after is not None else [])
        ratio = f"{pg['query']['query_p50_ms'] / statistics.mean(in_memory):.2f} ×"
        lines.append(
            f"| {int(size):,} | {f['publish_s']} s | {f['database_mb']} MB "
            f"| {f['replica_load_s']} / {f.get('replica_reload_s', '–')} s "
            f"| {faiss_['p50_ms']} / {faiss_['p99_ms']} ms / {faiss_['recall_at_10']} "
            f"| {pg['p50_ms']} / {pg['p99_ms']} ms / {pg['recall_at_10']} "
            f"| {faiss_['query']['query_p50_ms']} / {pg['query']['query_p50_ms']} / {after or '–'} ms "
            f"| {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
