"""`make bench-scale`: the index and the search on synthetic corpora of 10k, 100k and 1M passages.

Passages are made from the article's own sentences: 2–5 of them, shuffled and perturbed
(words dropped and swapped, numbers changed), so word statistics stay those of the
article. For each size it reports build time, size on disk and memory of a flat index and
of the approximate ones (HNSW, IVF), one question's vector search in each, and their
recall@10 against flat at several search widths; then a whole query (the question
embedded, then dense + BM25 + coverage + highlights on the candidates) against the index
the settings choose, beside the same on the article.

What is real and what is not:
- Embedding every passage would take hours on two cores (the throughput is measured on a
  sample and reported), so a synthetic passage's vector is the word-weighted mean of the
  model's vectors of the article sentences it was made from (roughly what mean pooling
  does), moved by a random step of cosine 0.9 that stands in for the perturbed words:
  without it, passages of the same sentences would share one vector and recall would
  count ties. The sample shows how close such vectors come to the model's own.
- A synthetic sentence's vector is its passage's (looked up, not copied: 5 GB at 1M).
- No HNSW at 1M: its graph took 290 s to build there and reached recall@10 0.93 at
  efSearch 512; IVF, which the settings choose there, is measured instead.
- Queries are one at a time, with one thread, as the server runs them under load.
Questions are the eval/ questions. Writes benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np
from bench import distinct_questions, machine, percentiles

from rsa_qa.config import Settings
from rsa_qa.pipeline.chunk import Passage
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.search.searcher import Searcher, SearchOptions
from rsa_qa.service import ann_settings, load_embedder, open_index, settle_memory
from rsa_qa.store.load import LoadedIndex
from rsa_qa.store.records import SentenceRow, SentenceRows
from rsa_qa.store.vector_index import KINDS, AnnSettings, build_vector_index, tune
from rsa_qa.text import normalise, sentence_spans

SIZES = (10_000, 100_000, 1_000_000)
HNSW_UP_TO = 100_000  # see the module docstring
GOAL_QUERY_RATIO = 2.0
GOAL_RECALL = 0.95
EMBEDDING_SAMPLE = 300
# A random step of this size per dimension moves a unit vector by cosine 1/sqrt(1 + 384 s²) = 0.9.
PERTURBATION = 0.0247
SWEEPS = {"hnsw": (64, 128, 256, 512), "ivf": (16, 32, 64, 96)}
_NUMBER = re.compile(r"\d+")
Sources = list[tuple[int, ...]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_scale.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scale.json"))
    args = parser.parse_args(argv)
    began = time.perf_counter()
    cores = os.cpu_count() or 1
    settings = Settings()
    ann = ann_settings(settings)
    embedder = load_embedder(settings, threads=cores)  # index-time embedding uses every core
    article = open_index(settings, embedder)
    maker = PassageMaker(article, seed=7)
    questions = eval_questions(Path("eval"))[: args.queries]
    query_vectors = embedder.encode([normalise(q) for q in questions])
    report: dict[str, Any] = {"machine": machine(), "settings": dataclasses.asdict(ann), "sizes": {}}
    report["embedding"] = _embedding_sample(embedder, maker)
    del embedder
    # Questions are embedded as the server embeds them: one thread per call.
    embedder = load_embedder(settings)
    faiss.omp_set_num_threads(1)
    article_searcher = Searcher(article, embedder)
    report["article_search"] = search_latency(article_searcher, questions, query_vectors)
    print(f"the article: query p50 {report['article_search']['query_p50_ms']:.2f} ms", flush=True)
    for size in args.sizes:
        started = time.perf_counter()
        sources = maker.sources(size)
        vectors = maker.vectors(sources)
        figures: dict[str, Any] = {"generate_s": round(time.perf_counter() - started, 1)}
        figures["chosen"] = ann.kind_for(size)
        figures["indexes"], chosen = _index_figures(vectors, query_vectors, ann, cores, figures["chosen"])
        searcher, build_s = _synthetic_searcher(article, embedder, maker.passages(sources), vectors, chosen)
        del sources, vectors
        settle_memory()  # as the server does once an index is loaded
        # The article just before and after, so that both see the machine as it is now.
        before = search_latency(article_searcher, questions, query_vectors)
        figures["full_search"] = search_latency(searcher, questions, query_vectors)
        after = search_latency(article_searcher, questions, query_vectors)
        figures["article_alongside_query_p50_ms"] = round(
            (before["query_p50_ms"] + after["query_p50_ms"]) / 2, 3
        )
        figures["full_search"]["searcher_build_s"] = round(build_s, 1)
        del searcher, chosen
        report["sizes"][str(size)] = figures
        gc.unfreeze()
        gc.collect()
        print(f"{size:>9,} passages done after {time.perf_counter() - began:.0f}s", flush=True)
    report["goal"] = goal(report, ann)
    report["total_s"] = round(time.perf_counter() - began, 1)
    report["peak_rss_mb"] = round(_rss_mb("VmHWM"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_tables(report))
    print(f"\nwritten to {args.out} in {report['total_s']:.0f}s; peak memory {report['peak_rss_mb']} MB")
    return 0


def goal(report: dict[str, Any], ann: AnnSettings) -> dict[str, Any]:
    """The largest size against the article: query p50 under 2x, recall@10 >= 0.95 as configured."""
    size, figures = max(report["sizes"].items(), key=lambda item: int(item[0]))
    chosen = figures["chosen"]
    width = {"flat": "–", "hnsw": str(ann.ef_search), "ivf": str(ann.nprobe)}[chosen]
    recall = figures["indexes"][chosen]["by_width"][width]["recall_at_10"]
    ratio = figures["full_search"]["query_p50_ms"] / figures["article_alongside_query_p50_ms"]
    return {
        "passages": int(size),
        "index": chosen,
        "width": width,
        "query_p50_vs_article": round(ratio, 2),
        "recall_at_10": recall,
        "met": ratio < GOAL_QUERY_RATIO and recall >= GOAL_RECALL,
    }


def eval_questions(eval_dir: Path) -> list[str]:
    return [
        json.loads(line)["question"]
        for path in sorted(eval_dir.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


class PassageMaker:
    """New passages from the article's sentences: 2–5 of them, shuffled and perturbed."""

    def __init__(self, article: LoadedIndex, seed: int) -> None:
        self.article = article
        self.seed = seed
        # Sentence rows in index order, so row i's vector is article.sentence_vectors[i].
        self.sentences = [article.passages[r.passage].text[r.start : r.end] for r in article.sentence_rows]
        self.words = np.array([len(s.split()) for s in self.sentences], dtype=np.float32)

    def sources(self, count: int) -> Sources:
        """Which article sentences each passage is made of, in its order."""
        chooser = random.Random(self.seed)
        indices = range(len(self.sentences))
        return [tuple(chooser.sample(indices, chooser.randint(2, 5))) for _ in range(count)]

    def passages(self, sources: Sources) -> list[Passage]:
        perturber = random.Random(self.seed + 1)
        return [self._passage(number, picked, perturber) for number, picked in enumerate(sources)]

    def vectors(self, sources: Sources) -> np.ndarray:
        matrix = self.article.sentence_vectors
        vectors = np.empty((len(sources), matrix.shape[1]), dtype=np.float32)
        for row, picked in enumerate(sources):
            rows = list(picked)
            vectors[row] = self.words[rows] @ matrix[rows]
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        noise = np.random.default_rng(self.seed).standard_normal(vectors.shape, dtype=np.float32)
        vectors += PERTURBATION * noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors

    def _passage(self, number: int, picked: tuple[int, ...], perturber: random.Random) -> Passage:
        text = " ".join(self._perturb(self.sentences[i], perturber) for i in picked)
        source = self.article.passages[self.article.sentence_rows[picked[0]].passage]
        return Passage(
            id=f"synthetic-{number:07d}",
            doc_id=source.doc_id,
            section=source.section,
            start=0,
            end=len(text),
            text=text,
            references=(),
            sentences=tuple(sentence_spans(text)),
        )

    @staticmethod
    def _perturb(sentence: str, perturber: random.Random) -> str:
        words = [w for w in sentence.split() if perturber.random() > 0.1] or sentence.split()[:1]
        if len(words) > 3:
            i = perturber.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        text = " ".join(words)
        if perturber.random() < 0.3:
            text = _NUMBER.sub(lambda _: str(perturber.randint(1, 500)), text)
        return text


