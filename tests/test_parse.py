from __future__ import annotations

import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.document import Document
from rsa_qa.pipeline.parse import parse_text
from rsa_qa.text import collapse_whitespace


def test_front_matter(document: Document) -> None:
    assert document.meta.title == (
        "The Role of Immunological Factors in Recurrent Miscarriage and Advances in Immunotherapy"
    )
    assert document.meta.authors == ["Lingyan Zhang", "Kai'e Zhe"]
    assert document.meta.affiliation == "Shaanxi Provincial People's Hospital, Xi'an 710068, Shaanxi, China"
    assert document.meta.doi == "10.32629/ajn.v5i2.2449"


def test_section_tree(document: Document) -> None:
    assert [(s.number, s.title) for s in document.sections] == [
        (None, "Front matter"),
        (None, "Abstract"),
        (None, "Keywords"),
        ("1", "Introduction"),
        ("2", "Analysis of the role of immunological factors in recurrent abortion"),
        ("3", "Advances in immunotherapy for immunological factors in recurrent abortion"),
        ("3.1", "Lymphocyte active immunotherapy in RSA"),
        ("3.2", "Immunoglobulin intravenous infusion therapy in RSA"),
        ("3.3", "Heparin, aspirin and other anticoagulant therapy in RSA"),
        ("3.4", "1 α ,25-dihydroxyvitamin D₃ (VD₃) in RSA"),
        ("4", "Conclusion"),
        (None, "References"),
    ]
    by_number = {s.number: s for s in document.sections}
    assert by_number["3.2"].path == (
        "3 Advances in immunotherapy for immunological factors in recurrent abortion",
        "3.2 Immunoglobulin intravenous infusion therapy in RSA",
    )
    assert by_number["4"].path == ("4 Conclusion",)


def test_references(document: Document) -> None:
    assert sorted(document.references) == [1, 2, 3, 4, 5]
    third = document.references[3]
    assert third.citation.startswith("Liang Baozhu. Clinical study on active immunotherapy")
    assert third.citation.endswith("2022, 22(1525):162-163.")
    assert document.source[third.start : third.end].startswith("[3] Liang Baozhu")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Some women with Rh blood group incompatibility", "have repeated miscarriages"),
        ("more targeted solutions for clinical", "treatment. At the same time"),
    ],
)
def test_paragraphs_broken_by_extraction_are_joined(document: Document, before: str, after: str) -> None:
    joined = [p for p in document.paragraphs if before in p.text]
    assert len(joined) == 1
    assert f"{before} {after}" in joined[0].text


def test_paragraph_offsets_slice_the_source(document: Document) -> None:
    for paragraph in document.paragraphs:
        assert collapse_whitespace(document.source[paragraph.start : paragraph.end]) == paragraph.text


def test_abstract_and_keywords_lose_their_labels(document: Document) -> None:
    by_section = {p.section.title: p.text for p in document.paragraphs}
    assert by_section["Keywords"] == "immunological factors; recurrent miscarriage; immunotherapy"
    assert by_section["Abstract"].startswith("Recurrent miscarriage is a complex reproductive")


def test_numbered_line_out_of_sequence_is_not_a_heading() -> None:
    doc = parse_text("Title\n\n1. Introduction\n\nText.\n\n7 of the patients improved\n\n2. Next\n\nMore.\n")
    assert [s.number for s in doc.sections if s.number] == ["1", "2"]
    assert any(p.text == "7 of the patients improved" for p in doc.paragraphs)


def test_subsection_without_its_parent_is_not_a_heading() -> None:
    doc = parse_text("Title\n\n1. Intro\n\nText.\n\n2.5 kg was given\n\nMore.\n")
    assert [s.number for s in doc.sections if s.number] == ["1"]


def test_heading_is_not_joined_to_the_next_paragraph() -> None:
    doc = parse_text("Title\n\n1. Introduction\n\nlower-case start of text.\n")
    assert [s.number for s in doc.sections if s.number] == ["1"]
    assert doc.paragraphs[-1].text == "lower-case start of text."


