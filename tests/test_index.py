from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, HashEmbedder
from rsa_qa.config import Settings
from rsa_qa.errors import IndexCorrupt, IndexMismatch, IndexNotFound
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.service import open_index
from rsa_qa.store.build import build_index_at
from rsa_qa.store.load import LoadedIndex, is_fresh, load_index
from rsa_qa.store.records import INDEX_FILES, MANIFEST, PASSAGE_VECTORS, PASSAGES
from rsa_qa.store.vector_index import AnnSettings, exact_vectors, index_kind

CHUNKING = ChunkSettings(max_tokens=254, model_max_tokens=256, embed_section_titles=True)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(CORPUS, tmp_path / "corpus"))


@pytest.fixture
def built(corpus: Path, tmp_path: Path, hash_embedder: HashEmbedder) -> Path:
    build_index_at(corpus, tmp_path / "index", hash_embedder, CHUNKING)
    return tmp_path / "index"


def test_faiss_search_equals_brute_force_cosine(index: LoadedIndex, embedder: Embedder) -> None:
    queries = embedder.encode(["What daily IVIG dose did Carp give?", "vitamin D and the endometrium"])
    matrix = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    scores, rows = index.vectors.search(queries, 10)
    for query, faiss_scores, faiss_rows in zip(queries, scores, rows, strict=True):
        brute = matrix @ query
        expected = np.argsort(-brute, kind="stable")[:10]
        assert list(faiss_rows) == list(expected)
        assert np.allclose(faiss_scores, brute[expected], atol=1e-5)


def test_manifest_records_what_the_index_was_built_from(index: LoadedIndex) -> None:
    manifest = index.manifest
    assert manifest["model"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(manifest["model"]["fingerprint"]) == 64
    assert manifest["model"]["dimension"] == 384
    assert manifest["passage_count"] == len(index.passages)
    assert manifest["chunking"]["max_tokens"] == 254
    assert set(manifest["files"]) >= {PASSAGES, PASSAGE_VECTORS}
    for key in ("corpus_hash", "package_version", "built_at", "index_version"):
        assert manifest[key]


def test_rebuild_gives_byte_identical_passages_and_vectors(
    settings: Settings, embedder: Embedder, index: LoadedIndex, tmp_path: Path
) -> None:
    again = build_index_at(settings.corpus_dir, tmp_path / "again", embedder, CHUNKING).index
    for name in (PASSAGES, PASSAGE_VECTORS):
        assert (index.directory / name).read_bytes() == (again.directory / name).read_bytes()
    assert again.version == index.version


def test_changed_corpus_is_loaded_marked_stale_naming_what_changed(
    built: Path, corpus: Path, hash_embedder: HashEmbedder
) -> None:
    assert load_index(built, corpus, hash_embedder.fingerprint()).stale is None
    article = next(corpus.iterdir())
    article.write_text(article.read_text(encoding="utf-8") + "\nA new paragraph.\n", encoding="utf-8")
    (corpus / "another.md").write_text("# Another\n\nSome text about something else.\n", encoding="utf-8")
    stale = load_index(built, corpus, hash_embedder.fingerprint()).stale
    assert stale is not None and "make index" in stale
    assert f"changed: {article.stem}" in stale and "added: another" in stale
    assert not is_fresh(built, corpus, HashEmbedder().fingerprint(), CHUNKING)


def test_other_model_is_refused(built: Path, corpus: Path) -> None:
    with pytest.raises(IndexMismatch, match="another embedding model"):
        load_index(built, corpus, "0" * 64)


def test_other_package_version_is_refused(built: Path, corpus: Path) -> None:
    manifest = json.loads((built / MANIFEST).read_text())
    manifest["package_version"] = "0.0.0"
    (built / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="0.0.0"):
        load_index(built, corpus)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_truncated_file_is_refused_naming_it(built: Path, name: str) -> None:
    path = built / name
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match=f"{name} fails its checksum"):
        load_index(built)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_flipped_byte_is_refused_naming_it(built: Path, name: str) -> None:
    path = built / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match=f"{name} fails its checksum"):
        load_index(built)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_missing_file_is_refused_naming_it(built: Path, name: str) -> None:
    (built / name).unlink()
    with pytest.raises(IndexCorrupt, match=f"{name} is missing"):
        load_index(built)


