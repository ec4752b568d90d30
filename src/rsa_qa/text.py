"""Text helpers shared by every stage: normalisation, sentence spans, search tokens."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

# A sentence ends at . ? or ! (optionally followed by a closing bracket or quote) when
# whitespace and then an upper-case letter, digit or opening bracket follow.
_SENTENCE_END = re.compile(r"""[.?!][)\]"'”’]*(?=\s+[A-Z0-9(\["“])""")
# Abbreviations that end in a full stop without ending the sentence.
_NO_BREAK_BEFORE = re.compile(r"\b(?:e\.g|i\.e|etc|vs|Dr|Fig|No|approx)\.$", re.IGNORECASE)
# Letters and digits are split apart so that "400mg/kg" matches "400 mg/kg" and
# "5000IU" matches "5000 IU".
# *Journal title* and _word_ are emphasis left by the PDF-to-text step.
_EMPHASIS = re.compile(r"(?<!\w)[*_]+(\S(?:.*?\S)?)[*_]+(?!\w)")
_TOKEN = re.compile(r"[^\W\d_]+|\d+(?:[.,]\d+)?")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    tell know give given say said may might must also whether""".split()
)


def collapse_whitespace(text: str) -> str:
    # str.split() and the regex \s agree on what whitespace is; the split is twice as fast.
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Fold text for matching: NFKC ("VD₃" reads "VD3"), no Markdown emphasis, lower case."""
    folded = unicodedata.normalize("NFKC", text)
    if "*" in folded or "_" in folded:  # the emphasis pattern costs more than the test
        folded = _EMPHASIS.sub(r"\1", folded)
    return collapse_whitespace(folded).lower()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Start/end offsets of the sentences in text, whitespace between them excluded."""
    spans: list[tuple[int, int]] = []
    start = _skip_space(text, 0)
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if _NO_BREAK_BEFORE.search(text[start:end]):
            continue
        if end > start:
            spans.append((start, end))
        start = _skip_space(text, end)
    tail_end = len(text.rstrip())
    if tail_end > start:
        spans.append((start, tail_end))
    return spans


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def raw_terms(text: str) -> list[str]:
    """Normalised word and number tokens, stop words kept, not stemmed."""
    return _TOKEN.findall(normalise(text))


def search_terms(text: str) -> list[str]:
    """Stemmed content terms for the lexical index and for query-coverage tests."""
    words = [t for t in raw_terms(text) if t not in STOPWORDS]
    return list(_stemmer().stemWords(words))
