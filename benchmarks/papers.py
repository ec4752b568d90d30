"""How well real article PDFs come out: title, authors, sections, references, answers, noise.

    python benchmarks/papers.py tests/data/papers [--questions]

Each `<name>.pdf` beside a `<name>.truth.json` (hand-checked: title, authors, top-level
sections, reference count, three questions with the section that answers each and a string
of the answer) is read by the pipeline exactly as `rsa-qa index` reads it. With
--questions the papers are indexed together and each question is asked.

Matching is lenient where printing varies: case, punctuation, ligatures and accents are
ignored, and near-equal strings (difflib ratio ≥ 0.85) count as equal.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rsa_qa.errors import RsaQaError
from rsa_qa.evaluation import fold, similar, top_section_matches
from rsa_qa.pipeline.corpus import corpus_files, read_document
from rsa_qa.pipeline.document import PARTS, REFERENCES, Document

# Ligature glyphs, and control codes (unmapped glyphs of fonts without a Unicode map).
LIGATURES = re.compile("[\ufb00-\ufb06\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A run of letters this long is two or more words glued together by the extraction, unless
# it is a program's camel-case name (varianceStabilizingTransformation in an R vignette).
GLUED = re.compile(r"[A-Za-z]{25,}")
CAMEL_CASE = re.compile(r"[a-z][A-Z]")


@dataclass
class PaperFigures:
    name: str
    title: bool = False
    authors: bool = False
    sections_found: float = 0.0
    references_ok: bool = False
    references: int = 0
    expected_references: int = 0
    passages: int = 0
    ligature_passages: int = 0
    glued_passages: int = 0
    # Entries some body passage cites: nearly every entry of a bibliography is cited, so
    # a low share means markers in the text were not resolved.
    references_cited: int = 0
    labels_right: list[bool] = field(default_factory=list)
    ranks: list[int | None] = field(default_factory=list)
    error: str | None = None


def top_level_titles(document: Document) -> list[str]:
    """The document's top-level body sections, as "title" and "Appendix X: title" forms."""
    titles = []
    for section in document.sections:
        # A numbered "4 References" is a section of the body (an authors' guide's about citing).
        if len(section.path) == 1 and (section.title not in PARTS or section.number):
            titles.append(section.title)
            if section.number:
                titles.append(f"Appendix {section.number}: {section.title}")
    return titles


def structure(document: Document, truth: dict[str, Any], name: str) -> PaperFigures:
    figures = PaperFigures(name)
    figures.title = similar(document.meta.title, truth["title"])
    got = list(document.meta.authors)
    figures.authors = len(got) == len(truth["authors"]) and all(
        any(similar(g, t) for g in got) for t in truth["authors"]
    )
    found = top_level_titles(document)
    wanted = truth["top_level_sections"]
    figures.sections_found = sum(any(similar(f, w) for f in found) for w in wanted) / max(len(wanted), 1)
    figures.references, figures.expected_references = len(document.references), truth["reference_count"]
    figures.references_ok = abs(figures.references - figures.expected_references) <= (
        0.2 * figures.expected_references
    )
    return figures


def noise(figures: PaperFigures, texts: list[str]) -> None:
    figures.passages = len(texts)
    figures.ligature_passages = sum(bool(LIGATURES.search(t)) for t in texts)
    figures.glued_passages = sum(is_glued(t) for t in texts)


def is_glued(text: str) -> bool:
    return any(not CAMEL_CASE.search(run) for run in GLUED.findall(text))