def _embedding_sample(embedder: Embedder, maker: PassageMaker) -> dict[str, Any]:
    """Model throughput on synthetic passages, and how close the composed vectors come."""
    sources = maker.sources(EMBEDDING_SAMPLE)
    texts = [normalise(p.embedding_text(True)) for p in maker.passages(sources)]
    embedder.encode(texts[:4])
    started = time.perf_counter()
    real = embedder.encode(texts)
    rate = len(texts) / (time.perf_counter() - started)
    cosines = (real * maker.vectors(sources)).sum(axis=1)
    return {
        "sample": len(texts),
        "passages_per_s": round(rate, 1),
        "hours_for": {str(n): round(n / rate / 3600, 2) for n in SIZES},
        "composed_vs_model_cosine_mean": round(float(cosines.mean()), 3),
        "composed_vs_model_cosine_p5": round(float(np.percentile(cosines, 5)), 3),
    }


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _index_figures(
    vectors: np.ndarray, queries: np.ndarray, ann: AnnSettings, cores: int, chosen_kind: str
) -> tuple[dict[str, Any], faiss.Index]:
    """Each kind's build and search figures; returns them and the chosen index, tuned as configured."""
    figures: dict[str, Any] = {}
    exact: np.ndarray | None = None
    chosen: faiss.Index | None = None
    for kind in KINDS:
        if kind == "hnsw" and len(vectors) > HNSW_UP_TO and chosen_kind != "hnsw":
            continue
        gc.collect()
        faiss.omp_set_num_threads(cores)
        before = _rss_mb()
        started = time.perf_counter()
        index = build_vector_index(vectors, ann, kind)
        build_s = time.perf_counter() - started
        memory = _rss_mb() - before
        faiss.omp_set_num_threads(1)
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "passages.faiss"
            faiss.write_index(index, str(path))
            disk_mb = path.stat().st_size / 2**20
        row: dict[str, Any] = {
            "build_s": round(build_s, 2),
            "disk_mb": round(disk_mb, 1),
            "memory_mb": round(memory, 1),
        }
        if kind == "flat":
            row["by_width"] = {"–": _query_latency(index, queries) | {"recall_at_10": 1.0}}
            exact = index.search(queries, 10)[1]
        else:
            assert exact is not None
            row["by_width"] = {}
            for width in SWEEPS[kind]:
                tune(index, dataclasses.replace(ann, ef_search=width, nprobe=width))
                found = index.search(queries, 10)[1]
                recall = float(
                    np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
                )
                row["by_width"][str(width)] = _query_latency(index, queries) | {
                    "recall_at_10": round(recall, 4)
                }
        figures[kind] = row
        if kind == chosen_kind:
            tune(index, ann)
            chosen = index
        del index
    assert chosen is not None
    return figures, chosen


