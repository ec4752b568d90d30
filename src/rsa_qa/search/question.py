"""What a question asks, read once: its search terms, and the kind of answer it wants.

The intents are general cues of English questions, not rules for particular questions:
a question that asks for a reference or source, one about the document itself (its
authors, title, DOI), one that asks for a quantity, and the names it mentions.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from rsa_qa.text import raw_terms, search_terms

_CITATION_INTENT = re.compile(
    r"\b(?:references?|cit(?:e|es|ed|ing|ation|ations)|sources?|bibliograph\w*|literature)\b",
    re.IGNORECASE,
)
# Words that point at a piece of published work without asking for a reference outright.
_WORK_MENTION = re.compile(
    r"\b(?:stud(?:y|ies)|papers?|articles?|journals?|publish\w*|authors?|trials?|wr(?:ote|itten|ite))\b",
    re.IGNORECASE,
)
_STRUCTURE_INTENT = re.compile(
    r"\b(?:abstract|keywords?|key words|authors?|wrote|written|writers?|title[sd]?|affiliat\w*|"
    r"doi|journal|published|publication|institution|hospital|this (?:review|article|paper))\b",
    re.IGNORECASE,
)
_QUANTITY_INTENT = re.compile(
    r"\b(?:how (?:many|much|long|often|common|likely)|dose|dosage|doses|percent\w*|per cent|"
    r"proportion|share|fraction|rate|ratio|incidence|prevalence|number|amount|weeks?|days?|"
    r"months?|years?|grams?|mg|kg|ml|times)\b|\d",
    re.IGNORECASE,
)
# A capitalised word that does not start the question or a sentence: a name, probably.
_CAPITALISED = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][A-Za-z0-9-]*")


@dataclass(frozen=True)
class Question:
    text: str
    terms: tuple[str, ...]  # stemmed content terms, repeats kept (BM25 counts them)
    distinct: tuple[str, ...]  # the same, each once, in order
    words: tuple[tuple[str, str], ...]  # (word, its term) for each distinct content word
    word_count: int  # every word, stop words included
    names: tuple[str, ...]  # capitalised words not at the start of a sentence
    asks_citation: bool
    mentions_work: bool
    asks_structure: bool
    asks_quantity: bool

    @classmethod
    def read(cls, text: str) -> Question:
        text = unicodedata.normalize("NFKC", text)  # "VD₃" asks what "VD3" asks
        terms = tuple(search_terms(text))
        every_word = raw_terms(text)
        words = tuple(
            (word, stems[0])
            for word in dict.fromkeys(every_word)
            if not word.isdigit() and (stems := search_terms(word))
        )
        return cls(
            text=text,
            terms=terms,
            distinct=tuple(dict.fromkeys(terms)),
            words=words,
            word_count=len(every_word),
            names=tuple(m.group() for m in _CAPITALISED.finditer(text)),
            asks_citation=_CITATION_INTENT.search(text) is not None,
            mentions_work=_WORK_MENTION.search(text) is not None,
            asks_structure=_STRUCTURE_INTENT.search(text) is not None,
            asks_quantity=_QUANTITY_INTENT.search(text) is not None,
        )


def idf(passage_frequency: Mapping[str, int], passages: int, term: str) -> float:
    """BM25's inverse document frequency; a term the corpus lacks gets the rarest term's."""
    frequency = passage_frequency.get(term, 0)
    return math.log(1.0 + (passages - frequency + 0.5) / (frequency + 0.5))


def asks_for_citation(query: str) -> bool:
    return _CITATION_INTENT.search(query) is not None