def papers_in(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [
        (truth.with_name(truth.name.replace(".truth.json", ".pdf")), json.loads(truth.read_text("utf-8")))
        for truth in sorted(folder.glob("*.truth.json"))
    ]


def read_papers(folder: Path) -> tuple[dict[str, Document], dict[str, str]]:
    """Every PDF of the folder as the pipeline reads it, or why it could not be read."""
    documents: dict[str, Document] = {}
    errors: dict[str, str] = {}
    for source in corpus_files(folder):
        try:
            documents[source.path.stem] = read_document(source)
        except RsaQaError as exc:
            errors[source.path.stem] = str(exc)
    return documents, errors


def score_folder(folder: Path, questions: bool) -> list[PaperFigures]:
    from rsa_qa.config import Settings
    from rsa_qa.pipeline.chunk import chunk_document
    from rsa_qa.service import chunk_settings, load_embedder

    settings = Settings(corpus_dir=folder)
    embedder = load_embedder(settings, export_if_missing=True)
    documents, errors = read_papers(folder)
    results = []
    for pdf, truth in papers_in(folder):
        name = pdf.stem
        if name not in documents:
            results.append(PaperFigures(name, error=errors.get(name, "not read")))
            continue
        figures = structure(documents[name], truth, name)
        passages = chunk_document(documents[name], embedder.count_tokens, chunk_settings(settings))
        noise(figures, [p.text for p in passages])
        figures.references_cited = len(
            {n for p in passages if p.section.title != REFERENCES for n in p.references}
        )
        results.append(figures)
    if questions:
        _ask(folder, settings, results, embedder)
    return results


def _ask(folder: Path, settings: Any, results: list[PaperFigures], embedder: Any) -> None:
    from rsa_qa.answers import run_query
    from rsa_qa.schemas import QueryRequest
    from rsa_qa.service import build_index, open_searcher

    truths = {pdf.stem: truth for pdf, truth in papers_in(folder)}
    with tempfile.TemporaryDirectory() as scratch:
        settings = settings.model_copy(update={"index_dir": Path(scratch) / "index"})
        build_index(settings, embedder, progress=lambda _: None)
        searcher = open_searcher(settings, embedder)
        for figures in results:
            if figures.error:
                continue
            for question in truths[figures.name]["questions"]:
                response = run_query(searcher, QueryRequest(query=question["question"], top_k=10))
                wanted = fold(question["answer_contains"])
                rank = next(
                    (r.rank for r in response.results if r.doc.id == figures.name and wanted in fold(r.text)),
                    None,
                )
                figures.ranks.append(rank)
                answer = next((r for r in response.results if r.rank == rank), None)
                figures.labels_right.append(
                    answer is not None
                    and top_section_matches(question["section"], answer.section.model_dump())
                )


def table(results: list[PaperFigures]) -> str:
    lines = [
        "| paper | title | authors | top-level sections | references | answers labelled right | MRR@10 "
        "| passages with ligature glyphs / glued words | entries cited from the text |",
        "|---|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.name} | not read: {r.error} | | | | | | | |")
            continue
        mrr = statistics.fmean(1 / k if k else 0.0 for k in r.ranks) if r.ranks else None
        lines.append(
            f"| {r.name} | {_mark(r.title)} | {_mark(r.authors)} | {r.sections_found:.0%} "
            f"| {_mark(r.references_ok)} {r.references}/{r.expected_references} "
            f"| {sum(r.labels_right)}/{len(r.labels_right)} | {'' if mrr is None else f'{mrr:.2f}'} "
            f"| {r.ligature_passages} / {r.glued_passages} of {r.passages} "
            f"| {r.references_cited}/{r.references} |"
        )
    return "\n".join(lines)


def summary(results: list[PaperFigures]) -> str:
    read = [r for r in results if not r.error]
    n = max(len(results), 1)
    ranks = [k for r in read for k in r.ranks]
    labels = [x for r in read for x in r.labels_right]
    parts = [
        f"papers {len(results)} (read {len(read)})",
        f"title {sum(r.title for r in read) / n:.0%}",
        f"authors {sum(r.authors for r in read) / n:.0%}",
        f"sections {sum(r.sections_found for r in read) / n:.0%}",
        f"references within 20% {sum(r.references_ok for r in read) / n:.0%}",
        f"noisy passages {sum(r.ligature_passages + r.glued_passages for r in read)}"
        f"/{sum(r.passages for r in read)}",
        f"entries cited {sum(r.references_cited for r in read)}/{sum(r.references for r in read)}",
    ]
    if ranks:
        parts.append(f"answers labelled right {sum(labels) / len(labels):.0%}")
        parts.append(f"MRR@10 {statistics.fmean(1 / k if k else 0.0 for k in ranks):.3f}")
    return ", ".join(parts)


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def question_rows(folder: Path) -> list[dict[str, Any]]:
    """The papers' questions as an eval set: the answer in the named paper and section."""
    rows = []
    for pdf, truth in papers_in(folder):
        for number, question in enumerate(truth["questions"], start=1):
            answer = question["answer_contains"]
            accept = {"doc": pdf.stem, "top_section": question["section"], "contains": [answer]}
            rows.append(
                {
                    "id": f"{pdf.stem}-{number}",
                    "question": question["question"],
                    "kind": "paper",
                    "group": pdf.stem,  # cross-validation keeps a paper's questions together
                    "accept": [accept],
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--questions", action="store_true", help="index the papers and ask their questions")
    parser.add_argument(
        "--export-questions", type=Path, help="write the papers' questions as an eval set and stop"
    )
    args = parser.parse_args(argv)
    if args.export_questions:
        rows = [row for folder in args.folders for row in question_rows(folder)]
        args.export_questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return 0
    for folder in args.folders:
        results = score_folder(folder, args.questions)
        print(f"## {folder}\n\n{table(results)}\n\n{summary(results)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
