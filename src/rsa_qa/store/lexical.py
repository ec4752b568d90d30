"""BM25 over the passages: for every passage on a small index, for candidates on a large one.

bm25s works out each (term, passage) weight once, when the index is built, and keeps them
term by term: for each term, the passages that contain it and their weights.
A question's BM25 score for a passage is the sum of the weights of the question's terms.

On a small index every passage is scored. On a large one that would cost time in
proportion to the corpus (a common term occurs in a good share of a million passages),
so the search asks two cheaper things instead:

    candidates(...)   passages holding the question's rarest terms, ranked by those terms'
                      weights: terms are taken rarest first while their passage lists fit
                      in a budget, so a question costs at most that many postings
    score_rows(...)   the exact score, every term included, of a few hundred passages,
                      read from a copy of the weights kept passage by passage
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence

import bm25s
import numpy as np
import scipy.sparse

# bm25s sets its own logger to DEBUG on import, which would print on every index build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

K1 = 1.2
B = 0.75


class LexicalIndex:
    """BM25 weights of passage_terms[i] for passage i; safe to query from several threads."""

    def __init__(self, passage_terms: Sequence[list[str]]) -> None:
        """Work out the weights of the given passages' terms (see from_arrays to read them back)."""
        size = len(passage_terms)
        bm25 = bm25s.BM25(k1=K1, b=B)
        # bm25s needs a token in every passage; an empty one gets "", which no question has.
        bm25.index([terms or [""] for terms in passage_terms], show_progress=False)
        weights = np.asarray(bm25.scores["data"], dtype=np.float32)
        rows = np.asarray(bm25.scores["indices"], dtype=np.int64)
        starts = np.asarray(bm25.scores["indptr"], dtype=np.int64)
        term_ids = {term: i for term, i in bm25.vocab_dict.items() if term and i + 1 < len(starts)}
        # The same weights passage by passage, for scoring a few hundred candidates: their
        # entries lie together, where looking each term up in its passage list would read
        # scattered bytes all over the index (and evict the model from the CPU's caches).
        by_passage = scipy.sparse.csc_matrix((weights, rows, starts), shape=(size, len(starts) - 1)).tocsr()
        self._adopt(
            size,
            term_ids,
            {
                "weights": weights,
                "rows": rows,
                "starts": starts,
                "passage_starts": by_passage.indptr.astype(np.int64),
                "passage_terms": by_passage.indices.astype(np.int64),
                "passage_weights": by_passage.data.astype(np.float32),
            },
        )

    # The arrays that are the index, by name, as to_arrays gives them and from_arrays takes them.
    ARRAYS = ("weights", "rows", "starts", "passage_starts", "passage_terms", "passage_weights")

    @classmethod
    def from_arrays(cls, size: int, term_ids: dict[str, int], arrays: dict[str, np.ndarray]) -> LexicalIndex:
        """The index to_arrays saved, without working anything out again (arrays may be mapped)."""
        index = cls.__new__(cls)
        index._adopt(size, term_ids, arrays)
        return index

    def to_arrays(self) -> tuple[int, dict[str, int], dict[str, np.ndarray]]:
        arrays = {name: getattr(self, f"_{name}") for name in self.ARRAYS}
        return self.size, dict(self._term_ids), arrays

    def _adopt(self, size: int, term_ids: dict[str, int], arrays: dict[str, np.ndarray]) -> None:
        self.size = size
        self._term_ids = term_ids
        self._weights = arrays["weights"]
        self._rows = arrays["rows"]
        self._starts = arrays["starts"]
        self._passage_starts = arrays["passage_starts"]
        self._passage_terms = arrays["passage_terms"]
        self._passage_weights = arrays["passage_weights"]
        frequency = np.diff(self._starts)
        # Passages holding each term: the scope check reads rare words from it.
        self.passage_frequency = {term: int(frequency[i]) for term, i in self._term_ids.items()}
        self._scratch = threading.local()

    def frequency_within(self, mask: np.ndarray) -> dict[str, int]:
        """For each term, how many of the passages where mask is true hold it."""
        counts = (
            np.add.reduceat(np.concatenate((mask[self._rows].astype(np.int64), [0])), self._starts[:-1])
            if len(self._rows)
            else np.zeros(len(self._starts) - 1, dtype=np.int64)
        )
        empty = self._starts[:-1] == self._starts[1:]  # reduceat gives the next value for an empty span
        counts[empty] = 0
        return {term: int(counts[i]) for term, i in self._term_ids.items() if counts[i] > 0}

    def rows_of(self, term: str) -> np.ndarray:
        """The passages holding term."""
        i = self._term_ids.get(term)
        return self._rows[self._starts[i] : self._starts[i + 1]] if i is not None else self._rows[:0]

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Ids of the terms the index knows; a repeated term counts again, as in bm25s."""
        return [self._term_ids[t] for t in terms if t in self._term_ids]

    def score_all(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(BM25 score, number of distinct terms present) of every passage."""
        if not ids:
            return np.zeros(self.size), np.zeros(self.size)
        rows, weights = self._postings(ids)
        scores = np.bincount(rows, weights=weights, minlength=self.size)
        matched = np.bincount(self._postings(sorted(set(ids)))[0], minlength=self.size)
        return scores, matched.astype(np.float64)

    def score_rows(self, rows: np.ndarray, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """score_all's two columns for the given passages only."""
        repeats = Counter(ids)
        wanted = np.array(sorted(repeats), dtype=np.int64)
        owner, entries, place = self._entries_of(rows, wanted)
        times = np.array([repeats[t] for t in wanted.tolist()], dtype=np.float64)
        weights = self._passage_weights[entries] * times[place]
        scores = np.bincount(owner, weights=weights, minlength=len(rows))
        matched = np.bincount(owner, minlength=len(rows)).astype(np.float64)
        return scores, matched

    def presence(
        self, ids: Sequence[int], term_weights: Sequence[float], rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Per passage (every one, or those in rows): the sum of term_weights[i] over the
        distinct terms ids[i] it contains. ids must be distinct."""
        size = self.size if rows is None else len(rows)
        if not ids:
            return np.zeros(size)
        weight_of = dict(zip(ids, term_weights, strict=True))
        wanted = np.array(sorted(weight_of), dtype=np.int64)
        per_term = np.array([weight_of[t] for t in wanted.tolist()], dtype=np.float64)
        if rows is None:
            found, owners = [], []
            for position, term in enumerate(wanted.tolist()):
                start, end = self._starts[term], self._starts[term + 1]
                found.append(self._rows[start:end])
                owners.append(np.full(end - start, position))
            return np.bincount(
                np.concatenate(found), weights=per_term[np.concatenate(owners)], minlength=size
            )
        owner, _, place = self._entries_of(rows, wanted)
        return np.bincount(owner, weights=per_term[place], minlength=size)

    def _entries_of(self, rows: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The (term, weight) entries of the given passages whose term is in wanted (sorted):
        for each, which of rows it belongs to, its place in the passage-major arrays, and
        its term's place in wanted."""
        starts = self._passage_starts[rows]
        lengths = self._passage_starts[rows + 1] - starts
        # Every (term, weight) entry of the given passages, and which of them each belongs to.
        entries = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
        owner = np.repeat(np.arange(len(rows)), lengths)
        terms = self._passage_terms[entries]
        place = np.minimum(np.searchsorted(wanted, terms), max(len(wanted) - 1, 0))
        asked = (wanted[place] == terms) if len(wanted) else np.zeros(len(terms), dtype=bool)
        return owner[asked], entries[asked], place[asked]

    def candidates(
        self, ids: Sequence[int], count: int, budget: int, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        """Up to count passages best by the weights of the question's rarest terms; only
        passages allowed (a flag per passage) when given.

        Terms are taken rarest first while their passage lists add up to at most budget
        postings: the common ones weigh little in BM25 and would cost the most to add up.
        A question whose every term is that common gets none: its words are too common to
        pick passages by, and the vector candidates stand alone.
        """
        repeats = Counter(ids)
        chosen: list[int] = []
        spent = 0
        for term in sorted(repeats, key=lambda t: self._starts[t + 1] - self._starts[t]):
            size = int(self._starts[term + 1] - self._starts[term])
            if spent + size > budget:
                break
            chosen.append(term)
            spent += size
        if not chosen:
            return np.zeros(0, dtype=np.int64)
        scores = self._scratch_scores()
        touched = []
        for term in chosen:
            start, end = self._starts[term], self._starts[term + 1]
            rows = self._rows[start:end]
            touched.append(rows[scores[rows] == 0])  # weights are positive: 0 means not seen yet
            scores[rows] += repeats[term] * self._weights[start:end]  # rows are distinct within a term
        rows = np.concatenate(touched)
        values = scores[rows]
        scores[rows] = 0.0  # leave the scratch clean for the next question
        if allowed is not None:
            rows, values = rows[allowed[rows]], values[allowed[rows]]
        if len(rows) > count:
            rows = rows[np.argpartition(-values, count - 1)[:count]]
        return rows

    def _scratch_scores(self) -> np.ndarray:
        """A zeroed array of one score per passage, one per thread, reused between questions."""
        scores: np.ndarray | None = getattr(self._scratch, "scores", None)
        if scores is None:
            scores = self._scratch.scores = np.zeros(self.size, dtype=np.float32)
        return scores

    def _postings(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        spans = [(self._starts[t], self._starts[t + 1]) for t in ids]
        rows = np.concatenate([self._rows[s:e] for s, e in spans])
        weights = np.concatenate([self._weights[s:e] for s, e in spans])
        return rows, weights