def test_repeated_headings_keep_section_keys_unique() -> None:
    """Passage ids are made from section keys: two sections with one key would share ids."""
    doc = parse_text("Title\n\nAbstract: First.\n\n1. Intro\n\n1.1 A\n\nText.\n\n1.1 B\n\nAbstract: Again.\n")
    keys = [s.key for s in doc.sections]
    assert len(keys) == len(set(keys))
    texts = {p.text: p.section.key for p in doc.paragraphs}
    assert texts["First."].startswith("abstract") and texts["Again."].startswith("abstract")


def test_numbered_list_in_markdown_with_sections_is_text() -> None:
    """ "1. …" items under a Markdown heading are a list; an appendix lettered "A" beside them
    is no number to count on from."""
    doc = parse_text(
        "# Title\n\n## A. Appendix first\n\nText.\n\n## Methods\n\nTwo questions:\n\n"
        "1. Does the method work?\n\n2. What does it cost?\n\n## Results\n\nMore.\n"
    )
    assert [s.title for s in doc.sections if len(s.path) == 1][-3:] == [
        "Appendix first",
        "Methods",
        "Results",
    ]
    assert any(p.text == "1. Does the method work?" for p in doc.paragraphs)


def test_numbered_lines_are_headings_when_markdown_marks_only_the_parts() -> None:
    doc = parse_text("# Title\n\n## Abstract\n\nShort.\n\n1 Introduction\n\nText.\n\n2 Methods\n\nMore.\n")
    assert [s.label for s in doc.sections if s.number] == ["1 Introduction", "2 Methods"]


def test_empty_document_is_refused() -> None:
    with pytest.raises(CorpusError, match="empty"):
        parse_text("  \n\n ")


MARKDOWN_ARTICLE = """# A Markdown Article

Jane Roe, John Doe

Example University, Springfield

## Abstract

Short abstract text here.

## 1. Background

Background text cites [1] and [2–3].

### 1.1 Detail

Detail text.

## Methods

Method text (Smith et al., 2020).

## References

1. Smith J, Lee K. First paper. J Test. 2020;1:1-2.
2. Doe A. Second paper. J Test. 2019;2:3-4.
3. Roe B. Third paper. J Test. 2018;3:5-6.
"""


def test_markdown_headings_build_the_tree() -> None:
    doc = parse_text(MARKDOWN_ARTICLE, "md")
    assert doc.meta.title == "A Markdown Article"
    assert doc.meta.authors == ["Jane Roe", "John Doe"]
    assert [(s.number, s.title, s.path) for s in doc.sections] == [
        (None, "Front matter", ("Front matter",)),
        (None, "Abstract", ("Abstract",)),
        ("1", "Background", ("1 Background",)),
        ("1.1", "Detail", ("1 Background", "1.1 Detail")),
        (None, "Methods", ("Methods",)),
        (None, "References", ("References",)),
    ]
    assert [r.citation.split(".")[0] for r in doc.references.values()] == ["Smith J, Lee K", "Doe A", "Roe B"]
    assert doc.references[1].year == "2020"


PLAIN_ARTICLE = """Soil Sensors in Practice

A. Author, B. Author

Abstract: A study of sensors.

INTRODUCTION

Sensors are useful in many fields of agriculture and beyond.

Materials and Methods

We used ten sensors.

Results and Discussion

They worked.

Bibliography

Smith J (2020) Sensors. Soil J 1:1.
Doe A (2019) More sensors. Soil J 2:2.
"""


def test_unnumbered_title_case_headings_after_the_front_matter() -> None:
    doc = parse_text(PLAIN_ARTICLE, "plain")
    assert [s.title for s in doc.sections] == [
        "Front matter",
        "Abstract",
        "Introduction",
        "Materials and Methods",
        "Results and Discussion",
        "References",
    ]
    assert all(s.number is None for s in doc.sections)
    assert [r.number for r in doc.references.values()] == [1, 2]
    assert doc.references[2].author == "Doe"


