"""Score question sets against the service: hit@1, hit@3, MRR@10 and abstention.

A question file has one JSON object a line:
    {"id", "question", "accept": [{"section": "3.2", "contains": ["400mg/kg"]}]}
    {"id", "question", "out_of_scope": true}
A passage answers a question when its section matches an accepted section (a number such
as "3.2", or a word of the title such as "Abstract") and its text, with the full
citations it carries, contains every accepted string, compared after NFKC, lower case
and collapsed whitespace. These are the rules of the shared scorer, kept identical; an
accepted answer may also name its document ("doc": id), for corpora of several articles,
and may name the top-level section that holds it instead ("top_section": title), as a
paper's truth does: then a passage of any of its subsections answers too.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import unicodedata
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from rsa_qa.config import Settings

Search = Callable[[str, int], dict[str, Any]]

# Titles printed in different ways ("Appendix B: Problems" and "B Problems") still name one
# section when this similar after folding.
SIMILAR_TITLES = 0.85
# A section number or letter before a heading's title: "3.2 ", "B ", "IV. ", "Appendix B: ".
HEADING_NUMBER = re.compile(r"^(?i:appendix\s+)?[0-9A-Z]{1,3}(\.\d+)*[.:]?\s+")


@dataclass
class Report:
    questions: int
    hit1: float
    hit3: float
    mrr10: float
    in_scope_rejected: float
    out_of_scope: int
    oos_rejected: float | None
    p50_ms: float
    misses: list[str] = field(default_factory=list)


def load_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def normalise_answer(text: str) -> str:
    """Text as the scorer compares it: NFKC, lower case, whitespace collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip().lower()


def section_matches(wanted: str, section: dict[str, Any]) -> bool:
    number = str(section.get("number") or "").strip().rstrip(".")
    if re.fullmatch(r"\d+(\.\d+)*", wanted):
        return number == wanted
    return normalise_answer(wanted) in normalise_answer(section.get("title") or "") or normalise_answer(
        wanted
    ) == normalise_answer(number)


def fold(text: str) -> str:
    """Text with case, accents, ligatures and punctuation folded away, for lenient matching."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def similar(a: str, b: str) -> bool:
    a, b = fold(a), fold(b)
    return bool(a) and (a == b or SequenceMatcher(None, a, b).ratio() >= SIMILAR_TITLES)


def top_section_matches(wanted: str, section: dict[str, Any]) -> bool:
    """Whether the result lies in the top-level section titled `wanted`, its number aside."""
    top_level = (section.get("path") or [section.get("title") or ""])[0]
    return similar(top_level, wanted) or similar(
        HEADING_NUMBER.sub("", top_level), HEADING_NUMBER.sub("", wanted)
    )


def _section_accepted(accepted: dict[str, Any], section: dict[str, Any]) -> bool:
    if "top_section" in accepted:
        return top_section_matches(accepted["top_section"], section)
    return section_matches(accepted["section"], section)


def answers(result: dict[str, Any], accept: list[dict[str, Any]]) -> bool:
    citations = " ".join(str(r.get("citation") or "") for r in result.get("references") or [])
    haystack = normalise_answer((result.get("text") or "") + " " + citations)
    doc_id = (result.get("doc") or {}).get("id")
    return any(
        a.get("doc") in (None, doc_id)
        and _section_accepted(a, result.get("section") or {})
        and all(normalise_answer(c) in haystack for c in a["contains"])
        for a in accept
    )


def score(rows: list[dict[str, Any]], search: Search, top_k: int = 10) -> Report:
    ranks: list[int | None] = []
    latencies: list[float] = []
    misses: list[str] = []
    out_total = out_rejected = in_rejected = 0
    for row in rows:
        started = time.perf_counter()
        response = search(row["question"], top_k)
        latencies.append((time.perf_counter() - started) * 1000)
        results = response.get("results") or []
        if row.get("out_of_scope"):
            out_total += 1
            if response.get("in_scope") is False:
                out_rejected += 1
            else:
                misses.append(f"{row['id']}: off-topic question judged in scope: {row['question']!r}")
            continue
        if response.get("in_scope") is False:
            in_rejected += 1
            misses.append(f"{row['id']}: answerable question judged out of scope: {response.get('reason')}")
        rank = next((i for i, r in enumerate(results, start=1) if answers(r, row["accept"])), None)
        ranks.append(rank)
        if rank != 1:
            top = (results[0].get("section") or {}).get("number") if results else None
            misses.append(f"{row['id']}: rank={rank} top section={top!r} q={row['question']!r}")
    n = len(ranks) or 1
    return Report(
        questions=len(ranks),
        hit1=sum(r == 1 for r in ranks) / n,
        hit3=sum(r is not None and r <= 3 for r in ranks) / n,
        mrr10=sum(1 / r for r in ranks if r is not None and r <= 10) / n,
        in_scope_rejected=in_rejected / n,
        out_of_scope=out_total,
        oos_rejected=out_rejected / out_total if out_total else None,
        p50_ms=statistics.median(latencies) if latencies else 0.0,
        misses=misses,
    )


def http_search(url: str) -> Search:
    endpoint = url.rstrip("/") + "/query"

    def search(question: str, top_k: int) -> dict[str, Any]:
        body = json.dumps({"query": question, "top_k": top_k}).encode()
        request = urllib.request.Request(endpoint, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    return search


def in_process_search(settings: Settings) -> Search:
    from rsa_qa.answers import run_query
    from rsa_qa.schemas import QueryRequest
    from rsa_qa.service import open_searcher

    searcher = open_searcher(settings)

    def search(question: str, top_k: int) -> dict[str, Any]:
        return run_query(searcher, QueryRequest(query=question, top_k=top_k)).model_dump()

    return search


def format_table(reports: dict[str, Report]) -> str:
    """A Markdown table, one row per question set, as pasted into docs/retrieval.md."""
    lines = [
        "| question set | answerable | hit@1 | hit@3 | MRR@10 | answerable rejected "
        "| off-topic | off-topic rejected | p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in reports.items():
        oos = "–" if r.oos_rejected is None else f"{r.oos_rejected:.3f}"
        lines.append(
            f"| {name} | {r.questions} | {r.hit1:.3f} | {r.hit3:.3f} | {r.mrr10:.3f} "
            f"| {r.in_scope_rejected:.3f} | {r.out_of_scope} | {oos} | {r.p50_ms:.1f} |"
        )
    return "\n".join(lines)
