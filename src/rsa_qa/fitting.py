"""Fit the ranker, scope and highlight models, and measure them by cross-validation.

    rsa-qa fit eval/dev.jsonl eval/own.jsonl eval/check.jsonl eval/blind.jsonl

pools the question sets, gathers every candidate passage's features for every question
(searcher.score: the same evidence the server ranks with), and labels each candidate by the
scorer's rule (evaluation.answers). Then:

- ranker: a conditional logit (softmax over a question's candidates; the loss is minus the
  log of the probability given to the passages that answer), with L2 weight chosen by inner
  cross-validation, and a logistic calibration of its score into the probability that a
  passage answers, fitted on out-of-fold scores;
- scope: logistic regression over the question's evidence (features.SCOPE_FEATURES, from
  out-of-fold ranker probabilities) for "the corpus answers this question", with the
  threshold set on out-of-fold probabilities so that at most TARGET_REJECTION of the
  answerable questions are rejected;
- highlight: logistic regression over a sentence's cosine and term coverage, and its
  passage's probability, for "this sentence holds an expected answer string".

Every figure it reports is out of fold: grouped k-fold (paraphrases of one question share a
group and a fold), repeated with several seeds, each fold's models fitted on the other
folds only. The models it writes are then fitted the same way on all the questions.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from rsa_qa.answers import section_ref
from rsa_qa.evaluation import answers, load_questions, normalise_answer
from rsa_qa.search.features import PASSAGE_FEATURES, SCOPE_FEATURES
from rsa_qa.search.model import SENTENCE_FEATURES, LinearModel, Models, sigmoid
from rsa_qa.search.searcher import Scored, Searcher

FOLDS = 5
REPEATS = 3
SEED = 20261129
L2_GRID = (0.03, 0.3, 3.0)
# The scope threshold rejects at most this share of the answerable questions it was set on;
# a little under the goal's 3 %, because new questions fall a little lower than fitted ones.
TARGET_REJECTION = 0.02
# Before any sentence has been seen; fitting moves it to where F1 is best.
HIGHLIGHT_THRESHOLD = 0.5
# Highlights are fitted on the sentences of a question's answer passages and best candidates.
HIGHLIGHT_CANDIDATES = 3
RANKED = 10
# The ranker's columns on an index without word-piece vectors.
PLAIN_COLUMNS = [i for i, name in enumerate(PASSAGE_FEATURES) if name != "late_interaction"]
# The question set written before anything was run on it, whose first look is kept.
BLIND = "blind.jsonl"


@dataclass
class Example:
    """One question, every candidate passage's features, and which candidates answer it."""

    id: str
    source: str  # the question file
    corpus: str  # the corpus it was asked of
    searcher: Searcher
    kind: str
    group: str
    text: str
    answerable: bool
    scored: Scored
    labels: np.ndarray  # per candidate: does it answer (by the scorer's rule)
    tie_break: np.ndarray  # per candidate: its place among the passage ids
    sentence_labels: dict[int, list[bool]] = field(default_factory=dict)  # per candidate position

    @property
    def label(self) -> str:
        """The question file, and the corpus when it was asked of another than the main one."""
        return f"{self.corpus}/{self.source}" if self.corpus else self.source

    @property
    def features(self) -> np.ndarray:
        return self.scored.features


