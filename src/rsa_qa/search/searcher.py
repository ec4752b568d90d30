"""Query → ranked passages: evidence gathered, a fitted ranker, a fitted scope verdict.

For each candidate passage (every passage of a small index; the nearest by vector and the
best by BM25 on a large one) the searcher gathers evidence (features.py): cosines of the
question with the passage and its best sentence, BM25 over the passage, its section title
and the citations it carries, the share of the question's terms it holds, and what kind of
passage it is. The fitted ranker (model.py) turns that into the probability that the
passage answers the question; results are ranked by it, ties broken by passage id. The
scope model judges, from the best allowed passages and the question's words, whether the
corpus answers the question at all; the highlight model picks the sentences that do.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from rsa_qa.errors import RsaQaError, UnknownFilter
from rsa_qa.pipeline.chunk import Passage
from rsa_qa.pipeline.embed import Embedder, token_vectors
from rsa_qa.search.features import (
    Evidence,
    known_names,
    passage_features,
    scope_features,
)
from rsa_qa.search.model import Models, load_models
from rsa_qa.search.question import Question, idf
from rsa_qa.search.scope import ScopeVerdict, judge_scope
from rsa_qa.search.tables import SearchTables
from rsa_qa.store.load import LoadedIndex
from rsa_qa.store.vector_index import Within, exact_vectors, search_within
from rsa_qa.text import normalise, search_terms

log = logging.getLogger(__name__)
MAX_HIGHLIGHTS = 2
# Pseudo-relevance feedback: the question vector plus this much of the mean of its best passages.
FEEDBACK_PASSAGES = 3
FEEDBACK_WEIGHT = 0.5
# On an index larger than this, only the best passages by dense and by BM25 score (this
# many of each) are scored in full; on the article every passage is.
SEARCH_CANDIDATES = 100
# The BM25 candidates of a large index come from the question's rarest terms, as many as
# have at most this many (term, passage) postings between them (lexical.py).
LEXICAL_BUDGET = 25_000
# Folded passage texts and sentence terms are kept once computed, up to this many of each;
# then the memo starts afresh, so that on a large index it cannot grow without bound.
_MEMO_LIMIT = 1 << 16
# Up to this many passage word pieces are held as float32 (200 MB at 384 dimensions).
_DEQUANTISED_TOKENS = 1 << 17
# A filter that leaves at most this many passages of a large index has them compared with
# the question one by one (a few ms); a wider one restricts the vector index's search.
FILTER_EXACT_ROWS = 20_000
# A database asked for a question's nearest passages answers while the searcher finds the
# BM25 candidates: this many questions' database queries at once per searcher (and so at most
# this many connections per replica); more wait their turn.
NEAREST_THREADS = 16


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
class Scored:
    """A question's candidates (all passages of a small index), their features and ranker output."""

    question: Question
    rows: np.ndarray
    features: np.ndarray
    probabilities: np.ndarray
    sentence_cosines: np.ndarray | dict[int, float]
    idf: dict[str, float]  # of each distinct question term, in this index


@dataclass(frozen=True)
class _Vocabulary:
    """What the scope model reads of a (sub-)corpus: passage frequencies of terms."""

    body_frequency: Mapping[str, int]
    body_passages: int
    frequency: Mapping[str, int]


