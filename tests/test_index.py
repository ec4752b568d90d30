from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, HashEmbedder, resign_file, rewrite_manifest
from rsa_qa.config import Settings
from rsa_qa.errors import IndexCorrupt, IndexMismatch, IndexNotFound
from rsa_qa.pipeline.chunk import ChunkSettings
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.service import open_index
from rsa_qa.store.build import build_index_at
from rsa_qa.store.load import LoadedIndex, is_fresh, load_index
from rsa_qa.store.records import (
    INDEX_FILES,
    MANIFEST,
    PASSAGE_OFFSETS,
    PASSAGE_VECTORS,
    PASSAGES,
    SENTENCE_ROWS,
)
from rsa_qa.store.vector_index import (
    AnnSettings,
    Within,
    build_vector_index,
    exact_vectors,
    index_kind,
    search_within,
)
from rsa_qa.store.versions import served_version

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
    manifest = json.loads((served_version(built) / MANIFEST).read_text())
    manifest["package_version"] = "0.0.0"
    rewrite_manifest(built, manifest)
    with pytest.raises(IndexMismatch, match="0.0.0"):
        load_index(built, corpus)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_truncated_file_is_refused_naming_it(built: Path, name: str) -> None:
    path = served_version(built) / name
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match=f"{name} fails its checksum"):
        load_index(built)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_flipped_byte_is_refused_naming_it(built: Path, name: str) -> None:
    path = served_version(built) / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match=f"{name} fails its checksum"):
        load_index(built)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_missing_file_is_refused_naming_it(built: Path, name: str) -> None:
    (served_version(built) / name).unlink()
    with pytest.raises(IndexCorrupt, match=f"{name} is missing"):
        load_index(built)


def _edit_manifest(index_dir: Path, **changes: object) -> None:
    manifest = json.loads((served_version(index_dir) / MANIFEST).read_text())
    manifest.update(changes)
    rewrite_manifest(index_dir, manifest)


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
    (served_version(built) / MANIFEST).write_text("{not json")
    with pytest.raises(IndexCorrupt, match=MANIFEST):
        load_index(built)


def test_failed_build_keeps_the_previous_index(built: Path, corpus: Path) -> None:
    before = (served_version(built) / MANIFEST).read_bytes()
    (corpus / "second.md").write_text("# Second\n\n## Part\n\nIVIG text to embed.\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="on purpose"):
        build_index_at(corpus, built, HashEmbedder(fail_on="ivig"), CHUNKING)
    assert (served_version(built) / MANIFEST).read_bytes() == before
    load_index(built)
    assert sorted(p.name for p in built.parent.iterdir()) == ["corpus", "index"]
    assert sorted(p.name for p in built.iterdir()) == [".lock", "current", "versions"]
    assert [p.name for p in (built / "versions").iterdir() if ".building-" in p.name] == []


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


def _version_files(index_dir: Path) -> list[str]:
    return sorted(p.name for p in served_version(index_dir).iterdir())


def test_every_file_of_the_index_is_checked_byte_by_byte(built: Path) -> None:
    """A flipped byte anywhere, in any file (the manifest and its checksum included), is refused."""
    names = _version_files(built)
    assert {MANIFEST, "manifest.sha256", "README.md", *INDEX_FILES} <= set(names)
    for name in names:
        path = served_version(built) / name
        original = path.read_bytes()
        for position in sorted({0, len(original) // 3, len(original) // 2, len(original) - 1}):
            damaged = bytearray(original)
            damaged[position] ^= 0x01
            path.write_bytes(bytes(damaged))
            with pytest.raises(IndexCorrupt, match="fails its checksum"):
                load_index(built)
        path.write_bytes(original)
    load_index(built)


def _edit_passages(index_dir: Path, edit: object) -> None:
    lines = [
        json.loads(line)
        for line in (served_version(index_dir) / PASSAGES).read_text(encoding="utf-8").splitlines()
    ]
    edit(lines)  # type: ignore[operator]
    encoded = [(json.dumps(r) + "\n").encode() for r in lines]
    (served_version(index_dir) / PASSAGES).write_bytes(b"".join(encoded))
    offsets = np.concatenate(([0], np.cumsum([len(line) for line in encoded]))).astype(np.int64)
    np.save(served_version(index_dir) / PASSAGE_OFFSETS, offsets)
    resign_file(index_dir, PASSAGES)
    resign_file(index_dir, PASSAGE_OFFSETS)


def _drop_first_reference(manifest: dict[str, object]) -> None:
    for document in manifest["documents"]:  # type: ignore[attr-defined]
        if document["references"]:
            document["references"].pop(sorted(document["references"], key=int)[0])
            return


def _edit_sentence_rows(index_dir: Path, edit: Callable[[np.ndarray], object]) -> None:
    rows = np.load(served_version(index_dir) / SENTENCE_ROWS)
    edit(rows)
    np.save(served_version(index_dir) / SENTENCE_ROWS, rows)
    resign_file(index_dir, SENTENCE_ROWS)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: _edit_manifest(d, documents=[]), "lists no documents"),
        (lambda d: _edit_manifest(d, passage_count=1), "counts other passages"),
        (
            lambda d: rewrite_manifest(
                d,
                (lambda m: (_drop_first_reference(m), m)[1])(
                    json.loads((served_version(d) / MANIFEST).read_text())
                ),
            ),
            "cites a reference its document lacks",
        ),
        (lambda d: _edit_passages(d, lambda rows: rows[0].update(doc_id="ghost")), "does not list"),
        (lambda d: _edit_passages(d, lambda rows: rows[1].update(id=rows[0]["id"])), "used twice"),
        (
            lambda d: (
                np.save(served_version(d) / SENTENCE_ROWS, np.array([[10**6, 0, 5]], dtype=np.int64)),
                resign_file(d, SENTENCE_ROWS),
            ),
            "does not match|names no passage",
        ),
        (lambda d: _edit_sentence_rows(d, lambda rows: rows.__setitem__((3, 2), 10**6)), "row 3 is outside"),
        (
            lambda d: _edit_sentence_rows(d, lambda rows: rows.__setitem__((4, 0), -1)),
            "row 4 names no passage",
        ),
    ],
    ids=[
        "no-documents",
        "passage-count",
        "reference-removed",
        "unknown-document",
        "duplicate-id",
        "sentence-row",
        "sentence-past-its-passage",
        "sentence-of-no-passage",
    ],
)
def test_an_index_whose_parts_disagree_is_refused_with_a_sentence(
    built: Path, damage: object, message: str
) -> None:
    damage(built)  # type: ignore[operator]
    with pytest.raises(IndexCorrupt, match=message):
        load_index(built)