def collect(searcher: Searcher, paths: Sequence[Path], corpus: str = "") -> list[Example]:
    """Every question of the files, scored against every candidate passage. A question whose
    answers name documents the corpus does not hold is not asked of it."""
    documents = {p.doc_id for p in searcher.passages}
    rows = [
        (path.name, row)
        for path in paths
        for row in load_questions(path)
        if all(a.get("doc") in (None, *documents) for a in row.get("accept") or [])
    ]
    vectors = searcher.embed_queries([row["question"] for _, row in rows])
    order = {p.id: i for i, p in enumerate(sorted(searcher.passages, key=lambda p: p.id))}
    examples = []
    for (source, row), vector in zip(rows, vectors, strict=True):
        scored = searcher.score(row["question"], vector)
        accept = row.get("accept") or []
        results = [_result_view(searcher, int(r)) for r in scored.rows]
        labels = np.array([bool(accept) and answers(result, accept) for result in results])
        example = Example(
            id=row["id"],
            source=source,
            corpus=corpus,
            searcher=searcher,
            kind=row.get("kind", "?"),
            group=f"{source}:{row.get('group', row['id'])}",
            text=row["question"],
            answerable=not row.get("out_of_scope", False),
            scored=scored,
            labels=labels,
            tie_break=np.array([order[searcher.passages[int(r)].id] for r in scored.rows]),
        )
        strings = [normalise_answer(s) for a in accept for s in a["contains"]]
        for position in np.flatnonzero(labels).tolist():
            passage = searcher.passages[int(scored.rows[position])]
            example.sentence_labels[position] = [
                any(s in normalise_answer(passage.text[a:b]) for s in strings) for a, b in passage.sentences
            ]
        examples.append(example)
    return examples


def _result_view(searcher: Searcher, row: int) -> dict[str, Any]:
    """A candidate as the scorer sees a result: text, citations, section, document."""
    passage = searcher.passages[row]
    citations = [
        {"citation": searcher.index.reference(passage.doc_id, n).citation} for n in passage.references
    ]
    section = section_ref(passage).model_dump()
    return {"text": passage.text, "references": citations, "section": section, "doc": {"id": passage.doc_id}}


# ---------------------------------------------------------------- the learners


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def fit_ranker(examples: Sequence[Example], l2: float, columns: Sequence[int]) -> LinearModel:
    """Conditional logit over each answerable question's candidates; weights for `columns` only."""
    usable = [e for e in examples if e.answerable and e.labels.any()]
    stacked = np.vstack([e.features[:, columns] for e in usable])
    mean, scale = _standardise(stacked)
    x = (stacked - mean) / scale
    positive = np.concatenate([e.labels for e in usable]).astype(np.float64)
    sizes = np.array([len(e.labels) for e in usable])
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    group = np.repeat(np.arange(len(usable)), sizes)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ w
        # Log-sum-exp per question, over all candidates and over those that answer, each
        # shifted by its own maximum so that no sum underflows to zero.
        top_all = np.maximum.reduceat(s, starts)
        top_pos = np.maximum.reduceat(np.where(positive > 0, s, -np.inf), starts)
        p_all = np.exp(s - top_all[group])
        p_pos = np.exp(np.where(positive > 0, s - top_pos[group], -np.inf))
        all_sum, pos_sum = np.add.reduceat(p_all, starts), np.add.reduceat(p_pos, starts)
        log_likelihood = (top_pos + np.log(pos_sum)) - (top_all + np.log(all_sum))
        total = -float(log_likelihood.sum()) + 0.5 * l2 * float(w @ w)
        coefficient = p_all / all_sum[group] - p_pos / pos_sum[group]
        return total / len(usable), (x.T @ coefficient + l2 * w) / len(usable)

    found = minimize(loss, np.zeros(len(columns)), jac=True, method="L-BFGS-B")
    weights = np.zeros(len(PASSAGE_FEATURES))
    weights[list(columns)] = found.x / scale
    return LinearModel(PASSAGE_FEATURES, weights, bias=float(-(found.x / scale) @ mean))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float, names: tuple[str, ...], weight: np.ndarray | None = None
) -> LinearModel:
    """L2-regularised logistic regression, weights given in the features' own units."""
    mean, scale = _standardise(x)
    z = (x - mean) / scale
    sample = np.ones(len(y)) if weight is None else weight
    target = y.astype(np.float64)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        p = sigmoid(z @ w + b)
        eps = 1e-12
        nll = -(sample * (target * np.log(p + eps) + (1 - target) * np.log(1 - p + eps))).sum()
        residual = sample * (p - target)
        grad = np.concatenate((z.T @ residual + l2 * w, [residual.sum()]))
        return float(nll + 0.5 * l2 * w @ w) / len(y), grad / len(y)

    found = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    w = found.x[:-1] / scale
    return LinearModel(names, w, bias=float(found.x[-1] - w @ mean))