def test_sentence_like_lines_are_not_headings() -> None:
    doc = parse_text("Title\n\nAbstract: x.\n\nThe Results Were Good, Mostly.\n\nData Were Collected\n", "t")
    assert [s.title for s in doc.sections] == ["Front matter", "Abstract", "Data Were Collected"]


def test_repeated_section_titles_get_unique_keys() -> None:
    doc = parse_text("Title\n\n## Notes\n\nOne.\n\n## Notes\n\nTwo.\n", "t")
    assert [s.key for s in doc.sections] == ["front-matter", "notes", "notes-2"]


def test_doi_url_and_year_in_front_matter() -> None:
    doc = parse_text(
        "Title\n\nA. Person\n\nhttps://doi.org/10.1000/xyz123. Published 2021\n\n## Intro\n\nText.\n", "t"
    )
    assert doc.meta.doi == "10.1000/xyz123"
    assert doc.meta.year == "2021"


# Properties on arbitrary text: whatever the PDF extraction hands over, the parser copes.

_WORD = st.from_regex(r"[A-Za-z][a-z]{0,12}", fullmatch=True)
_FRAGMENTS = st.one_of(
    st.text(max_size=120),
    st.sampled_from(
        [
            "Title of the article",
            "1. Introduction",
            "2 Methods",
            "2.1 Subsection",
            "3.4.1 Deeper",
            "Abstract: An abstract.",
            "Keywords: one; two",
            "References",
            "[1] Author A. A title. Journal, 2020.",
            "- [2] Author B. Another. 2021.",
            "DOI: 10.1000/xyz",
            "e.g. this; i.e. that.",
            "1" * 5000 + " A heading with a huge number",
            "[" + "7" * 5000 + "] A reference with a huge number.",
            "See [" + "3" * 5000 + "].",
        ]
    ),
    st.builds(
        "{} {}".format, st.from_regex(r"\d{1,6}(\.\d{1,5}){0,6}", fullmatch=True), st.text(max_size=30)
    ),
    st.lists(_WORD, min_size=1, max_size=60).map(lambda words: " ".join(words) + "."),
    st.from_regex(r"\[\d{1,8}(\s*[,;–-]\s*\d{1,8}){0,3}\]", fullmatch=True),
    st.text(alphabet="!?.,;:-[]()*_\"'“”", min_size=1, max_size=400),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Zs", "Cc")), min_size=50, max_size=400
    ),
)
# Mostly blank lines, which is how blocks (and so headings and references) are told apart.
SEPARATORS = st.one_of(
    st.just("\n\n"), st.sampled_from(["\n", " ", "\n \n", "\r\n\r\n", "\t", "\u2029", "\x0c"])
)
ARTICLES = st.lists(st.tuples(_FRAGMENTS, SEPARATORS), max_size=25).map(
    lambda parts: "".join(text + separator for text, separator in parts)
)


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 300)), deadline=None)
@given(ARTICLES)
@example("Title\n\n" + "1" * 5000 + " A heading\n\nText.\n\nReferences\n\n[" + "7" * 5000 + "] A ref.\n")
def test_any_text_parses_into_paragraphs_that_slice_the_source(source: str) -> None:
    try:
        doc = parse_text(source)
    except CorpusError:
        assert not source.strip()
        return
    for paragraph in doc.paragraphs:
        assert collapse_whitespace(source[paragraph.start : paragraph.end]) == paragraph.text
        assert paragraph.section in doc.sections
    for reference in doc.references.values():
        assert 0 <= reference.start < reference.end <= len(source)
        assert reference.citation in collapse_whitespace(source[reference.start : reference.end])
    assert len({s.key for s in doc.sections}) == len(doc.sections)