def test_a_fifo_in_place_of_a_file_is_refused_without_hanging(built: Path) -> None:
    path = served_version(built) / PASSAGES
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(IndexCorrupt, match=f"{PASSAGES} is not a regular file"):
        load_index(built)


def test_a_permission_error_is_a_sentence_naming_the_file(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root in CI, where chmod does not stop a read: the refusal is simulated.
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == PASSAGE_VECTORS:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(IndexCorrupt, match=f"{PASSAGE_VECTORS} cannot be read \\(permission denied\\)"):
        load_index(built)


def test_current_names_a_version_and_old_versions_are_kept_for_rollback(
    built: Path, corpus: Path, hash_embedder: HashEmbedder
) -> None:
    first = served_version(built)
    assert (built / "current").is_symlink() and first.parent == built / "versions"
    (corpus / "second.md").write_text("# Second\n\n## Part\n\nSome new text.\n", encoding="utf-8")
    second = build_index_at(corpus, built, hash_embedder, CHUNKING).index
    assert served_version(built) != first and second.directory == served_version(built)
    assert "second" in load_index(built).documents
    done = subprocess.run(
        [str(Path(sys.executable).with_name("rsa-qa")), "index", "--rollback", "--index-dir", str(built)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert served_version(built) == first and "second" not in load_index(built).documents


def test_old_versions_beyond_the_kept_ones_are_removed(
    built: Path, corpus: Path, hash_embedder: HashEmbedder
) -> None:
    article = next(p for p in corpus.iterdir() if p.suffix == ".txt")
    for number in range(4):
        article.write_text(article.read_text(encoding="utf-8") + f"\nMore text {number}.\n", encoding="utf-8")
        build_index_at(corpus, built, hash_embedder, CHUNKING, keep=2)
    versions = list((built / "versions").iterdir())
    assert len(versions) == 2 and served_version(built) in versions


def test_a_lost_link_is_restored_and_leftovers_removed_by_the_next_build(
    built: Path, corpus: Path, hash_embedder: HashEmbedder
) -> None:
    version = served_version(built)
    (built / "current").unlink()  # as if killed between the version's rename and the link's
    leftover = built / "versions" / "20200101T000000.000000Z.building-1"
    leftover.mkdir()
    (leftover / PASSAGES).write_text("half")
    lines: list[str] = []
    build_index_at(corpus, built, hash_embedder, CHUNKING, progress=lines.append)
    assert any("restored" in line for line in lines) and not leftover.exists()
    assert served_version(built) == version  # nothing changed: the same version is current again


def test_an_index_from_before_versions_is_replaced_and_its_files_removed(
    corpus: Path, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    built = build_index_at(corpus, tmp_path / "first", hash_embedder, CHUNKING).index.directory
    plain = tmp_path / "index"
    shutil.copytree(built, plain)  # files in the folder itself, as before versions
    assert load_index(plain).version
    (corpus / "second.md").write_text("# Second\n\n## Part\n\nSome new text.\n", encoding="utf-8")
    build_index_at(corpus, plain, hash_embedder, CHUNKING)
    assert (plain / "current").is_symlink() and not (plain / MANIFEST).exists()
    assert "second" in load_index(plain).documents


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_a_search_within_a_filter_returns_only_allowed_rows_and_finds_their_nearest(kind: str) -> None:
    """A filter keeping 2 % of the rows: HNSW and IVF unwidened would find about 2 % of what they look at."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((20_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    built = build_vector_index(vectors, AnnSettings(), kind)
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[::50] = True
    found = 0
    for question in vectors[:20]:
        rows = search_within(built, question, 10, Within(allowed))
        assert len(rows) == 10 and allowed[rows].all()
        exact = np.flatnonzero(allowed)[np.argsort(-(vectors[allowed] @ question))[:10]]
        found += len(set(rows.tolist()) & set(exact.tolist()))
    assert found / 200 >= 0.9, "recall@10 among the allowed rows"
