"""The evidence a ranking is made from: one row of features per candidate passage, and one
row per question for the scope verdict.

Both the searcher (at query time) and the fitting (offline, over the question sets) build
features here, so the model is always applied to exactly what it was fitted on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rsa_qa.pipeline.chunk import Passage, section_context
from rsa_qa.pipeline.document import ABSTRACT, FRONT_MATTER, KEYWORDS, REFERENCES
from rsa_qa.search.question import Question, idf
from rsa_qa.text import search_terms

# BM25 squashed into [0, 1) by score / (score + LEXICAL_HALF): one rare term cannot swamp the rest.
LEXICAL_HALF = 6.0
_DIGIT = re.compile(r"\d")
# Rank features count only the best this many candidates (every index gathers at least these).
RANK_DEPTH = 10

PASSAGE_FEATURES = (
    "dense_passage",  # cosine of the question with the passage (its section title included)
    "dense_sentence",  # cosine with the passage's best sentence
    "dense_gap",  # the better of the two, minus the best candidate's
    "dense_section",  # cosine with the mean of the passage's section (what the section is about)
    "dense_feedback",  # cosine with the question moved towards its best passages (pseudo-relevance)
    "dense_rank",  # 1 / the passage's rank among the candidates by its better cosine
    "lexical",  # BM25 over passage, section title and cited references, squashed
    "lexical_rank",  # 1 / its rank by BM25
    "lexical_share",  # BM25 as a share of the best candidate's
    "coverage",  # share of the question's distinct terms in the passage
    "weighted_coverage",  # the same, each term weighted by its rarity (idf)
    "title_coverage",  # share of the question's terms in the section title
    "name_match",  # share of the names in the question that the passage holds
    "cites_x_citation",  # the passage cites a reference and the question asks for one
    "cites_x_work",  # … and the question mentions a study, paper, journal or author
    "reference_entry",  # the passage is an entry of a reference list
    "reference_x_citation",  # … and the question asks for a reference
    "reference_x_work",  # … and the question mentions a study, paper, journal or author
    "front_matter",  # title, authors, affiliation, DOI
    "front_x_structure",  # … and the question asks about the document itself
    "keywords",  # the Keywords part
    "keywords_x_structure",  # … asked about the document itself
    "abstract",  # the Abstract
    "number_x_quantity",  # the passage holds a number and the question asks for a quantity
    "log_length",  # log(1 + words in the passage)
    # Late interaction (ColBERT's MaxSim, untrained): each word piece of the question matched
    # to its most similar word piece of the passage, the cosines averaged. 0 on an index
    # without word-piece vectors, which is then ranked by a model fitted without it.
    "late_interaction",
)

SCOPE_FEATURES = (
    "best_probability",  # the ranker's probability for the best allowed passage
    "best_dense",  # the best cosine with a passage or sentence among them
    "best_section",  # the best cosine with a section's mean
    "best_lexical",
    "best_weighted_coverage",
    "body_coverage",  # share of the question's terms found in the body (not front matter or references)
    "body_weighted_coverage",  # the same, weighted by rarity
    "known_names",  # share of the question's names found in the body, rare there
    "unknown_names",  # share of the question's names found nowhere in the articles
    "missing_technical",  # words the body lacks that are rare in English (split by the tokenizer)
    "missing_common",  # words the body lacks that are common English (one word piece)
    "asks_structure",
    "structure_x_unknown_names",  # asks about a document, but names one the articles do not hold
    "log_words",
    # How much text the evidence was drawn from: a bigger corpus holds more of any
    # question's words, so the same coverage says less.
    "log_body_passages",
)


@dataclass(frozen=True)
class PassageTable:
    """What features need of each passage, computed once per index."""

    cites: np.ndarray
    reference_entry: np.ndarray
    front_matter: np.ndarray
    keywords: np.ndarray
    abstract: np.ndarray
    has_number: np.ndarray
    log_length: np.ndarray
    body: np.ndarray
    # The search terms of each section's title and path, and each passage's section among them.
    section_terms: tuple[frozenset[str], ...]
    section_owner: np.ndarray

    # The per-passage columns, as arrays (what an index saves of the table).
    ARRAYS = (
        "cites", "reference_entry", "front_matter", "keywords", "abstract", "has_number", "log_length", "body"
    )  # fmt: skip

    def title_terms(self, row: int) -> frozenset[str]:
        return self.section_terms[int(self.section_owner[row])]

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], section_terms: tuple[frozenset[str], ...], owner: np.ndarray
    ) -> PassageTable:
        return cls(
            **{name: arrays[name] for name in cls.ARRAYS}, section_terms=section_terms, section_owner=owner
        )

    @classmethod
    def of(cls, passages: Sequence[Passage]) -> PassageTable:
        def flag(test: list[bool]) -> np.ndarray:
            return np.array(test, dtype=np.float32)

        titles = [p.section.title for p in passages]
        reference_entry = flag([t == REFERENCES for t in titles])
        front_matter = flag([t == FRONT_MATTER for t in titles])
        keys = [(p.doc_id, p.section.key) for p in passages]
        number = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        section_of = dict(zip(keys, (p.section for p in passages), strict=True))
        return cls(
            cites=flag([bool(p.references) for p in passages]) * (1 - reference_entry),
            reference_entry=reference_entry,
            front_matter=front_matter,
            keywords=flag([t == KEYWORDS for t in titles]),
            abstract=flag([t == ABSTRACT for t in titles]),
            has_number=flag([_DIGIT.search(p.text) is not None for p in passages]),
            log_length=np.log1p(np.array([len(p.text.split()) for p in passages], dtype=np.float32)),
            body=(1 - reference_entry) * (1 - front_matter),
            section_terms=tuple(frozenset(search_terms(section_context(section_of[key]))) for key in number),
            section_owner=np.array([number[key] for key in keys], dtype=np.int64),
        )


@dataclass(frozen=True)
class Evidence:
    """The raw scores of the candidate passages in rows, aligned with rows."""

    rows: np.ndarray
    dense_passage: np.ndarray
    dense_sentence: np.ndarray
    dense_section: np.ndarray
    dense_feedback: np.ndarray
    bm25: np.ndarray
    matched: np.ndarray  # distinct question terms present
    weighted: np.ndarray  # idf of the distinct question terms present
    names: np.ndarray  # share of the question's names present
    late: np.ndarray  # late-interaction score (zeros without word-piece vectors)


def passage_features(
    question: Question, evidence: Evidence, table: PassageTable, total_idf: float
) -> np.ndarray:
    """One row of PASSAGE_FEATURES per candidate, in the order of evidence.rows."""
    rows = evidence.rows
    distinct = max(len(question.distinct), 1)
    dense_best = np.maximum(evidence.dense_passage, evidence.dense_sentence)
    best_bm25 = float(evidence.bm25.max()) if len(rows) else 0.0
    wanted = set(question.distinct)
    title_coverage = np.array(
        [len(wanted & table.title_terms(r)) / distinct for r in rows.tolist()], dtype=np.float32
    )
    citation = float(question.asks_citation)
    work = float(question.mentions_work)
    structure = float(question.asks_structure)

    def reciprocal_rank(values: np.ndarray) -> np.ndarray:
        """1 / (1 + how many distinct higher scores), 0 below the RANK_DEPTH best: ties share a
        rank, so a passage does not drop because another document holds the same text, and no
        rank depends on how many weaker candidates a large index gathered."""
        scores = np.unique(values)
        higher = len(scores) - np.searchsorted(scores, values, side="right")
        result: np.ndarray = np.where(higher < RANK_DEPTH, 1.0 / (1.0 + higher), 0.0)
        return result

    columns = {
        "dense_rank": reciprocal_rank(dense_best),
        "lexical_rank": np.where(evidence.bm25 > 0, reciprocal_rank(evidence.bm25), 0.0),
        "dense_passage": evidence.dense_passage,
        "dense_sentence": evidence.dense_sentence,
        "dense_section": evidence.dense_section,
        "dense_feedback": evidence.dense_feedback,
        "dense_gap": dense_best - (dense_best.max() if len(rows) else 0.0),
        "lexical": evidence.bm25 / (evidence.bm25 + LEXICAL_HALF),
        "lexical_share": evidence.bm25 / best_bm25 if best_bm25 > 0 else np.zeros(len(rows)),
        "coverage": evidence.matched / distinct,
        "weighted_coverage": evidence.weighted / total_idf if total_idf > 0 else np.zeros(len(rows)),
        "title_coverage": title_coverage,
        "name_match": evidence.names,
        "cites_x_citation": table.cites[rows] * citation,
        "cites_x_work": table.cites[rows] * work,
        "reference_entry": table.reference_entry[rows],
        "reference_x_citation": table.reference_entry[rows] * citation,
        "reference_x_work": table.reference_entry[rows] * work,
        "front_matter": table.front_matter[rows],
        "front_x_structure": table.front_matter[rows] * structure,
        "keywords": table.keywords[rows],
        "keywords_x_structure": table.keywords[rows] * structure,
        "abstract": table.abstract[rows],
        "number_x_quantity": table.has_number[rows] * float(question.asks_quantity),
        "log_length": table.log_length[rows],
        "late_interaction": evidence.late,
    }
    return np.column_stack([np.asarray(columns[name], dtype=np.float64) for name in PASSAGE_FEATURES])


# A name held by this few body passages or fewer identifies something in the articles.
RARE_NAME_PASSAGES = 2


def known_names(question: Question, body_frequency: Mapping[str, int]) -> list[str]:
    """The question's names that the articles' bodies hold, and rarely: "Christiansen", not "RSA"."""
    known = []
    for name in question.names:
        terms = search_terms(name)
        if terms and all(0 < body_frequency.get(t, 0) <= RARE_NAME_PASSAGES for t in terms):
            known.append(name)
    return known


def scope_features(
    question: Question,
    features: np.ndarray,
    probabilities: np.ndarray,
    body_frequency: Mapping[str, int],
    body_passages: int,
    word_pieces: Callable[[str], int],
    corpus_frequency: Mapping[str, int],
) -> np.ndarray:
    """One row of SCOPE_FEATURES: the question's evidence over the allowed candidates."""
    column = {name: i for i, name in enumerate(PASSAGE_FEATURES)}

    def best(*names: str) -> float:
        if not len(features):
            return 0.0
        return float(max(features[:, column[n]].max() for n in names))

    distinct = question.distinct
    in_body = [t for t in distinct if body_frequency.get(t, 0) > 0]
    weights = {t: idf(body_frequency, body_passages, t) for t in distinct}
    total = sum(weights.values())
    known = known_names(question, body_frequency)
    missing = [word for word, term in question.words if body_frequency.get(term, 0) == 0]
    technical = sum(word_pieces(word) > 1 for word in missing)
    unknown = (
        sum(all(corpus_frequency.get(t, 0) == 0 for t in search_terms(n)) for n in question.names)
        / len(question.names)
        if question.names
        else 0.0
    )
    row = {
        "best_probability": float(probabilities.max()) if len(probabilities) else 0.0,
        "best_dense": best("dense_passage", "dense_sentence"),
        "best_section": best("dense_section"),
        "best_lexical": best("lexical"),
        "best_weighted_coverage": best("weighted_coverage"),
        "body_coverage": len(in_body) / len(distinct) if distinct else 0.0,
        "body_weighted_coverage": sum(weights[t] for t in in_body) / total if total > 0 else 0.0,
        "known_names": len(known) / len(question.names) if question.names else 0.0,
        "unknown_names": unknown,
        "missing_technical": float(technical),
        "missing_common": float(len(missing) - technical),
        "asks_structure": float(question.asks_structure),
        "structure_x_unknown_names": float(question.asks_structure) * unknown,
        "log_words": math.log1p(question.word_count),
        "log_body_passages": math.log1p(body_passages),
    }
    return np.array([row[name] for name in SCOPE_FEATURES], dtype=np.float64)
