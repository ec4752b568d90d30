"""Document → passages: one section at a time, never longer than the model's window.

Word pieces are counted with the model's own tokenizer: the model silently truncates a
longer input, which would make the tail of a passage invisible to search.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rsa_qa.pipeline.citations import cited_numbers
from rsa_qa.pipeline.document import FRONT_MATTER, Document, Paragraph, Section
from rsa_qa.text import collapse_whitespace, normalise, sentence_spans

TokenCounter = Callable[[str], int]
# [CLS] and [SEP] take two places in the model's window.
SPECIAL_TOKENS = 2


@dataclass(frozen=True)
class ChunkSettings:
    max_tokens: int
    model_max_tokens: int
    embed_section_titles: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "max_tokens": self.max_tokens,
            "model_max_tokens": self.model_max_tokens,
            "embed_section_titles": self.embed_section_titles,
            "split": "paragraph, then sentences",
            "reference_entries": "one passage each",
        }


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    section: Section
    start: int
    end: int
    text: str
    references: tuple[int, ...]
    sentences: tuple[tuple[int, int], ...]

    def embedding_text(self, with_section_title: bool) -> str:
        """What the model reads: the passage, preceded by its section title for context."""
        if not with_section_title:
            return self.text
        return f"{section_context(self.section)}: {self.text}"


def section_context(section: Section) -> str:
    """The words that tell the model (and BM25) what kind of text a passage is."""
    if section.title == FRONT_MATTER:
        return "Article title, authors, affiliation and DOI"
    return section.label


def chunk_document(doc: Document, count: TokenCounter, settings: ChunkSettings) -> list[Passage]:
    passages: list[Passage] = []
    # Each reference-list entry is a passage of its own (section "References"), so that a
    # question about a cited work can find it; it carries its own citation, as body
    # passages carry the citations they cite.
    for section in doc.sections:
        paragraphs = [p for p in doc.paragraphs if p.section == section]
        spans = _section_spans(doc, paragraphs, count, settings)
        for ordinal, (start, end) in enumerate(spans, start=1):
            passages.append(_make_passage(doc, section, ordinal, start, end))
    return passages


def _section_spans(
    doc: Document, paragraphs: list[Paragraph], count: TokenCounter, settings: ChunkSettings
) -> list[tuple[int, int]]:
    if not paragraphs:
        return []
    section = paragraphs[0].section
    budget = _token_budget(section, count, settings)
    if section.title == FRONT_MATTER:
        # Title, authors, affiliation and DOI are one short passage about the article.
        joined = (paragraphs[0].start, paragraphs[-1].end)
        if _tokens(doc, joined, count) <= budget:
            return [joined]
    spans: list[tuple[int, int]] = []
    for paragraph in paragraphs:
        spans.extend(_split_paragraph(doc, paragraph, count, budget))
    return spans


def _token_budget(section: Section, count: TokenCounter, settings: ChunkSettings) -> int:
    budget = min(settings.max_tokens, settings.model_max_tokens - SPECIAL_TOKENS)
    if settings.embed_section_titles:
        title_cost = count(normalise(f"{section_context(section)}: "))
        budget = min(budget, settings.model_max_tokens - SPECIAL_TOKENS - title_cost)
    if budget < 8:
        raise ValueError(f"section title {section.label!r} leaves no room for text in the window")
    return budget


def _tokens(doc: Document, span: tuple[int, int], count: TokenCounter) -> int:
    # Counted on the normalised text, which is what the model reads (index.py): NFKC can
    # make one character several word pieces ("½" → "1⁄2").
    return count(normalise(doc.source[span[0] : span[1]]))


def _split_paragraph(
    doc: Document, paragraph: Paragraph, count: TokenCounter, budget: int
) -> list[tuple[int, int]]:
    whole = (paragraph.start, paragraph.end)
    total = _tokens(doc, whole, count)
    if total <= budget:
        return [whole]
    raw = doc.source[paragraph.start : paragraph.end]
    units: list[tuple[int, int]] = []
    for s, e in sentence_spans(raw):
        units.extend(_fit_sentence(doc, (paragraph.start + s, paragraph.start + e), count, budget))
    # Balanced pieces rather than greedy ones, so the last piece is not a stub.
    target = math.ceil(total / math.ceil(total / budget))
    return list(_pack(doc, units, count, budget, target))


def _fit_sentence(
    doc: Document, span: tuple[int, int], count: TokenCounter, budget: int
) -> Iterator[tuple[int, int]]:
    """A sentence longer than the budget is cut between words; rare, but never truncated."""
    if _tokens(doc, span, count) <= budget:
        yield span
        return
    sentence = doc.source[span[0] : span[1]]
    words = [
        piece
        for m in re.finditer(r"\S+", sentence)
        for piece in _fit_word(doc, (span[0] + m.start(), span[0] + m.end()), count, budget)
    ]
    piece_start = words[0][0]
    previous_end = words[0][1]
    for word_start, word_end in words[1:]:
        if _tokens(doc, (piece_start, word_end), count) > budget:
            yield piece_start, previous_end
            piece_start = word_start
        previous_end = word_end
    yield piece_start, previous_end


def _fit_word(
    doc: Document, span: tuple[int, int], count: TokenCounter, budget: int
) -> Iterator[tuple[int, int]]:
    """A "word" longer than the budget (a run of symbols, a long formula) is cut between characters."""
    start, end = span
    while end - start > 1 and _tokens(doc, (start, end), count) > budget:
        # The longest piece from start that fits, by bisection: a word may be thousands of characters.
        low, high = start + 1, end - 1
        while low < high:
            middle = (low + high + 1) // 2
            if _tokens(doc, (start, middle), count) <= budget:
                low = middle
            else:
                high = middle - 1
        yield start, low
        start = low
    yield start, end


def _pack(
    doc: Document, units: list[tuple[int, int]], count: TokenCounter, budget: int, target: int
) -> Iterator[tuple[int, int]]:
    start, end = units[0]
    for unit_start, unit_end in units[1:]:
        current = _tokens(doc, (start, end), count)
        if current < target and _tokens(doc, (start, unit_end), count) <= budget:
            end = unit_end
            continue
        yield start, end
        start, end = unit_start, unit_end
    yield start, end


def _make_passage(doc: Document, section: Section, ordinal: int, start: int, end: int) -> Passage:
    text = collapse_whitespace(doc.source[start:end])
    return Passage(
        id=f"{doc.id}:{section.key}-{ordinal:02d}",
        doc_id=doc.id,
        section=section,
        start=start,
        end=end,
        text=text,
        references=tuple(cited_numbers(text, doc.references)),
        sentences=tuple(sentence_spans(text)),
    )
