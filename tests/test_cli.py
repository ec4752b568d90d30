"""The console script, run as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import CORPUS, ROOT
from rsa_qa.config import Settings
from rsa_qa.store.load import LoadedIndex

RSA_QA = str(Path(sys.executable).with_name("rsa-qa"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")}
    return subprocess.run([RSA_QA, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_query_prints_rank_score_section_passage_and_citations(
    settings: Settings, index: LoadedIndex
) -> None:
    done = run(
        "query",
        "Which study did Liang Baozhu publish?",
        "--top-k",
        "3",
        "--index-dir",
        str(settings.index_dir),
    )
    assert done.returncode == 0, done.stderr
    assert "#1  score " in done.stdout and "#2  score " in done.stdout
    assert "3.1 Lymphocyte active immunotherapy in RSA" in done.stdout
    assert "[3] Liang Baozhu. Clinical study" in done.stdout


def test_query_json_is_the_api_response(settings: Settings, index: LoadedIndex) -> None:
    done = run(
        "query", "What daily IVIG dose did Carp give?", "--json", "--index-dir", str(settings.index_dir)
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["results"][0]["section"]["number"] == "3.2"
    assert body["index_version"] == index.version


def test_index_then_if_stale_skips(tmp_path: Path) -> None:
    corpus = shutil.copytree(CORPUS, tmp_path / "corpus")
    built = run("index", "--corpus", str(corpus), "--index-dir", str(tmp_path / "index"))
    assert built.returncode == 0, built.stderr
    assert "passages" in built.stdout and (tmp_path / "index" / "current" / "manifest.json").is_file()
    again = run("index", "--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--if-stale")
    assert again.returncode == 0 and "up to date" in again.stdout


def test_missing_index_is_one_clear_sentence(tmp_path: Path) -> None:
    done = run("query", "IVIG", "--index-dir", str(tmp_path / "none"))
    assert done.returncode == 1
    assert "make index" in done.stderr
    assert "Traceback" not in done.stderr


def test_blank_question_is_refused(settings: Settings) -> None:
    done = run("query", "   ", "--index-dir", str(settings.index_dir))
    assert done.returncode == 1
    assert "blank" in done.stderr


def test_undecodable_question_is_one_sentence(settings: Settings) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates; they are refused, not crashed on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")}
    done = subprocess.run(
        [RSA_QA, "query", b"IVIG \xff", "--index-dir", str(settings.index_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr.decode().strip() == (
        "rsa-qa: error: query contains an unpaired UTF-16 surrogate; send valid Unicode text"
    )


def test_a_reader_that_stops_early_ends_the_command_quietly(settings: Settings, index: LoadedIndex) -> None:
    # `true` exits without reading, long before the answer is written: the pipe is surely closed.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")}
    pipeline = f"{RSA_QA} query 'IVIG dose' --json --index-dir {settings.index_dir} | true"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stderr == "", "no BrokenPipeError, no traceback"
    assert done.returncode == 141


def test_usage_errors_exit_2_and_an_unknown_document_exits_1(settings: Settings, index: LoadedIndex) -> None:
    assert run("query").returncode == 2  # argparse: the question is missing
    done = run("query", "IVIG", "--doc", "no-such-article", "--index-dir", str(settings.index_dir))
    assert done.returncode == 1
    assert done.stderr.startswith("rsa-qa: error: docs: no document 'no-such-article' in the index")
