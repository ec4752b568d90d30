"""examples/ run as a user runs them, against the real app on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

CHAT_LOOP = ROOT / "examples" / "chat_loop.py"


def test_chat_loop_prints_passages_with_sections_and_citations(live_url: str) -> None:
    questions = "What daily IVIG dose did Carp give?\nWhich study did Liang Baozhu publish?\n\n"
    done = subprocess.run(
        [sys.executable, str(CHAT_LOOP), "--url", live_url, "--top-k", "1"],
        input=questions,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split("you> ")[1:3]
    assert first.count("#1 [") == 1 and "3.2 Immunoglobulin intravenous infusion therapy in RSA" in first
    assert "They gave IVIG 400mg/kg per day" in " ".join(first.split())
    assert "in scope:" in first
    assert "[3] Liang Baozhu. Clinical study" in second


def test_chat_loop_reports_a_refused_question_and_goes_on(live_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(CHAT_LOOP), "--url", live_url, "--section", "3.2; drop"],
        input="IVIG dose\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "rsa-qa: sections.0: String should match pattern" in done.stderr