def calibrate(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Platt scaling: the slope and intercept that make sigmoid(slope * score + intercept) a probability."""
    model = fit_logistic(scores.reshape(-1, 1), labels, l2=1e-3, names=("score",))
    return float(model.weights[0]), model.bias


# ---------------------------------------------------------------- folds and rankings


def grouped_folds(examples: Sequence[Example], k: int, seed: int) -> list[np.ndarray]:
    """k folds of example indices; the examples of one group always share a fold."""
    groups = sorted({e.group for e in examples})
    shuffled = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {groups[g]: i % k for i, g in enumerate(shuffled.tolist())}
    return [np.array([i for i, e in enumerate(examples) if fold_of[e.group] == f]) for f in range(k)]


def first_answer_rank(example: Example, probabilities: np.ndarray) -> int | None:
    """The rank of the first answering candidate, ordered as the searcher orders them."""
    order = np.lexsort((example.tie_break, -np.round(probabilities, 6)))
    hits = np.flatnonzero(example.labels[order])
    return int(hits[0]) + 1 if len(hits) else None


@dataclass
class FittedFold:
    ranker: LinearModel
    scope: LinearModel
    highlight: LinearModel


def fit_models(examples: Sequence[Example], columns: Sequence[int], seed: int) -> FittedFold:
    """All three models from these examples; inner cross-validation picks L2 and the calibrations."""
    l2 = _choose_l2(examples, columns, seed)
    inner = _out_of_fold_scores(examples, l2, columns, seed)
    ranker = fit_ranker(examples, l2, columns)
    scores = np.concatenate([inner[i] for i in range(len(examples))])
    labels = np.concatenate([e.labels for e in examples])
    slope, intercept = calibrate(scores, labels)
    calibrated = LinearModel(ranker.features, ranker.weights, ranker.bias, slope, intercept)
    out_of_fold = {i: sigmoid(slope * s + intercept) for i, s in inner.items()}
    scope = _fit_scope(examples, out_of_fold, seed)
    highlight = _fit_highlight(examples, out_of_fold)
    return FittedFold(calibrated, scope, highlight)


def _choose_l2(examples: Sequence[Example], columns: Sequence[int], seed: int) -> float:
    def inner_mrr(l2: float) -> float:
        scores = _out_of_fold_scores(examples, l2, columns, seed + 1)
        ranks = [first_answer_rank(e, scores[i]) for i, e in enumerate(examples) if e.answerable]
        return sum(1 / r for r in ranks if r is not None and r <= RANKED) / max(len(ranks), 1)

    return max(L2_GRID, key=inner_mrr)


def _out_of_fold_scores(
    examples: Sequence[Example], l2: float, columns: Sequence[int], seed: int
) -> dict[int, np.ndarray]:
    scores: dict[int, np.ndarray] = {}
    for test in grouped_folds(examples, FOLDS, seed):
        held = set(test.tolist())
        model = fit_ranker([e for i, e in enumerate(examples) if i not in held], l2, columns)
        for i in test.tolist():
            scores[i] = model.score(examples[i].features)
    return scores


def _scope_rows(examples: Sequence[Example], probabilities: dict[int, np.ndarray]) -> np.ndarray:
    rows = []
    for i, example in enumerate(examples):
        scored = example.scored
        with_probabilities = replace(scored, probabilities=probabilities[i])
        rows.append(example.searcher.scope_row(with_probabilities, list(range(len(scored.rows)))))
    return np.vstack(rows)


def _fit_scope(examples: Sequence[Example], probabilities: dict[int, np.ndarray], seed: int) -> LinearModel:
    x = _scope_rows(examples, probabilities)
    y = np.array([e.answerable for e in examples])
    # Out-of-fold scope probabilities of the answerable questions set the threshold.
    held_out = np.zeros(len(examples))
    for test in grouped_folds(examples, FOLDS, seed + 2):
        train = np.setdiff1d(np.arange(len(examples)), test)
        model = fit_logistic(x[train], y[train], l2=1.0, names=SCOPE_FEATURES)
        held_out[test] = model.probability(x[test])
    model = fit_logistic(x, y, l2=1.0, names=SCOPE_FEATURES)
    return LinearModel(model.features, model.weights, model.bias, threshold=rejection_threshold(held_out[y]))


def rejection_threshold(answerable: np.ndarray) -> float:
    """The highest threshold that rejects at most TARGET_REJECTION of these probabilities."""
    ordered = np.sort(answerable)
    allowed = int(math.floor(TARGET_REJECTION * len(ordered)))
    return float(ordered[allowed]) if len(ordered) else 0.5


def _sentence_rows(
    examples: Sequence[Example], probabilities: dict[int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for i, example in enumerate(examples):
        chosen = set(np.argsort(-probabilities[i])[:HIGHLIGHT_CANDIDATES].tolist()) | set(
            example.sentence_labels
        )
        for position in sorted(chosen):
            row = int(example.scored.rows[position])
            chance = float(probabilities[i][position])
            features = example.searcher.sentence_features(row, chance, example.scored)
            wanted = example.sentence_labels.get(position, [False] * len(features))
            rows.append(features)
            labels.extend(wanted)
    return np.vstack(rows), np.array(labels)


def _fit_highlight(examples: Sequence[Example], probabilities: dict[int, np.ndarray]) -> LinearModel:
    x, y = _sentence_rows(examples, probabilities)
    model = fit_logistic(x, y, l2=1.0, names=SENTENCE_FEATURES)
    return LinearModel(model.features, model.weights, model.bias, threshold=_best_f1(model.probability(x), y))


def _best_f1(probabilities: np.ndarray, wanted: np.ndarray) -> float:
    """The threshold at which highlighting the sentences at or above it has the best F1."""
    best, chosen = -1.0, HIGHLIGHT_THRESHOLD
    for threshold in np.unique(np.round(probabilities, 3)):
        shown = probabilities >= threshold
        right = float((shown & wanted).sum())
        f1 = 2 * right / (shown.sum() + wanted.sum()) if shown.sum() + wanted.sum() else 0.0
        if f1 > best:
            best, chosen = f1, float(threshold)
    return chosen


# ---------------------------------------------------------------- cross-validation


@dataclass
class Outcome:
    """What a held-out question got from models fitted without it."""

    example: Example
    rank: int | None
    in_scope: bool
    scope_probability: float
    highlights_right: int = 0
    highlights_shown: int = 0
    answer_sentences: int = 0
    top_highlighted: bool = False  # the first result shows a highlight


@dataclass
class CrossValidation:
    outcomes: list[list[Outcome]]  # one list per repeat, one outcome per question


def cross_validate(
    examples: Sequence[Example],
    columns: Sequence[int] | None = None,
    repeats: int = REPEATS,
    progress: Callable[[str], None] = lambda _: None,
) -> CrossValidation:
    columns = list(range(len(PASSAGE_FEATURES))) if columns is None else list(columns)
    runs: list[list[Outcome]] = []
    for repeat in range(repeats):
        seed = SEED + 100 * repeat
        outcomes: dict[int, Outcome] = {}
        for number, test in enumerate(grouped_folds(examples, FOLDS, seed), start=1):
            held = set(test.tolist())
            fitted = fit_models([e for i, e in enumerate(examples) if i not in held], columns, seed)
            for i in test.tolist():
                outcomes[i] = _outcome(examples[i], fitted)
            progress(f"repeat {repeat + 1}/{repeats}, fold {number}/{FOLDS}")
        runs.append([outcomes[i] for i in range(len(examples))])
    return CrossValidation(runs)


def _outcome(example: Example, fitted: FittedFold) -> Outcome:
    searcher = example.searcher
    probabilities = fitted.ranker.probability(example.features)
    scored = example.scored
    scored = replace(scored, probabilities=probabilities)
    row = searcher.scope_row(scored, list(range(len(scored.rows))))
    scope_probability = float(fitted.scope.probability(row[np.newaxis])[0])
    in_scope = scope_probability >= fitted.scope.threshold
    outcome = Outcome(example, first_answer_rank(example, probabilities), in_scope, scope_probability)
    top = int(np.lexsort((example.tie_break, -np.round(probabilities, 6)))[0])
    top_chance = fitted.highlight.probability(
        searcher.sentence_features(int(scored.rows[top]), float(probabilities[top]), scored)
    )
    outcome.top_highlighted = bool((top_chance >= fitted.highlight.threshold).any())
    for position, wanted in example.sentence_labels.items():
        passage_row = int(scored.rows[position])
        chance = fitted.highlight.probability(
            searcher.sentence_features(passage_row, float(probabilities[position]), scored)
        )
        shown = chance >= fitted.highlight.threshold
        outcome.highlights_shown += int(shown.sum())
        outcome.highlights_right += int((shown & np.array(wanted, dtype=bool)).sum())
        outcome.answer_sentences += sum(wanted)
    return outcome


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    answerable: int
    hit1: float
    hit3: float
    mrr10: float
    answerable_rejected: float
    off_topic: int
    off_topic_rejected: float | None


def figures(outcomes: Sequence[Outcome]) -> Figures:
    answerable = [o for o in outcomes if o.example.answerable]
    off_topic = [o for o in outcomes if not o.example.answerable]
    n = max(len(answerable), 1)
    ranks = [o.rank for o in answerable]
    return Figures(
        answerable=len(answerable),
        hit1=sum(r == 1 for r in ranks) / n,
        hit3=sum(r is not None and r <= 3 for r in ranks) / n,
        mrr10=sum(1 / r for r in ranks if r is not None and r <= RANKED) / n,
        answerable_rejected=sum(not o.in_scope for o in answerable) / n,
        off_topic=len(off_topic),
        off_topic_rejected=sum(not o.in_scope for o in off_topic) / len(off_topic) if off_topic else None,
    )


def spread(cv: CrossValidation, select: Callable[[Outcome], bool]) -> dict[str, tuple[float, float, float]]:
    """Each figure's mean over the repeats, and its lowest and highest repeat."""
    per_repeat = [figures([o for o in run if select(o)]) for run in cv.outcomes]
    result = {}
    for name in ("hit1", "hit3", "mrr10", "answerable_rejected", "off_topic_rejected"):
        values = [getattr(f, name) for f in per_repeat if getattr(f, name) is not None]
        if values:
            result[name] = (statistics.fmean(values), min(values), max(values))
    return result


def report_table(
    cv: CrossValidation,
    by: Callable[[Example], str],
    first_look: dict[str, dict[str, float]],
    only: Callable[[Example], bool] = lambda _: True,
) -> str:
    """A Markdown table: one row per value of `by` (of the examples `only` keeps), cross-validated
    figures (mean, min–max over repeats) beside the first-look ones where there are any."""
    cv = CrossValidation([[o for o in run if only(o.example)] for run in cv.outcomes])
    names = sorted({by(o.example) for o in cv.outcomes[0]})
    lines = [
        "| | answerable | hit@1 | hit@3 | MRR@10 | answerable rejected | off-topic | off-topic rejected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [*names, "all"]:
        chosen = [o for o in cv.outcomes[0] if name == "all" or by(o.example) == name]
        counts = figures(chosen)
        values = spread(cv, lambda o, n=name: n == "all" or by(o.example) == n)  # type: ignore[misc]
        look = first_look.get(name, {})
        cells = [
            _cell(values.get(key), look.get(key)) if counts.answerable else "–"
            for key in ("hit1", "hit3", "mrr10", "answerable_rejected")
        ]
        off = _cell(values.get("off_topic_rejected"), look.get("off_topic_rejected"))
        lines.append(f"| {name} | {counts.answerable} | {' | '.join(cells)} | {counts.off_topic} | {off} |")
    return "\n".join(lines)


def _cell(value: tuple[float, float, float] | None, first: float | None) -> str:
    if value is None:
        return "–"
    mean, low, high = value
    text = f"{mean:.3f} ({low:.3f}–{high:.3f})" if high - low >= 0.0005 else f"{mean:.3f}"
    return text + (f" ← {first:.3f}" if first is not None else "")


def describe(cv: CrossValidation, first_look: dict[str, dict[str, dict[str, float]]]) -> str:
    """The cross-validated figures by question set and by kind, first-look ones beside them (←)."""
    highlights = highlight_figures(cv)
    return "\n\n".join(
        [
            f"Cross-validated ({FOLDS} grouped folds, {len(cv.outcomes)} repeats): mean (lowest–highest "
            "repeat); ← the first-look figure, measured before anything was fitted to the questions.",
            report_table(cv, lambda e: e.label, first_look.get("sets", {})),
            "The blind questions by kind:",
            report_table(cv, lambda e: e.kind, first_look.get("kinds", {}), lambda e: e.label == BLIND),
            "Highlights: {precision:.3f} of highlighted sentences hold an expected answer, {recall:.3f} of "
            "those sentences are highlighted; the first result is highlighted for "
            "{answerable_top_highlighted:.3f} of answerable and {off_topic_top_highlighted:.3f} of off-topic "
            "questions.".format(**highlights),
            "The scope verdict's trade-off, had its threshold been set for another share of answerable "
            "questions turned away:",
            scope_tradeoff(cv),
        ]
    )


def scope_tradeoff(cv: CrossValidation, rejected: Sequence[float] = (0.01, 0.03, 0.05, 0.10, 0.20)) -> str:
    """What a stricter scope threshold would buy: for each share of answerable questions one is
    willing to turn away, the share of off-topic ones turned away (out-of-fold probabilities)."""
    lines = ["| answerable rejected at most | off-topic rejected |", "|---:|---:|"]
    for share in rejected:
        values = []
        for run in cv.outcomes:
            answerable = np.array([o.scope_probability for o in run if o.example.answerable])
            off_topic = np.array([o.scope_probability for o in run if not o.example.answerable])
            threshold = np.sort(answerable)[int(share * len(answerable))]
            values.append(float(np.mean(off_topic < threshold)))
        lines.append(f"| {share:.0%} | {statistics.fmean(values):.3f} |")
    return "\n".join(lines)


def highlight_figures(cv: CrossValidation) -> dict[str, float]:
    outcomes = [o for run in cv.outcomes for o in run]
    shown = sum(o.highlights_shown for o in outcomes)
    right = sum(o.highlights_right for o in outcomes)
    wanted = sum(o.answer_sentences for o in outcomes)
    off_topic = [o for o in outcomes if not o.example.answerable]
    answerable = [o for o in outcomes if o.example.answerable]
    return {
        "precision": right / shown if shown else 0.0,
        "recall": right / wanted if wanted else 0.0,
        "answerable_top_highlighted": sum(o.top_highlighted for o in answerable) / max(len(answerable), 1),
        "off_topic_top_highlighted": sum(o.top_highlighted for o in off_topic) / max(len(off_topic), 1),
    }


def misses(cv: CrossValidation) -> list[str]:
    """The questions the first repeat got wrong, for reading (never for fitting by hand)."""
    lines = []
    for o in cv.outcomes[0]:
        e = o.example
        if e.answerable and o.rank != 1:
            lines.append(f"{e.label} {e.id} [{e.kind}] rank={o.rank} scope={o.in_scope}: {e.text}")
        elif not e.answerable and o.in_scope:
            lines.append(f"{e.label} {e.id} [{e.kind}] off-topic judged in scope: {e.text}")
    return lines


def fit(examples: Sequence[Example], cv: CrossValidation | None = None) -> Models:
    """The models fitted on every example, with the cross-validated figures as their report."""
    fitted = fit_models(examples, list(range(len(PASSAGE_FEATURES))), SEED)
    # For an index without word-piece vectors (too large to store them): the same fit without them.
    plain = fit_models(examples, PLAIN_COLUMNS, SEED).ranker
    report: dict[str, Any] = {"questions": len(examples), "folds": FOLDS, "repeats": REPEATS}
    if cv is not None:
        report["cross_validated"] = {
            key: round(value[0], 4) for key, value in spread(cv, lambda _: True).items()
        }
        report["highlights"] = {k: round(v, 4) for k, v in highlight_figures(cv).items()}
    return Models(fitted.ranker, fitted.scope, fitted.highlight, report, plain_ranker=plain)


def group_counts(examples: Sequence[Example]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for e in examples:
        counts[e.source] += 1
    return dict(counts)
