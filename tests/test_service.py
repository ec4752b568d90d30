"""Loading and reloading the served index. Plumbing: the hash embedder stands in for the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import CORPUS, HashEmbedder
from rsa_qa.config import Settings
from rsa_qa.errors import IndexCorrupt, IndexMismatch, IndexNotFound, RsaQaError
from rsa_qa.service import Service, build_index
from rsa_qa.store.manifest import read_manifest
from rsa_qa.store.records import INDEX_FILES, MANIFEST
from rsa_qa.store.versions import served_version


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    corpus = shutil.copytree(CORPUS, tmp_path / "corpus")
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def build(settings: Settings, embedder: HashEmbedder | None = None) -> str:
    """Build the index and return its version, as written in its manifest."""
    build_index(settings, embedder or HashEmbedder(), progress=lambda _: None)
    return str(read_manifest(settings.index_dir)["index_version"])


def change_corpus(settings: Settings) -> None:
    article = next(settings.corpus_dir.iterdir())
    article.write_text(article.read_text(encoding="utf-8") + "\nA paragraph added later.\n", encoding="utf-8")


def test_start_without_an_index_is_not_ready_and_says_what_to_run(settings: Settings) -> None:
    service = Service(settings, embedder=HashEmbedder())
    service.start()
    assert service.searcher is None
    assert service.not_ready_reason is not None and "make index" in service.not_ready_reason


@pytest.mark.parametrize("name", INDEX_FILES)
def test_start_with_a_truncated_file_names_it_and_serves_nothing(settings: Settings, name: str) -> None:
    build(settings)
    path = served_version(settings.index_dir) / name
    path.write_bytes(path.read_bytes()[:-10])
    service = Service(settings, embedder=HashEmbedder())
    service.start()
    assert service.searcher is None
    assert service.not_ready_reason is not None and name in service.not_ready_reason


def test_reload_swaps_in_a_rebuilt_index(settings: Settings) -> None:
    first_version = build(settings)
    service = Service(settings, embedder=HashEmbedder())
    service.start()
    first = service.searcher
    assert first is not None and first.index.version == first_version
    change_corpus(settings)
    second_version = build(settings)
    done = service.reload()
    assert (done.previous_version, done.index_version, done.changed) == (first_version, second_version, True)
    assert service.searcher is not first and service.searcher is not None
    assert service.searcher.index.version == second_version
    assert service.searcher.embedder is first.embedder, "the model is not loaded again"


def test_reload_of_the_same_index_is_a_swap_without_change(settings: Settings) -> None:
    build(settings)
    service = Service(settings, embedder=HashEmbedder())
    service.start()
    done = service.reload()
    assert not done.changed and done.index_version == done.previous_version


def _remove_index(settings: Settings) -> None:
    shutil.rmtree(settings.index_dir)


def _truncate_vectors(settings: Settings) -> None:
    path = served_version(settings.index_dir) / "passages.faiss"
    path.write_bytes(path.read_bytes()[:64])


def _garble_manifest(settings: Settings) -> None:
    (served_version(settings.index_dir) / MANIFEST).write_text('{"format_version": 1, "files": ')


def _other_model(settings: Settings) -> None:
    build_index(settings, OtherModel(), progress=lambda _: None)


class OtherModel(HashEmbedder):
    def fingerprint(self) -> str:
        return "another-model"


@pytest.mark.parametrize(
    ("breakage", "error"),
    [
        (_remove_index, IndexNotFound),
        (_truncate_vectors, IndexCorrupt),
        (_garble_manifest, IndexCorrupt),
        (_other_model, IndexMismatch),
    ],
    ids=["removed", "truncated", "garbled-manifest", "other-model"],
)
def test_a_failed_reload_keeps_serving_the_old_index(
    settings: Settings, breakage: object, error: type[RsaQaError]
) -> None:
    build(settings)
    service = Service(settings, embedder=HashEmbedder())
    service.start()
    served = service.searcher
    breakage(settings)  # type: ignore[operator]
    with pytest.raises(error):
        service.reload()
    assert service.searcher is served
    assert service.not_ready_reason is None


def test_a_failed_rebuild_leaves_the_served_index_and_the_one_on_disk(settings: Settings) -> None:
    version = build(settings)
    service = Service(settings, embedder=HashEmbedder())
    service.start()
    change_corpus(settings)
    with pytest.raises(RuntimeError, match="on purpose"):
        build_index(settings, HashEmbedder(fail_on="ivig"), progress=lambda _: None)
    assert service.searcher is not None and service.searcher.index.version == version
    service.reload()  # the old index is on disk, and the corpus no longer matches it
    assert service.searcher.index.version == version
    assert service.searcher.index.stale is not None and "make index" in service.searcher.index.stale
