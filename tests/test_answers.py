"""The one answer path: the CLI, in-process eval, the HTTP server and MCP answer alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import CORPUS, ROOT
from rsa_qa.config import Settings
from rsa_qa.evaluation import in_process_search
from rsa_qa.http.app import create_app
from rsa_qa.store.load import LoadedIndex

QUESTIONS = (
    "What daily IVIG dose did Carp give?",
    "Which anticoagulant dose was given with aspirin?",
    "How does vitamin D act on the immune system?",
    "What are the side effects of prednisone?",
)
# Far narrower than the defaults: only 10 passages scored in full, BM25 candidates only
# from terms found in a single passage. A front end that built its searcher by hand would
# ignore these and answer as the defaults do.
NARROW = {"RSA_QA_SEARCH_CANDIDATES": "10", "RSA_QA_LEXICAL_BUDGET": "1"}


def _ranked(response: dict[str, Any]) -> list[tuple[str, float]]:
    return [(r["id"], r["score"]) for r in response["results"]]


def _cli(question: str, index_dir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")} | NARROW
    command = [str(Path(sys.executable).with_name("rsa-qa")), "query", question, "--json"]
    command += ["--top-k", "10", "--index-dir", str(index_dir)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True)
    return dict(json.loads(done.stdout))


def test_cli_eval_and_server_search_with_the_settings_they_are_given(
    settings: Settings, index: LoadedIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in NARROW.items():
        monkeypatch.setenv(name, value)
    narrow = Settings(corpus_dir=CORPUS, index_dir=settings.index_dir)
    assert (narrow.search_candidates, narrow.lexical_budget) == (10, 1)
    evaluated = in_process_search(narrow)
    with TestClient(create_app(narrow)) as client:
        served = [client.post("/query", json={"query": q, "top_k": 10}).json() for q in QUESTIONS]
    for question, answer in zip(QUESTIONS, served, strict=True):
        assert (
            _ranked(answer) == _ranked(evaluated(question, 10)) == _ranked(_cli(question, settings.index_dir))
        )
    defaults = in_process_search(settings)
    assert any(
        _ranked(defaults(q, 10)) != _ranked(answer) for q, answer in zip(QUESTIONS, served, strict=True)
    ), "the narrow settings should change some answer, or this test shows nothing"