def _query_latency(index: faiss.Index, queries: np.ndarray) -> dict[str, Any]:
    seconds = []
    for query in queries:
        started = time.perf_counter()
        index.search(query.reshape(1, -1), 10)
        seconds.append(time.perf_counter() - started)
    return percentiles(seconds)


class _PassageVectorOfSentence:
    """sentence_vectors for a synthetic index: sentence row i reads its passage's vector.

    Copying the passage vector to each of a million passages' sentences would take 5 GB;
    the search reads only the candidates' sentences, so a lookup costs it the same.
    """

    def __init__(self, vectors: np.ndarray, passage_of_sentence: np.ndarray) -> None:
        self.vectors = vectors
        self.passage_of_sentence = passage_of_sentence
        self.shape = (len(passage_of_sentence), vectors.shape[1])

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        result: np.ndarray = self.vectors[self.passage_of_sentence[rows]]
        return result


def _synthetic_searcher(
    article: LoadedIndex,
    embedder: Embedder,
    passages: list[Passage],
    vectors: np.ndarray,
    vector_index: faiss.Index,
) -> tuple[Searcher, float]:
    """A searcher over synthetic passages and the index the settings choose for their number."""
    started = time.perf_counter()
    rows = [SentenceRow(i, start, end) for i, p in enumerate(passages) for start, end in p.sentences]
    index = LoadedIndex(
        directory=Path("synthetic"),
        manifest={"index_version": f"synthetic-{len(passages)}"},
        documents=article.documents,
        passages=passages,
        vectors=vector_index,
        sentence_vectors=cast(
            np.ndarray, _PassageVectorOfSentence(vectors, np.array([r.passage for r in rows], dtype=np.int64))
        ),
        sentence_rows=SentenceRows.of(rows),
    )
    settings = Settings()
    searcher = Searcher(index, embedder, settings.search_candidates, settings.lexical_budget)
    return searcher, time.perf_counter() - started


