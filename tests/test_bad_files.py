"""One bad file in a researcher's corpus does not break the build: it is skipped, named with
the reason, and listed by the build report, the manifest and GET /documents; --strict
makes it fail instead."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from PIL import Image

from conftest import ARTICLE, ROOT, HashEmbedder
from rsa_qa.config import Settings
from rsa_qa.errors import CorpusError
from rsa_qa.http.app import create_app
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service
from rsa_qa.store.build import BuildReport, build_index_at
from rsa_qa.store.load import is_fresh, load_index

CHUNKING = ChunkSettings(max_tokens=254, model_max_tokens=256, embed_section_titles=True)
PAPERS = ROOT / "tests" / "data" / "papers"
BAD = {
    "truncated.pdf": "cannot read PDF truncated.pdf",
    "encrypted.pdf": "encrypted",
    "scanned.pdf": "no text",
    "garbled.txt": "cannot read",
}


def add_bad_files(corpus: Path) -> None:
    whole = (PAPERS / "party.pdf").read_bytes()
    (corpus / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    locked = FPDF()
    locked.add_page()
    locked.set_font("helvetica", size=12)
    locked.cell(text="A confidential finding about heparin.")
    locked.set_encryption(owner_password="owner", user_password="reader")
    locked.output(str(corpus / "encrypted.pdf"))
    scanned = FPDF()
    scanned.add_page()
    scanned.image(Image.new("L", (600, 800), 255), x=10, y=10, w=180)
    scanned.output(str(corpus / "scanned.pdf"))
    (corpus / "garbled.txt").write_bytes(b"Title\n\n\xff\xfe not UTF-8 \xc3\x28 at all\n")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(ARTICLE, folder)
    shutil.copy(PAPERS / "coin-lego.pdf", folder)
    add_bad_files(folder)
    return folder


@pytest.fixture
def report(corpus: Path, tmp_path: Path) -> BuildReport:
    lines: list[str] = []
    built = build_index_at(corpus, tmp_path / "index", HashEmbedder(), CHUNKING, progress=lines.append)
    built.log = lines  # type: ignore[attr-defined]
    return built


def test_bad_files_are_skipped_one_line_each_and_the_others_indexed(report: BuildReport) -> None:
    assert sorted(report.index.documents) == ["coin-lego", ARTICLE.stem]
    assert {s["file"] for s in report.skipped} == set(BAD)
    for skipped in report.skipped:
        assert BAD[skipped["file"]] in skipped["reason"]
    log = report.log  # type: ignore[attr-defined]
    for name in BAD:
        assert sum(line.startswith(f"skipped {name}: ") for line in log) == 1
    assert "4 skipped" in report.summary()


def test_the_manifest_lists_them_and_the_index_is_not_stale_for_them(
    report: BuildReport, corpus: Path, tmp_path: Path
) -> None:
    manifest = report.index.manifest
    assert {s["file"] for s in manifest["skipped"]} == set(BAD)
    assert is_fresh(tmp_path / "index", corpus, HashEmbedder().fingerprint(), CHUNKING)
    # A fixed file is a change: the index is stale until it is rebuilt, and then holds it.
    shutil.copy(PAPERS / "party.pdf", corpus / "truncated.pdf")
    stale = load_index(tmp_path / "index", corpus, HashEmbedder().fingerprint()).stale
    assert stale is not None and "changed: truncated" in stale
    rebuilt = build_index_at(corpus, tmp_path / "index", HashEmbedder(), CHUNKING)
    assert "truncated" in rebuilt.index.documents and len(rebuilt.skipped) == 3


def test_pdfs_read_by_another_version_of_the_reader_make_the_index_stale_not_refused(
    report: BuildReport, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new reader may find other words, sections or references in the same files: the
    index built by the old one keeps serving and says what to run, and --if-stale rebuilds."""
    import rsa_qa.store.manifest as manifest

    assert is_fresh(tmp_path / "index", corpus, HashEmbedder().fingerprint(), CHUNKING)
    monkeypatch.setattr(manifest, "pdf_reader_fingerprint", lambda: "a later reader")
    assert not is_fresh(tmp_path / "index", corpus, HashEmbedder().fingerprint(), CHUNKING)
    loaded = load_index(tmp_path / "index", corpus, HashEmbedder().fingerprint())
    assert loaded.stale is not None and "another version of the PDF reader" in loaded.stale
    assert "rsa-qa index" in loaded.stale
    # Without a PDF in the corpus, the reader's version does not matter.
    for pdf in corpus.glob("*.pdf"):
        pdf.unlink()
    plain = build_index_at(corpus, tmp_path / "plain", HashEmbedder(), CHUNKING).index.version
    monkeypatch.setattr(manifest, "pdf_reader_fingerprint", lambda: "yet another reader")
    assert is_fresh(tmp_path / "plain", corpus, HashEmbedder().fingerprint(), CHUNKING)
    assert build_index_at(corpus, tmp_path / "again", HashEmbedder(), CHUNKING).index.version == plain


def test_documents_endpoint_lists_the_skipped_files(report: BuildReport, corpus: Path) -> None:
    settings = Settings(corpus_dir=corpus, index_dir=report.index.directory)
    searcher = Searcher(report.index, HashEmbedder())  # type: ignore[arg-type]
    app = create_app(settings, Service(settings, searcher=searcher, not_ready_reason=None))
    with TestClient(app) as client:
        body = client.get("/documents").json()
    assert {d["id"] for d in body["documents"]} == {"coin-lego", ARTICLE.stem}
    assert {s["file"]: s["reason"] for s in body["skipped"]}.keys() == set(BAD)


def test_a_corpus_of_only_bad_files_is_an_error_naming_them(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    add_bad_files(folder)
    with pytest.raises(CorpusError, match="no article .* could be read") as raised:
        build_index_at(folder, tmp_path / "index", HashEmbedder(), CHUNKING)
    assert all(name in str(raised.value) for name in BAD)
    assert not (tmp_path / "index" / "current").exists()


def test_strict_fails_on_the_first_bad_file_and_writes_nothing(corpus: Path, tmp_path: Path) -> None:
    rsa_qa = Path(sys.executable).with_name("rsa-qa")
    done = subprocess.run(
        [str(rsa_qa), "index", "--strict", "--corpus", str(corpus), "--index-dir", str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "without --strict it would be skipped" in done.stderr and "Traceback" not in done.stderr
    assert any(name in done.stderr for name in BAD)
    assert not (tmp_path / "index" / "current").exists()
