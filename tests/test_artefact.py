"""The index as an artefact operators build, copy and replace: killed builds, a full disk, a
copy on a machine without the corpus or the model cache."""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT, HashEmbedder
from rsa_qa.answers import run_query
from rsa_qa.config import Settings
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.schemas import QueryRequest
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import open_searcher
from rsa_qa.store.build import build_index_at
from rsa_qa.store.load import LoadedIndex, load_index

RSA_QA = str(Path(sys.executable).with_name("rsa-qa"))
# A build in a child process with the deterministic embedder, started over and over.
BUILDER = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from conftest import HashEmbedder
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.store.build import build_index_at
corpus, index = Path(sys.argv[1]), Path(sys.argv[2])
build_index_at(corpus, index, HashEmbedder(), ChunkSettings(254, 256, True), keep=2)
"""
# CI kills 40 builds; ARTEFACT_KILLS=300 runs the longer trial docs/operating.md reports.
KILLS = int(os.environ.get("ARTEFACT_KILLS", "40"))


def test_random_kills_never_leave_the_path_without_a_loadable_index(tmp_path: Path) -> None:
    corpus = Path(shutil.copytree(CORPUS, tmp_path / "corpus"))
    index = tmp_path / "index"
    script = tmp_path / "build.py"
    script.write_text(BUILDER.format(tests=str(ROOT / "tests")), encoding="utf-8")
    article = next(corpus.iterdir())
    text = article.read_text(encoding="utf-8")

    def build() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, str(script), str(corpus), str(index)], cwd=ROOT)

    started = time.monotonic()
    assert build().wait(timeout=120) == 0
    duration = time.monotonic() - started
    chooser = random.Random(15)
    for number in range(KILLS):
        # Each build has something new to write, so that every one goes through the swap.
        article.write_text(text + f"\nA sentence added for build {number}.\n", encoding="utf-8")
        process = build()
        time.sleep(chooser.uniform(0.2, 1.2) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        load_index(index)  # raises if the path names no complete index
    assert build().wait(timeout=120) == 0
    versions = index / "versions"
    assert [p.name for p in versions.iterdir() if ".building-" in p.name] == []
    assert len(list(versions.iterdir())) <= 2
    assert sorted(p.name for p in index.iterdir()) == [".lock", "current", "versions"]


def test_a_build_with_nothing_to_write_still_removes_what_a_killed_build_left(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """A build killed after it switched `current` leaves one version too many (and perhaps an
    old layout's file); the next build, finding the corpus already built, removes them."""
    corpus = Path(shutil.copytree(CORPUS, tmp_path / "corpus"))
    index = tmp_path / "index"
    article = next(corpus.iterdir())
    text = article.read_text(encoding="utf-8")
    chunking = ChunkSettings(254, 256, True)
    for number in range(3):
        article.write_text(text + f"\nA sentence added for build {number}.\n", encoding="utf-8")
        build_index_at(corpus, index, hash_embedder, chunking, keep=3)
    (index / "passages.jsonl").write_text("left by a build of the old layout", encoding="utf-8")
    assert len(list((index / "versions").iterdir())) == 3
    report = build_index_at(corpus, index, hash_embedder, chunking, keep=2)
    assert report.added == report.changed == []
    assert len(list((index / "versions").iterdir())) == 2
    assert sorted(p.name for p in index.iterdir()) == [".lock", "current", "versions"]
    load_index(index)


def _limit_file_size() -> None:
    # As a full disk would: the next write past the limit fails (EFBIG, SIGXFSZ ignored).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_build_that_cannot_write_exits_1_with_one_sentence_and_keeps_the_index(
    settings: Settings, index: LoadedIndex, tmp_path: Path
) -> None:
    corpus = Path(shutil.copytree(CORPUS, tmp_path / "corpus"))
    served = tmp_path / "index"
    done = subprocess.run(
        [RSA_QA, "index", "--corpus", str(corpus), "--index-dir", str(served)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    before = load_index(served).version
    (corpus / "more.md").write_text("# More\n\n## Part\n\n" + "Text to index. " * 3000, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")}
    done = subprocess.run(
        [RSA_QA, "index", "--corpus", str(corpus), "--index-dir", str(served)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_limit_file_size,
        timeout=300,
    )
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("rsa-qa: error: cannot write ") and "file size limit" in line, line
    assert load_index(served).version == before
    assert [p for p in (served / "versions").iterdir() if ".building-" in p.name] == []


def test_a_copied_index_answers_the_same_without_the_corpus_or_the_model_cache(
    settings: Settings, searcher: Searcher, index: LoadedIndex, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "replica" / "index"
    shutil.copytree(index.directory, elsewhere)  # what an operator copies: the version itself
    empty_cache = tmp_path / "empty-cache"
    copy_settings = Settings(index_dir=elsewhere, cache_dir=empty_cache, corpus_dir=tmp_path / "no-corpus")
    copy = open_searcher(copy_settings)
    assert copy.index.stale is None and not empty_cache.exists()
    for question in ("What daily IVIG dose did Carp give?", "Who wrote this review?", "capital of France"):
        request = QueryRequest(query=question, top_k=3)
        original, copied = run_query(searcher, request), run_query(copy, request)
        assert [(r.id, r.score, r.highlights) for r in copied.results] == [
            (r.id, r.score, r.highlights) for r in original.results
        ]
        assert (copied.in_scope, copied.in_scope_probability) == (
            original.in_scope,
            original.in_scope_probability,
        )


@pytest.mark.parametrize("backend", ["onnx-int8"])
def test_the_index_carries_the_model_it_was_embedded_with(index: LoadedIndex, backend: str) -> None:
    assert index.manifest["model"]["backend"] == backend
    assert index.model_file is not None and index.model_file.is_file()
    assert "model-onnx-int8.onnx" in index.manifest["files"]