def search_latency(searcher: Searcher, questions: list[str], vectors: np.ndarray) -> dict[str, Any]:
    """A whole query (the question embedded, then searched) and the search alone, one at a time."""
    options = SearchOptions(top_k=5)
    # Warm-up on other questions: the first searches page in the index's tables.
    for question in itertools.islice(distinct_questions(Path("eval")), len(questions), len(questions) + 20):
        searcher.search(question, options)
    query_seconds, search_seconds = [], []
    for question, vector in zip(questions, vectors, strict=True):
        started = time.perf_counter()
        searcher.search(question, options)
        query_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        searcher.search(question, options, query_vector=vector)
        search_seconds.append(time.perf_counter() - started)
    query, search = percentiles(query_seconds), percentiles(search_seconds)
    return {
        "passages": len(searcher.passages),
        "query_p50_ms": query["p50_ms"],
        "query_p99_ms": query["p99_ms"],
        "search_p50_ms": search["p50_ms"],
        "search_p99_ms": search["p99_ms"],
    }


def format_tables(report: dict[str, Any]) -> str:
    lines = [
        "| passages | index | build s | disk MB | memory MB | search width | p50 ms | p99 ms | recall@10 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, figures in report["sizes"].items():
        for kind, row in figures["indexes"].items():
            chosen = " (chosen)" if kind == figures["chosen"] else ""
            label = {"flat": "flat", "hnsw": "HNSW efSearch", "ivf": "IVF nprobe"}[kind]
            for width, latency in row["by_width"].items():
                built = f"{row['build_s']} | {row['disk_mb']} | {row['memory_mb']}"
                found = f"{latency['p50_ms']:.3f} | {latency['p99_ms']:.3f} | {latency['recall_at_10']}"
                lines.append(f"| {int(size):,} | {label}{chosen} | {built} | {width} | {found} |")
    article = report["article_search"]
    lines += [
        "",
        "| a whole query, one question at a time | passages | query p50 ms | query p99 ms "
        "| of which search p50 ms | searcher build s | the article alongside, query p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| the article | {article['passages']} | {article['query_p50_ms']:.2f} "
        f"| {article['query_p99_ms']:.2f} | {article['search_p50_ms']:.3f} | – | – |",
    ]
    for size, figures in report["sizes"].items():
        full = figures["full_search"]
        lines.append(
            f"| synthetic, {figures['chosen']} index, candidates first | {int(size):,} "
            f"| {full['query_p50_ms']:.2f} | {full['query_p99_ms']:.2f} | {full['search_p50_ms']:.3f} "
            f"| {full['searcher_build_s']} | {figures['article_alongside_query_p50_ms']:.2f} |"
        )
    if "goal" in report:
        goal = report["goal"]
        lines.append(
            f"\ngoal at {goal['passages']:,} passages ({goal['index']}, width {goal['width']}): query p50 "
            f"{goal['query_p50_vs_article']} x the article's alongside (< {GOAL_QUERY_RATIO}), recall@10 "
            f"{goal['recall_at_10']} (>= {GOAL_RECALL}): {'met' if goal['met'] else 'NOT met'}"
        )
    embedding = report["embedding"]
    hours = ", ".join(f"{int(n):,}: {h} h" for n, h in embedding["hours_for"].items())
    lines.append(
        f"\nmodel throughput {embedding['passages_per_s']} passages/s on {embedding['sample']} "
        f"synthetic passages (embedding all: {hours}); composed vs model vector cosine: mean "
        f"{embedding['composed_vs_model_cosine_mean']}, "
        f"5th percentile {embedding['composed_vs_model_cosine_p5']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