class Searcher:
    """Holds an index, a model and the fitted ranking; search() is safe to call from several threads."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        candidates: int = SEARCH_CANDIDATES,
        lexical_budget: int = LEXICAL_BUDGET,
        models: Models | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.lexical_budget = lexical_budget
        self.models = models or load_models()
        self.passages = index.passages
        # A view of the index's own store: self.index keeps it alive as long as this searcher.
        self._passage_matrix = exact_vectors(index.vectors)
        # Read from the index when it was built with them, worked out otherwise (tables.py).
        tables = SearchTables.of(index)
        self.lexical = tables.lexical
        self.table = tables.table
        # Words the body's own text holds: not the front matter, a reference list, or the
        # citations a body passage is indexed with. An affiliation that says "France" or a
        # publisher in Vienna does not make a question about France or Vienna answerable.
        self.body_frequency = tables.body_frequency
        self.body_passages = tables.body_passages
        self._section_vectors, self._section_owner = tables.section_vectors, tables.table.section_owner
        self._section_keys = tables.section_keys
        self._citing = tables.citing
        self._tokens = tables.tokens
        # Word-piece vectors as float32 when few enough to hold (a library of papers): the
        # late-interaction score of every passage of a small index is then one product.
        self._token_matrix = (
            self._tokens.vectors.astype(np.float32) * self._tokens.scale[:, np.newaxis]
            if self._tokens is not None and len(self._tokens.vectors) <= _DEQUANTISED_TOKENS
            else None
        )
        self.ranker = self.models.ranker_for(self._tokens is not None)
        self._sentence_terms: dict[int, frozenset[str]] = {}  # filled as sentences are highlighted
        self._pieces: dict[str, int] = {}  # word pieces of question words, as they are asked
        self._folded_texts: dict[int, str] = {}  # filled as passages are selected (see _MEMO_LIMIT)
        self._all_rows = np.arange(len(self.passages))
        self._sentence_passage = np.asarray(index.sentence_rows.passage, dtype=np.int64)
        # Passage r's sentence rows are _sentence_list[_sentence_at[r]:_sentence_at[r + 1]].
        in_order = bool(np.all(self._sentence_passage[1:] >= self._sentence_passage[:-1]))
        self._sentence_list = (
            np.arange(len(self._sentence_passage))
            if in_order  # as a build writes them: no sort of millions of rows at start
            else np.argsort(self._sentence_passage, kind="stable")
        )
        counts = np.bincount(self._sentence_passage, minlength=len(self.passages))
        self._sentence_at = np.concatenate(([0], np.cumsum(counts)))
        self._id_rank = tables.id_rank
        self._position = {passage_id: i for i, passage_id in enumerate(tables.ids)}
        # Each passage's document and section as numbers, for filters over every passage.
        self._doc_number = {doc_id: i for i, doc_id in enumerate(index.documents)}
        self._doc_of = tables.doc_of
        self._section_names = tables.section_names
        self._section_of = tables.section_of
        self._asking = (
            ThreadPoolExecutor(NEAREST_THREADS, thread_name_prefix="rsa-qa-nearest")
            if index.nearest is not None
            else None
        )

    def passage_counts(self) -> Counter[tuple[str, str]]:
        """Passages per (document, section key), from the tables rather than the passages."""
        counts = np.bincount(self._section_owner, minlength=len(self._section_keys))
        pairs = zip(self._section_keys, counts.tolist(), strict=True)
        return Counter({key: int(n) for key, n in pairs if n})

    def passage_by_id(self, passage_id: str) -> Passage | None:
        row = self._position.get(passage_id)
        return None if row is None else self.passages[row]

    def citing(self, passage: Passage) -> list[Passage]:
        """For a reference-list entry: the passages of its article that cite it, in order."""
        if self.table.reference_entry[self._position[passage.id]] == 0:
            return []
        return [
            self.passages[row]
            for number in passage.references
            for row in self._citing.get((passage.doc_id, number), ())
        ]

    def embed_query(self, query: str) -> np.ndarray:
        return np.asarray(self.embedder.encode([normalise(query)])[0], dtype=np.float32)

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """One encode call for many questions; row i matches embed_query(queries[i]) to float precision."""
        return np.asarray(self.embedder.encode([normalise(q) for q in queries]), dtype=np.float32)

    def search(
        self, query: str, options: SearchOptions, query_vector: np.ndarray | None = None
    ) -> SearchResult:
        self.check_filters(options)
        mask = self._filter_mask(options) if options.sections or options.docs else None
        if mask is not None and not mask.any():  # e.g. a section that document does not have
            return SearchResult(hits=[], scope=_nothing_allowed(filtered=True))
        scored = self.score(query, query_vector, self._within(options, mask))
        ranked = self._rank(scored)
        if mask is None:
            allowed = ranked
        else:
            permitted = mask[scored.rows]
            allowed = [p for p in ranked if permitted[p]]
        scope = self._judge(scored, allowed, mask)
        selected = self._select(allowed, scored, options)
        hits = [self._hit(i, rank, scored) for rank, i in enumerate(selected, start=1)]
        return SearchResult(hits=self._expand(hits, options.expand), scope=scope)

    def score(
        self, query: str, query_vector: np.ndarray | None = None, within: Within | None = None
    ) -> Scored:
        """Every candidate's features and the ranker's probability that it answers the question.
        query_vector: the question's vector, or (from encode_with_tokens) its vector in row 0
        and its word pieces' vectors after it. within: on a large index, the passages a filter
        allows, so that the candidates are drawn from them."""
        vector, pieces = self._question_vectors(query, query_vector)
        question = Question.read(query)
        idf_of = {t: idf(self.lexical.passage_frequency, self.lexical.size, t) for t in question.distinct}
        evidence, sentence_cosines = self._evidence(question, vector, idf_of, pieces, within)
        features = passage_features(question, evidence, self.table, sum(idf_of.values()))
        # To 6 decimals, as responses show them: float noise between BLAS paths is not a difference.
        probabilities = np.round(self.ranker.probability(features), 6)
        return Scored(question, evidence.rows, features, probabilities, sentence_cosines, idf_of)

    def scope_row(
        self, scored: Scored, positions: Sequence[int], vocabulary: _Vocabulary | None = None
    ) -> np.ndarray:
        """The scope model's features for the question, over the given candidate positions,
        with the whole corpus's vocabulary or a filtered one."""
        chosen = np.asarray(positions, dtype=np.int64)
        vocabulary = vocabulary or _Vocabulary(
            self.body_frequency, self.body_passages, self.lexical.passage_frequency
        )
        return scope_features(
            scored.question,
            scored.features[chosen],
            scored.probabilities[chosen],
            vocabulary.body_frequency,
            vocabulary.body_passages,
            self._word_pieces,
            vocabulary.frequency,
        )

    def _question_vectors(self, query: str, given: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The question's vector, and its word pieces' vectors when the index can use them."""
        if given is not None and given.ndim == 2:
            return given[0], given[1:]
        encoded = token_vectors(self.embedder, normalise(query)) if self._tokens is not None else None
        if encoded is None:
            return (self.embed_query(query) if given is None else given), None
        return (encoded[0] if given is None else given), encoded[1:]

    def _late(self, rows: np.ndarray, pieces: np.ndarray | None) -> np.ndarray:
        """Late interaction: for each passage, the mean over the question's word pieces of
        the best cosine with one of the passage's word pieces."""
        tokens = self._tokens
        if tokens is None or pieces is None or not len(pieces):
            return np.zeros(len(rows), dtype=np.float32)
        starts, ends = tokens.start[rows], tokens.start[rows + 1]
        if self._token_matrix is not None and len(rows) == len(self.passages):
            matrix, offsets = self._token_matrix, starts  # every passage, in order
        else:
            taken = _spans(starts, ends)
            matrix = (
                self._token_matrix[taken]
                if self._token_matrix is not None
                else tokens.vectors[taken].astype(np.float32) * tokens.scale[taken, np.newaxis]
            )
            counts = ends - starts
            offsets = np.cumsum(counts) - counts
        best = np.maximum.reduceat(matrix @ pieces.T, offsets, axis=0)
        late: np.ndarray = best.mean(axis=1).astype(np.float32)
        return late

    def _evidence(
        self,
        question: Question,
        vector: np.ndarray,
        idf_of: dict[str, float],
        pieces: np.ndarray | None = None,
        within: Within | None = None,
    ) -> tuple[Evidence, np.ndarray | dict[int, float]]:
        known = [(term_id, idf_of[t]) for t in question.distinct for term_id in self.lexical.term_ids([t])]
        ids, weights = [i for i, _ in known], [w for _, w in known]
        repeated = self.lexical.term_ids(question.terms)
        name_ids, name_weights = self._name_terms(question)
        sentence_cosines: np.ndarray | dict[int, float]
        if len(self.passages) <= self.candidates:
            rows = self._all_rows
            dense = self._passage_matrix @ vector
            every_sentence: np.ndarray = self.index.sentence_vectors @ vector
            best_sentence = np.full(len(rows), -1.0, dtype=np.float32)
            np.maximum.at(best_sentence, self._sentence_passage, every_sentence)
            sentence_cosines = every_sentence
            bm25, matched = self.lexical.score_all(repeated)
            weighted = self.lexical.presence(ids, weights)
            names = self.lexical.presence(name_ids, name_weights)
        else:
            rows = self._candidate_rows(vector, repeated, within)
            dense = self._passage_matrix[rows] @ vector
            sentences = self._sentences_of(rows)
            cosines = self.index.sentence_vectors[sentences] @ vector
            best_sentence = np.full(len(rows), -1.0, dtype=np.float32)
            np.maximum.at(best_sentence, np.searchsorted(rows, self._sentence_passage[sentences]), cosines)
            sentence_cosines = dict(zip(sentences.tolist(), cosines.tolist(), strict=True))
            bm25, matched = self.lexical.score_rows(rows, repeated)
            weighted = self.lexical.presence(ids, weights, rows)
            names = self.lexical.presence(name_ids, name_weights, rows)
        # A passage without sentences (rare) counts its own cosine as its best sentence's.
        best_sentence = np.where(best_sentence < -0.5, dense, best_sentence)
        section = (self._section_vectors @ vector)[self._section_owner[rows]]
        feedback = self._feedback(vector, rows, np.maximum(dense, best_sentence))
        late = self._late(rows, pieces)
        evidence = Evidence(
            rows, dense, best_sentence, section, feedback, bm25, matched, weighted, names, late
        )
        return evidence, sentence_cosines

    def _feedback(self, vector: np.ndarray, rows: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """Cosines with the question moved towards the mean of its FEEDBACK_PASSAGES best passages."""
        best = rows[np.argsort(-dense, kind="stable")[:FEEDBACK_PASSAGES]]
        moved = vector + FEEDBACK_WEIGHT * self._passage_matrix[best].mean(axis=0)
        moved /= max(float(np.linalg.norm(moved)), 1e-12)
        result: np.ndarray = self._passage_matrix[rows] @ moved
        return result

    def _word_pieces(self, word: str) -> int:
        pieces = self._pieces.get(word)
        if pieces is None:
            if len(self._pieces) >= _MEMO_LIMIT:
                self._pieces.clear()
            pieces = self._pieces[word] = self.embedder.count_tokens(word)
        return pieces

    def _name_terms(self, question: Question) -> tuple[list[int], list[float]]:
        terms = list(dict.fromkeys(t for name in question.names for t in search_terms(name)))
        ids = self.lexical.term_ids(terms)
        return ids, [1.0 / len(terms)] * len(ids) if terms else []

    def filter_values(self) -> tuple[list[str], list[str]]:
        """The section and document values a filter may name: numbers ("3.2") and the keys
        of unnumbered parts ("abstract"), and document ids."""
        sections = list(dict.fromkeys(number or key for number, key in self._section_names))
        return sections, list(self.index.documents)

    def check_filters(self, options: SearchOptions) -> None:
        """UnknownFilter for a section or document the index does not hold."""
        for wanted in options.docs or ():
            if wanted not in self.index.documents:
                known = ", ".join(sorted(self.index.documents)[:10])
                raise UnknownFilter("docs", f"docs: no document {wanted!r} in the index (it holds: {known})")
        for wanted in options.sections or ():
            if not any(section_matches(number, key, wanted) for number, key in self._section_names):
                raise UnknownFilter(
                    "sections", f"sections: no section {wanted!r} in the index (GET /sections lists them)"
                )

    def _judge(self, scored: Scored, allowed: list[int], mask: np.ndarray | None) -> ScopeVerdict:
        """mask: under a filter, the passages it allows."""
        if not allowed:
            return _nothing_allowed(filtered=mask is not None)
        # The verdict looks at what is returned: the best allowed passages, and under a filter
        # the vocabulary of the filtered passages only, as if they were the whole corpus.
        scope = self._filtered_scope(scored.question, mask) if mask is not None else None
        row = self.scope_row(scored, allowed[: self.candidates], scope)
        probability = round(float(self.models.scope.probability(row[np.newaxis])[0]), 6)
        names = known_names(scored.question, scope.body_frequency if scope else self.body_frequency)
        return judge_scope(row, probability, self.models.scope.threshold, names)

    def _filtered_scope(self, question: Question, mask: np.ndarray) -> _Vocabulary:
        """Passage frequencies of the question's terms within the filtered passages."""
        body = mask & (self.table.body > 0)
        terms = list(
            dict.fromkeys([*question.distinct, *(t for n in question.names for t in search_terms(n))])
        )
        body_frequency, frequency = {}, {}
        for term in terms:
            rows = self.lexical.rows_of(term)
            frequency[term] = int(mask[rows].sum())
            body_frequency[term] = int(body[rows].sum())
        return _Vocabulary(body_frequency, int(body.sum()), frequency)

    def _filter_mask(self, options: SearchOptions) -> np.ndarray:
        """For every passage, whether the filters allow it (read from the tables, not the passages)."""
        mask = np.ones(len(self.passages), dtype=bool)
        if options.docs:
            mask &= np.isin(self._doc_of, [self._doc_number[d] for d in options.docs])
        if options.sections:
            mask &= np.isin(self._section_of, self._wanted_sections(options))
        return mask

    def _within(self, options: SearchOptions, mask: np.ndarray | None) -> Within | None:
        """What the candidates are drawn from under a filter (mask: the passages it allows);
        none on an index whose every passage is a candidate anyway (see _evidence)."""
        if mask is None or len(self.passages) <= self.candidates:
            return None
        keys = None
        if options.sections:
            keys = tuple(dict.fromkeys(self._section_names[i][1] for i in self._wanted_sections(options)))
        return Within(mask, keys)

    def _wanted_sections(self, options: SearchOptions) -> list[int]:
        """The places in section_names of the sections the filter names."""
        return [
            i
            for i, (number, key) in enumerate(self._section_names)
            if any(section_matches(number, key, w) for w in options.sections or ())
        ]

    def _select(self, allowed: list[int], scored: Scored, options: SearchOptions) -> list[int]:
        """The first top_k allowed positions above min_score, of distinct text."""
        selected: list[int] = []
        seen: set[str] = set()
        for position in allowed:
            if options.min_score is not None and scored.probabilities[position] < options.min_score:
                continue
            text = self._folded_text(int(scored.rows[position]))
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

    def _candidate_rows(self, vector: np.ndarray, ids: list[int], within: Within | None) -> np.ndarray:
        """The passages nearest the question by the vector index, and those BM25 ranks best,
        among those the filters allow."""
        count = min(self.candidates, len(self.passages))
        nearest = self._nearest_soon(vector, count, within)
        allowed = None if within is None else within.rows
        lexical = self.lexical.candidates(ids, count, self.lexical_budget, allowed)
        found = nearest()
        rows = np.sort(np.concatenate((found[found >= 0], lexical)))
        distinct: np.ndarray = rows[np.concatenate(([True], rows[1:] != rows[:-1]))]
        return distinct  # np.union1d does the same, several times slower on a few hundred rows

    def _nearest_soon(
        self, vector: np.ndarray, count: int, within: Within | None
    ) -> Callable[[], np.ndarray]:
        """The nearest passages, to be collected: a database is asked at once, in another
        thread, so that its round trip and search overlap the BM25 candidates' work here."""
        if self._asking is None:
            return lambda: self._nearest(vector, count, within)
        return self._asking.submit(self._nearest, vector, count, within).result

    def _nearest(self, vector: np.ndarray, count: int, within: Within | None = None) -> np.ndarray:
        """The passages nearest the question: from the index's own source when it has one
        (pgvector), else from its vector index; and from the vector index when the source fails.
        Under a filter, only passages it allows: the few of a narrow one compared one by one."""
        allowed = None if within is None else np.flatnonzero(within.rows)
        if allowed is not None and len(allowed) <= FILTER_EXACT_ROWS:
            return self._exactly_nearest(vector, count, allowed)
        found = None
        if self.index.nearest is not None:
            try:
                found = self.index.nearest(vector, count, within)
            except RsaQaError as exc:
                log.warning("nearest passages from the index itself (%s)", exc)
        if found is None and within is not None:
            found = search_within(self.index.vectors, vector, count, within)
        elif found is None:
            found = self.index.vectors.search(vector.reshape(1, -1).astype(np.float32), count)[1][0]
        if allowed is not None and not len(found):
            # An approximate search can come back empty-handed under a narrow filter.
            found = self._exactly_nearest(vector, count, allowed)
        return np.asarray(found)

    def _exactly_nearest(self, vector: np.ndarray, count: int, allowed: np.ndarray) -> np.ndarray:
        """The count allowed rows nearest the question, compared one by one, FILTER_EXACT_ROWS
        at a time (a copy of their vectors each)."""
        best, cosines = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        for start in range(0, len(allowed), FILTER_EXACT_ROWS):
            rows = allowed[start : start + FILTER_EXACT_ROWS]
            best = np.concatenate((best, rows))
            cosines = np.concatenate((cosines, self._passage_matrix[rows] @ vector))
            kept = np.argsort(-cosines, kind="stable")[:count]
            best, cosines = best[kept], cosines[kept]
        return best

    def _sentences_of(self, rows: np.ndarray) -> np.ndarray:
        """The sentence rows of the given passages, passage by passage."""
        starts, ends = self._sentence_at[rows], self._sentence_at[rows + 1]
        taken: np.ndarray = self._sentence_list[_spans(starts, ends)]
        return taken

    def _rank(self, scored: Scored) -> list[int]:
        """Positions in scored, best first; ties (to 6 decimals) in the order of the ids."""
        rounded = np.round(scored.probabilities.astype(np.float64), 6)
        ranked: list[int] = np.lexsort((self._id_rank[scored.rows], -rounded)).tolist()
        return ranked

    def _hit(self, position: int, rank: int, scored: Scored) -> Hit:
        row = int(scored.rows[position])
        features = scored.features[position]
        column = self.ranker.features.index
        probability = float(scored.probabilities[position])
        return Hit(
            passage=self.passages[row],
            rank=rank,
            score=probability,
            dense=float(max(features[column("dense_passage")], features[column("dense_sentence")])),
            lexical=float(features[column("lexical")]),
            coverage=float(features[column("coverage")]),
            highlights=self._highlights(row, probability, scored),
        )

    def sentence_rows(self, row: int) -> list[int]:
        return [int(r) for r in self._sentence_list[self._sentence_at[row] : self._sentence_at[row + 1]]]

    def sentence_features(self, row: int, passage_probability: float, scored: Scored) -> np.ndarray:
        """One row of model.SENTENCE_FEATURES per sentence of the passage."""
        sentences = self.sentence_rows(row)
        table = np.empty((len(sentences), 6))
        if not sentences:
            return table
        wanted = set(scored.question.distinct)
        share = 1.0 / len(wanted) if wanted else 0.0
        total = sum(scored.idf.values()) or 1.0
        for i, sentence in enumerate(sentences):
            present = wanted & self._terms_of_sentence(sentence)
            table[i, 0] = scored.sentence_cosines[sentence]
            table[i, 1] = len(present) * share
            table[i, 2] = sum(scored.idf[t] for t in present) / total
        table[:, 3] = passage_probability
        # How the sentence stands among the passage's own: the best of them, or how far behind it.
        table[:, 4] = table[:, 0] - table[:, 0].max()
        match = table[:, 0] + table[:, 2]
        table[:, 5] = match == match.max()
        return table

    def _highlights(self, row: int, passage_probability: float, scored: Scored) -> tuple[Highlight, ...]:
        """The passage's sentences the highlight model says hold the answer, in reading order."""
        sentences = self.sentence_rows(row)
        if not sentences:
            return ()
        model = self.models.highlight
        probabilities = model.probability(self.sentence_features(row, passage_probability, scored))
        best = np.argsort(-probabilities, kind="stable")[:MAX_HIGHLIGHTS]
        chosen = sorted(sentences[i] for i in best.tolist() if probabilities[i] >= model.threshold)
        text = self.passages[row].text
        spans = [self.index.sentence_rows[r] for r in chosen]
        return tuple(Highlight(text[s.start : s.end], s.start, s.end) for s in spans)

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


def _spans(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The rows starts[i]:ends[i] of every i, one after the other (a passage's sentences or
    word pieces, for several passages at once)."""
    counts = ends - starts
    # For each row to take: its span's start, plus its place within the span.
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    taken: np.ndarray = np.repeat(starts, counts) + within
    return taken


def _nothing_allowed(filtered: bool) -> ScopeVerdict:
    where = "the sections and documents asked for" if filtered else "the index"
    return ScopeVerdict(False, f"no passage of {where} can answer it", 0.0)


def section_matches(number: str | None, key: str, wanted: str) -> bool:
    """ "3" matches 3, 3.1 … 3.4; "abstract" matches the Abstract; "3.2" only 3.2."""
    wanted = wanted.strip().rstrip(".").lower()
    if number is not None and (number == wanted or number.startswith(wanted + ".")):
        return True
    return key == wanted.replace(" ", "-")
