"""Query → ranked passages: dense and lexical scores fused, highlights, abstention.

Dense: cosine between the question and each passage, and between the question and each
sentence of the passage (the best sentence counts: one precise sentence in a longer
passage should not be diluted by the rest). Lexical: BM25 over the passage, its section
title and the full citations it carries, so an author's name finds the citing passage.
The two are fused as a weighted sum of calibrated scores; ties are broken by passage id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rsa_qa.pipeline.chunk import Passage, section_context
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.search.scope import ScopeVerdict, judge_scope
from rsa_qa.store.lexical import LexicalIndex
from rsa_qa.store.load import LoadedIndex
from rsa_qa.store.vector_index import exact_vectors
from rsa_qa.text import normalise, search_terms

# Weights of the three kinds of evidence, measured with `make eval` on our own questions.
# Dense: the better of the passage's and its best sentence's cosine. Lexical: BM25
# squashed into [0, 1) by score / (score + LEXICAL_HALF), so one rare term cannot swamp
# the meaning. Coverage: the share of the question's content words the passage contains.
DENSE_WEIGHT = 0.50
LEXICAL_WEIGHT = 0.27
COVERAGE_WEIGHT = 0.23
LEXICAL_HALF = 6.0
# "Which reference / study / source …" asks for a cited claim: passages that carry a
# citation get this much more.
CITATION_BOOST = 0.1
_CITATION_INTENT = re.compile(
    r"\b(?:references?|cit(?:e|es|ed|ing|ation|ations)|sources?|bibliograph\w*|literature)\b",
    re.IGNORECASE,
)
MAX_HIGHLIGHTS = 2
# On an index larger than this, only the best passages by dense and by BM25 score (this
# many of each) are scored in full; on the article every passage is.
SEARCH_CANDIDATES = 100
# The BM25 candidates of a large index come from the question's rarest terms, as many as
# have at most this many (term, passage) postings between them (lexical.py).
LEXICAL_BUDGET = 25_000
# Folded passage texts and sentence terms are kept once computed, up to this many of each;
# then the memo starts afresh, so that on a large index it cannot grow without bound.
_MEMO_LIMIT = 1 << 16


@dataclass(frozen=True)
class SearchOptions:
    top_k: int = 5
    sections: tuple[str, ...] | None = None
    docs: tuple[str, ...] | None = None
    min_score: float | None = None
    expand: int = 0


@dataclass(frozen=True)
class Highlight:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    passage: Passage
    rank: int
    score: float
    dense: float
    lexical: float
    coverage: float
    highlights: tuple[Highlight, ...] = ()
    context_for: str | None = None


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    scope: ScopeVerdict


@dataclass(frozen=True)
class _Scores:
    """Scores of the passages in rows (all of them on a small index), aligned with rows."""

    rows: np.ndarray
    fused: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    coverage: np.ndarray
    sentence_cosines: np.ndarray | dict[int, float]


class Searcher:
    """Holds an index and a model; search() is safe to call from several threads."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        candidates: int = SEARCH_CANDIDATES,
        lexical_budget: int = LEXICAL_BUDGET,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.lexical_budget = lexical_budget
        self.passages = index.passages
        # A view of the index's own store: self.index keeps it alive as long as this searcher.
        self._passage_matrix = exact_vectors(index.vectors)
        self._sentence_passage = np.array([r.passage for r in index.sentence_rows], dtype=np.int64)
        self.lexical = LexicalIndex([self._lexical_terms(p) for p in self.passages])
        self.passage_frequency = self.lexical.passage_frequency
        self.vocabulary = frozenset(self.passage_frequency)
        self._cites = np.array([1.0 if p.references else 0.0 for p in self.passages], dtype=np.float32)
        self._sentence_terms: dict[int, frozenset[str]] = {}  # filled as sentences are highlighted
        self._folded_texts: dict[int, str] = {}  # filled as passages are selected (see _MEMO_LIMIT)
        self._all_rows = np.arange(len(self.passages))
        # Passage r's sentence rows are _sentence_list[_sentence_at[r]:_sentence_at[r + 1]].
        self._sentence_list = np.argsort(self._sentence_passage, kind="stable")
        counts = np.bincount(self._sentence_passage, minlength=len(self.passages))
        self._sentence_at = np.concatenate(([0], np.cumsum(counts)))
        ids = [p.id for p in self.passages]
        # Each passage's place among the ids in order, the tie-break of the ranking.
        self._id_rank = np.empty(len(ids), dtype=np.int64)
        self._id_rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
        self._position = {passage_id: i for i, passage_id in enumerate(ids)}

    def passage_by_id(self, passage_id: str) -> Passage | None:
        row = self._position.get(passage_id)
        return None if row is None else self.passages[row]

    def _lexical_terms(self, passage: Passage) -> list[str]:
        citations = " ".join(self.index.reference(passage.doc_id, n).citation for n in passage.references)
        return search_terms(f"{section_context(passage.section)} {passage.text} {citations}")

    def embed_query(self, query: str) -> np.ndarray:
        return np.asarray(self.embedder.encode([normalise(query)])[0], dtype=np.float32)

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """One encode call for many questions; row i matches embed_query(queries[i]) to float precision."""
        return np.asarray(self.embedder.encode([normalise(q) for q in queries]), dtype=np.float32)

    def search(
        self, query: str, options: SearchOptions, query_vector: np.ndarray | None = None
    ) -> SearchResult:
        vector = self.embed_query(query) if query_vector is None else query_vector
        terms = search_terms(query)
        scores = self._score(vector, terms, asks_for_citation(query))
        ranked = self._rank(scores)
        scope = judge_scope(
            query,
            best_score=float(scores.fused[ranked[0]]) if ranked else 0.0,
            query_terms=terms,
            vocabulary=self.vocabulary,
            passage_frequency=self.passage_frequency,
        )
        selected = self._select(ranked, scores, options)
        hits = [self._hit(i, rank, scores, terms) for rank, i in enumerate(selected, start=1)]
        return SearchResult(hits=self._expand(hits, options.expand), scope=scope)

    def _score(self, vector: np.ndarray, terms: list[str], citation_intent: bool) -> _Scores:
        ids = self.lexical.term_ids(terms)
        sentence_cosines: np.ndarray | dict[int, float]
        if len(self.passages) <= self.candidates:
            rows = self._all_rows
            dense = self._passage_matrix @ vector
            every_sentence: np.ndarray = self.index.sentence_vectors @ vector
            np.maximum.at(dense, self._sentence_passage, every_sentence)
            sentence_cosines = every_sentence
            bm25, matched = self.lexical.score_all(ids)
        else:
            rows = self._candidate_rows(vector, ids)
            dense = self._passage_matrix[rows] @ vector
            sentences = self._sentences_of(rows)
            cosines = self.index.sentence_vectors[sentences] @ vector
            np.maximum.at(dense, np.searchsorted(rows, self._sentence_passage[sentences]), cosines)
            sentence_cosines = dict(zip(sentences.tolist(), cosines.tolist(), strict=True))
            bm25, matched = self.lexical.score_rows(rows, ids)
        lexical = bm25 / (bm25 + LEXICAL_HALF)
        # Share of the question's distinct terms in the passage; unknown terms count as missing.
        coverage = matched / len(set(terms)) if terms else np.zeros(len(rows))
        fused = DENSE_WEIGHT * dense + LEXICAL_WEIGHT * lexical + COVERAGE_WEIGHT * coverage
        if citation_intent:
            fused = fused + CITATION_BOOST * self._cites[rows]
        return _Scores(
            rows,
            fused.astype(np.float32),
            dense.astype(np.float32),
            lexical.astype(np.float32),
            coverage.astype(np.float32),
            sentence_cosines,
        )

    def _select(self, ranked: list[int], scores: _Scores, options: SearchOptions) -> list[int]:
        """The first top_k ranked positions in the wanted sections, above min_score, of distinct text."""
        selected: list[int] = []
        seen: set[str] = set()
        for position in ranked:
            row = int(scores.rows[position])
            if not self._section_allowed(row, options.sections) or not self._doc_allowed(row, options.docs):
                continue
            if options.min_score is not None and scores.fused[position] < options.min_score:
                continue
            text = self._folded_text(row)
            if text in seen:
                continue
            seen.add(text)
            selected.append(position)
            if len(selected) == options.top_k:
                break
        return selected

    def _folded_text(self, row: int) -> str:
        text = self._folded_texts.get(row)
        if text is None:
            if len(self._folded_texts) >= _MEMO_LIMIT:
                self._folded_texts.clear()
            text = self._folded_texts[row] = normalise(self.passages[row].text)
        return text

    def _candidate_rows(self, vector: np.ndarray, ids: list[int]) -> np.ndarray:
        """The passages nearest the question by the vector index, and those BM25 ranks best."""
        count = min(self.candidates, len(self.passages))
        _, nearest = self.index.vectors.search(vector.reshape(1, -1).astype(np.float32), count)
        lexical = self.lexical.candidates(ids, count, self.lexical_budget)
        rows = np.sort(np.concatenate((nearest[0][nearest[0] >= 0], lexical)))
        distinct: np.ndarray = rows[np.concatenate(([True], rows[1:] != rows[:-1]))]
        return distinct  # np.union1d does the same, several times slower on a few hundred rows

    def _sentences_of(self, rows: np.ndarray) -> np.ndarray:
        """The sentence rows of the given passages, passage by passage."""
        starts, ends = self._sentence_at[rows], self._sentence_at[rows + 1]
        counts = ends - starts
        # For each sentence to take: its passage's start, plus its place within the passage.
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        taken: np.ndarray = self._sentence_list[np.repeat(starts, counts) + within]
        return taken

    def _rank(self, scores: _Scores) -> list[int]:
        """Positions in scores, best first."""
        # Sorting by (-score, id) keeps ties in a fixed order between runs.
        rounded = np.round(scores.fused.astype(np.float64), 6)
        ranked: list[int] = np.lexsort((self._id_rank[scores.rows], -rounded)).tolist()
        return ranked

    def _section_allowed(self, row: int, sections: Sequence[str] | None) -> bool:
        if not sections:
            return True
        section = self.passages[row].section
        return any(section_matches(section.number, section.key, wanted) for wanted in sections)

    def _doc_allowed(self, row: int, docs: Sequence[str] | None) -> bool:
        return not docs or self.passages[row].doc_id in docs

    def _hit(self, position: int, rank: int, scores: _Scores, terms: list[str]) -> Hit:
        row = int(scores.rows[position])
        return Hit(
            passage=self.passages[row],
            rank=rank,
            score=float(scores.fused[position]),
            dense=float(scores.dense[position]),
            lexical=float(scores.lexical[position]),
            coverage=float(scores.coverage[position]),
            highlights=self._highlights(row, scores.sentence_cosines, terms),
        )

    def _highlights(
        self, row: int, sentence_cosines: np.ndarray | dict[int, float], terms: list[str]
    ) -> tuple[Highlight, ...]:
        """The passage's sentences that best match the question, in reading order."""
        rows = self._sentence_list[self._sentence_at[row] : self._sentence_at[row + 1]].tolist()
        if not rows:
            return ()
        wanted = set(terms)
        passage = self.passages[row]
        scored = []
        for r in rows:
            sentence = self.index.sentence_rows[r]
            overlap = len(wanted & self._terms_of_sentence(r))
            coverage = overlap / len(wanted) if wanted else 0.0
            scored.append((float(sentence_cosines[r]) + 0.3 * coverage, sentence))
        scored.sort(key=lambda pair: -pair[0])
        best = scored[0][0]
        chosen = [s for score, s in scored[:MAX_HIGHLIGHTS] if score >= best - 0.1]
        chosen.sort(key=lambda s: s.start)
        return tuple(Highlight(passage.text[s.start : s.end], s.start, s.end) for s in chosen)

    def _terms_of_sentence(self, row: int) -> frozenset[str]:
        terms = self._sentence_terms.get(row)
        if terms is None:
            sentence = self.index.sentence_rows[row]
            text = self.passages[sentence.passage].text[sentence.start : sentence.end]
            if len(self._sentence_terms) >= _MEMO_LIMIT:
                self._sentence_terms.clear()
            terms = self._sentence_terms[row] = frozenset(search_terms(text))
        return terms

    def _expand(self, hits: list[Hit], width: int) -> list[Hit]:
        """Add the passages before and after each hit, in the same section, as context."""
        if width <= 0:
            return hits
        shown = {h.passage.id for h in hits}
        expanded: list[Hit] = []
        for hit in hits:
            expanded.append(hit)
            row = self._position[hit.passage.id]
            for neighbour in range(row - width, row + width + 1):
                if 0 <= neighbour < len(self.passages) and neighbour != row:
                    passage = self.passages[neighbour]
                    same_section = (passage.doc_id, passage.section.key) == (
                        hit.passage.doc_id,
                        hit.passage.section.key,
                    )
                    if same_section and passage.id not in shown:
                        shown.add(passage.id)
                        expanded.append(Hit(passage, hit.rank, 0.0, 0.0, 0.0, 0.0, (), hit.passage.id))
        return expanded


def asks_for_citation(query: str) -> bool:
    return _CITATION_INTENT.search(query) is not None


def section_matches(number: str | None, key: str, wanted: str) -> bool:
    """ "3" matches 3, 3.1 … 3.4; "abstract" matches the Abstract; "3.2" only 3.2."""
    wanted = wanted.strip().rstrip(".").lower()
    if number is not None and (number == wanted or number.startswith(wanted + ".")):
        return True
    return key == wanted.replace(" ", "-")