def _edit_manifest(index_dir: Path, **changes: object) -> None:
    manifest = json.loads((index_dir / MANIFEST).read_text())
    manifest.update(changes)
    (index_dir / MANIFEST).write_text(json.dumps(manifest))


def test_manifest_without_checksums_is_refused(built: Path) -> None:
    """Checksums are not optional: without them a truncated file could load."""
    _edit_manifest(built, files={})
    with pytest.raises(IndexCorrupt, match=f"no checksum for {PASSAGES}"):
        load_index(built)


@pytest.mark.parametrize(
    "changes",
    [
        {"files": []},
        {"files": dict.fromkeys(INDEX_FILES, 0)},
        {"model": "minilm"},
        {"model": {"name": "m", "fingerprint": "f", "dimension": "384"}},
    ],
    ids=["files-list", "checksums-ints", "model-string", "dimension-string"],
)
def test_malformed_manifest_is_refused_not_raised(built: Path, changes: dict[str, object]) -> None:
    _edit_manifest(built, **changes)
    with pytest.raises(IndexCorrupt, match="make index"):
        load_index(built)


def test_missing_index_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="make index"):
        load_index(tmp_path / "nowhere")


def test_unreadable_manifest_is_refused(built: Path) -> None:
    (built / MANIFEST).write_text("{not json")
    with pytest.raises(IndexCorrupt, match=MANIFEST):
        load_index(built)


def test_failed_build_keeps_the_previous_index(built: Path, corpus: Path) -> None:
    before = (built / MANIFEST).read_bytes()
    (corpus / "second.md").write_text("# Second\n\n## Part\n\nIVIG text to embed.\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="on purpose"):
        build_index_at(corpus, built, HashEmbedder(fail_on="ivig"), CHUNKING)
    assert (built / MANIFEST).read_bytes() == before
    load_index(built)
    assert sorted(p.name for p in built.parent.iterdir()) == ["corpus", "index"], "no staging dir left"


def test_fresh_index_is_fresh(settings: Settings, index: LoadedIndex, embedder: Embedder) -> None:
    assert is_fresh(
        settings.index_dir, settings.corpus_dir, embedder.fingerprint(), CHUNKING, embedder.backend
    )
    other = ChunkSettings(max_tokens=128, model_max_tokens=256, embed_section_titles=True)
    assert not is_fresh(
        settings.index_dir, settings.corpus_dir, embedder.fingerprint(), other, embedder.backend
    )


@pytest.mark.parametrize(
    ("ann", "kind"),
    [
        (AnnSettings(min_passages=10), "hnsw"),
        (AnnSettings(min_passages=10, ivf_min_passages=20), "ivf"),
    ],
)
def test_a_large_index_is_approximate_and_finds_what_flat_finds(
    corpus: Path, tmp_path: Path, hash_embedder: HashEmbedder, ann: AnnSettings, kind: str
) -> None:
    built = build_index_at(corpus, tmp_path / kind, hash_embedder, CHUNKING, ann=ann).index
    assert index_kind(built.vectors) == kind
    assert built.manifest["vector_index"]["kind"] == kind
    flat = build_index_at(corpus, tmp_path / "flat", hash_embedder, CHUNKING).index
    assert index_kind(flat.vectors) == "flat" and flat.version != built.version
    queries = hash_embedder.encode(["IVIG", "heparin"])
    assert np.array_equal(built.vectors.search(queries, 5)[1], flat.vectors.search(queries, 5)[1])
    matrix = flat.vectors.reconstruct_n(0, flat.vectors.ntotal)
    assert np.array_equal(built.vectors.reconstruct_n(0, built.vectors.ntotal), matrix)
    assert np.array_equal(built.vectors.reconstruct(3), matrix[3])
    for loaded in (built, flat):  # the searcher's view of the stored vectors, not a copy
        view = exact_vectors(loaded.vectors)
        assert np.array_equal(view, matrix) and not view.flags.owndata and not view.flags.writeable


def test_the_service_refuses_an_index_chunked_otherwise(built: Path, corpus: Path) -> None:
    settings = Settings(index_dir=built, corpus_dir=corpus, chunk_max_tokens=128)
    with pytest.raises(IndexMismatch, match="other chunking settings"):
        open_index(settings, HashEmbedder())
