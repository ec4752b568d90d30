"""Is the question one the corpus can answer? The fitted scope model's verdict, in words.

The scope model (model.py, fitted by `rsa-qa fit`) gives the probability that the corpus
answers the question, from semantic and lexical evidence together: how well the best
allowed passages match (cosine, BM25, the ranker's own probability), how many of the
question's words the articles' bodies hold, and names from the articles in the question.
A question put in other words than the articles' is not thereby off-topic: the cosines
carry it. The threshold is chosen by cross-validation so that at most 3 % of answerable
questions are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rsa_qa.search.features import SCOPE_FEATURES


@dataclass(frozen=True)
class ScopeVerdict:
    in_scope: bool
    reason: str
    probability: float


def judge_scope(row: np.ndarray, probability: float, threshold: float, names: list[str]) -> ScopeVerdict:
    evidence = dict(zip(SCOPE_FEATURES, row.tolist(), strict=True))
    words = f"{evidence['body_coverage']:.0%} of its words occur in the articles"
    match = f"best passage cosine {evidence['best_dense']:.2f}"
    if probability >= threshold:
        because = f"the question names {', '.join(names)} from the articles; " if names else ""
        return ScopeVerdict(
            True, f"answered with probability {probability:.2f}: {because}{match}, {words}", probability
        )
    return ScopeVerdict(
        False,
        f"probably not answered by the articles (probability {probability:.2f}): {match}, {words}",
        probability,
    )
