"""Several documents in corpus/: ids, sidecar metadata, PDFs, incremental rebuilds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ARTICLE, HashEmbedder
from rsa_qa.errors import CorpusError
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.pipeline.corpus import corpus_files, read_document
from rsa_qa.store.build import build_index_at

CHUNKING = ChunkSettings(max_tokens=254, model_max_tokens=256, embed_section_titles=True)
SYNTHETIC = Path(__file__).parent / "data" / "synthetic-vineyard-sensors.md"


class CountingEmbedder(HashEmbedder):
    """Counts what it is asked to embed, to show which documents a rebuild re-embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return super().encode(texts)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(ARTICLE, folder)
    shutil.copy(SYNTHETIC, folder)
    return folder


def test_each_file_is_a_document_with_an_id_from_its_name(corpus: Path) -> None:
    assert [s.doc_id for s in corpus_files(corpus)] == ["immunology-rsa-review", "synthetic-vineyard-sensors"]


def test_front_matter_metadata_is_read(corpus: Path) -> None:
    synthetic = read_document(corpus_files(corpus)[1])
    assert synthetic.meta.title == "Capacitive Soil Moisture Sensors for Deficit Irrigation in Vineyards"
    assert synthetic.meta.authors == ["Ana Ribeiro", "Tomas Keller"]
    assert (synthetic.meta.doi, synthetic.meta.year) == ("10.5555/synthetic.2024.001", "2024")
    assert synthetic.meta.metadata["synthetic"] is True


def test_sidecar_overrides_parsed_metadata_and_sets_the_id(corpus: Path) -> None:
    sidecar = {"id": "zhang-2024", "title": "Immunology and RSA", "year": 2024, "journal": "Adv Nursing"}
    (corpus / "immunology-rsa-review.meta.json").write_text(json.dumps(sidecar), encoding="utf-8")
    source = corpus_files(corpus)[0]
    document = read_document(source)
    assert (source.doc_id, document.meta.title, document.meta.year) == (
        "zhang-2024",
        "Immunology and RSA",
        "2024",
    )
    assert document.meta.authors == ["Lingyan Zhang", "Kai'e Zhe"], "fields the sidecar leaves out are parsed"
    assert document.meta.metadata == {"journal": "Adv Nursing"}


def test_invalid_sidecar_is_a_clear_error(corpus: Path) -> None:
    (corpus / "immunology-rsa-review.meta.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="mapping"):
        corpus_files(corpus)


def test_markers_resolve_within_their_own_document(corpus: Path) -> None:
    synthetic = read_document(corpus_files(corpus)[1])
    review = read_document(corpus_files(corpus)[0])
    assert synthetic.references[4].citation.startswith("Keller T, Ribeiro A.")
    assert review.references[4].citation.startswith("Wu Jing")


def test_rebuild_embeds_only_what_changed(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    first = CountingEmbedder()
    report = build_index_at(corpus, index_dir, first, CHUNKING)
    assert report.added == ["immunology-rsa-review", "synthetic-vineyard-sensors"]
    ids_before = [p.id for p in report.index.passages]

    synthetic = corpus / SYNTHETIC.name
    synthetic.write_text(synthetic.read_text(encoding="utf-8") + "\nA closing remark.\n", encoding="utf-8")
    second = CountingEmbedder()
    report = build_index_at(corpus, index_dir, second, CHUNKING)
    assert (report.added, report.changed, report.unchanged) == (
        [],
        ["synthetic-vineyard-sensors"],
        ["immunology-rsa-review"],
    )
    assert second.texts and not any("IVIG" in t.upper() for t in second.texts), (
        "the review is not re-embedded"
    )
    review_ids = [i for i in ids_before if i.startswith("immunology-rsa-review:")]
    assert [p.id for p in report.index.passages][: len(review_ids)] == review_ids

    synthetic.unlink()
    third = CountingEmbedder()
    report = build_index_at(corpus, index_dir, third, CHUNKING)
    assert report.removed == ["synthetic-vineyard-sensors"]
    assert third.texts == []
    assert {p.doc_id for p in report.index.passages} == {"immunology-rsa-review"}
    assert "removed: synthetic-vineyard-sensors" in report.summary()


def test_reused_vectors_equal_freshly_built_ones(corpus: Path, tmp_path: Path) -> None:
    embedder = HashEmbedder()
    build_index_at(corpus, tmp_path / "index", embedder, CHUNKING)
    (corpus / "extra.md").write_text("# Extra\n\n## Part\n\nSomething else entirely.\n", encoding="utf-8")
    incremental = build_index_at(corpus, tmp_path / "index", embedder, CHUNKING).index
    fresh = build_index_at(corpus, tmp_path / "fresh", embedder, CHUNKING).index
    assert [p.id for p in incremental.passages] == [p.id for p in fresh.passages]
    assert (incremental.directory / "passages.faiss").read_bytes() == (
        fresh.directory / "passages.faiss"
    ).read_bytes()
    assert incremental.version == fresh.version
