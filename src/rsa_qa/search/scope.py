"""Is the question one the article can answer? A verdict from several kinds of evidence.

A raw cosine alone cannot tell: the article is about immunology and pregnancy, so an
off-topic medical question ("What is the treatment for lupus?") scores as high as some
answerable ones. The verdict combines:

- the fused score of the best passage (dense meaning, BM25 and word coverage together);
- how many of the question's content words occur in the article at all;
- a name or identifier from the article in the question ("Christiansen", "DOI"), which
  makes a question answerable even when the wording around it matches little;
- a question about the document itself (its abstract, keywords, authors, title).

The thresholds were set on the project's own questions (eval/own.jsonl) and checked on
eval/check.jsonl and eval/dev.jsonl; `make eval` reports how well they separate.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from rsa_qa.text import search_terms

MIN_FUSED_SCORE = 0.38
MIN_COVERAGE = 0.5
MIN_STRUCTURE_SCORE = 0.2
# A name occurring in this few passages or fewer identifies something in the article.
MAX_NAME_PASSAGES = 2
STRUCTURE_TERMS = frozenset(search_terms("abstract keywords authors title affiliation doi"))
_CAPITALISED = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][A-Za-z0-9-]*")


@dataclass(frozen=True)
class ScopeVerdict:
    in_scope: bool
    reason: str
    coverage: float


def judge_scope(
    query: str,
    best_score: float,
    query_terms: list[str],
    vocabulary: Collection[str],
    passage_frequency: Mapping[str, int],
) -> ScopeVerdict:
    known = [t for t in query_terms if t in vocabulary]
    coverage = len(known) / len(query_terms) if query_terms else 0.0
    names = _article_names(query, passage_frequency)
    if names:
        return ScopeVerdict(True, f"the question names {', '.join(names)} from the article", coverage)
    if best_score >= MIN_STRUCTURE_SCORE and STRUCTURE_TERMS & set(query_terms):
        return ScopeVerdict(True, "the question is about the article itself", coverage)
    if coverage < MIN_COVERAGE:
        return ScopeVerdict(
            False,
            f"most of the question's words do not occur in the article (coverage {coverage:.2f})",
            coverage,
        )
    if best_score < MIN_FUSED_SCORE:
        return ScopeVerdict(
            False,
            f"no passage matches the question well (best score {best_score:.2f} < {MIN_FUSED_SCORE})",
            coverage,
        )
    return ScopeVerdict(True, f"best passage scores {best_score:.2f}", coverage)


def _article_names(query: str, passage_frequency: Mapping[str, int]) -> list[str]:
    """Capitalised words of the question, not sentence-initial, that are rare in the article."""
    names = []
    for match in _CAPITALISED.finditer(query):
        terms = search_terms(match.group())
        if terms and all(0 < passage_frequency.get(t, 0) <= MAX_NAME_PASSAGES for t in terms):
            names.append(match.group())
    return names
