"""The fitted models that turn features into a ranking, a scope verdict and highlights.

Each is a linear model over named features, fitted offline by `rsa-qa fit` (fitting.py)
with cross-validation over the project's question sets, and shipped as fitted.json:

    ranker      passage features → a score; its order is the ranking, and a logistic
                calibration of it is the probability that the passage answers the question
    scope       question features → the probability that the corpus answers the question;
                in_scope is that probability at or above a threshold chosen by cross-validation
    highlight   sentence features → the probability that the sentence holds the answer

A model file names the features it was fitted on; one that does not match the code's
features is refused, so a model is never applied to evidence it was not fitted on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rsa_qa.errors import ModelError
from rsa_qa.search.features import PASSAGE_FEATURES, SCOPE_FEATURES

FITTED = Path(__file__).with_name("fitted.json")
SENTENCE_FEATURES = (
    "cosine",  # of the question with the sentence
    "coverage",  # share of the question's terms in the sentence
    "weighted_coverage",  # the same, weighted by rarity
    "passage_probability",  # the ranker's probability for the sentence's passage
    "cosine_gap",  # the sentence's cosine minus the best of its passage's sentences
    "best_in_passage",  # the passage's best sentence by cosine and weighted coverage together
)


def sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))
    return result


@dataclass(frozen=True)
class LinearModel:
    """score = features @ weights + bias; probability = sigmoid(slope * score + intercept)."""

    features: tuple[str, ...]
    weights: np.ndarray
    bias: float = 0.0
    slope: float = 1.0
    intercept: float = 0.0
    threshold: float = 0.5

    def score(self, rows: np.ndarray) -> np.ndarray:
        result: np.ndarray = rows @ self.weights + self.bias
        return result

    def probability(self, rows: np.ndarray) -> np.ndarray:
        return sigmoid(self.slope * self.score(rows) + self.intercept)

    def as_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": [round(float(w), 8) for w in self.weights],
            "bias": round(self.bias, 8),
            "slope": round(self.slope, 8),
            "intercept": round(self.intercept, 8),
            "threshold": round(self.threshold, 8),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...], source: Path) -> LinearModel:
        features = tuple(data["features"])
        if features != expected:
            raise ModelError(
                f"{source} was fitted on other features than this version computes: run `rsa-qa fit`"
            )
        return cls(
            features=features,
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            slope=float(data["slope"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
        )


@dataclass(frozen=True)
class Models:
    ranker: LinearModel
    scope: LinearModel
    highlight: LinearModel
    report: dict[str, Any]
    # The ranker fitted without late interaction, for an index that holds no word-piece vectors.
    plain_ranker: LinearModel | None = None

    def ranker_for(self, has_tokens: bool) -> LinearModel:
        return self.ranker if has_tokens or self.plain_ranker is None else self.plain_ranker

    @classmethod
    def unfitted(cls) -> Models:
        """Models with every weight zero, for gathering features before anything is fitted."""
        return cls(
            ranker=LinearModel(PASSAGE_FEATURES, np.zeros(len(PASSAGE_FEATURES))),
            scope=LinearModel(SCOPE_FEATURES, np.zeros(len(SCOPE_FEATURES))),
            highlight=LinearModel(SENTENCE_FEATURES, np.zeros(len(SENTENCE_FEATURES))),
            report={},
            plain_ranker=LinearModel(PASSAGE_FEATURES, np.zeros(len(PASSAGE_FEATURES))),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ranker": self.ranker.as_dict(),
            "scope": self.scope.as_dict(),
            "highlight": self.highlight.as_dict(),
            "ranker_without_tokens": (self.plain_ranker or self.ranker).as_dict(),
            "report": self.report,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@lru_cache(maxsize=4)
def load_models(path: Path = FITTED) -> Models:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Models(
            ranker=LinearModel.from_dict(data["ranker"], PASSAGE_FEATURES, path),
            scope=LinearModel.from_dict(data["scope"], SCOPE_FEATURES, path),
            highlight=LinearModel.from_dict(data["highlight"], SENTENCE_FEATURES, path),
            report=dict(data.get("report", {})),
            plain_ranker=LinearModel.from_dict(data["ranker_without_tokens"], PASSAGE_FEATURES, path),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read the fitted models in {path} ({exc}): run `rsa-qa fit`") from exc
