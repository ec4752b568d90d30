"""PostgreSQL + pgvector as the index's home, shared by every replica (RSA_QA_DATABASE_URL).

`rsa-qa index` builds a version in the index directory as always (it is the build's
workspace, and re-embeds only changed documents), then publishes it here; `rsa-qa serve`
loads the version the database names current and follows it: a replica notices a new
version within RSA_QA_DATABASE_POLL_S and swaps it in, with no copy and no reload call.

    rsa_qa_parts       one document's share of an index, addressed by its content: the key
                       is a digest of the document's id and file hash, the model and the
                       chunking, so an unchanged document is neither re-embedded nor re-sent
    rsa_qa_passages    (part, ordinal): passage id, record, embedding vector
    rsa_qa_sentences   (part, ordinal): passage ordinal, span, embedding vector
    rsa_qa_versions    version: manifest, its parts in order, when it was published
    rsa_qa_current     one row: the version every replica serves

A version becomes current in the same transaction that writes it, so every replica sees
all of it or none. A replica reads a version in one REPEATABLE READ transaction: a version
pruned while it reads is still whole in its snapshot. Each part carries a sha256 of its
rows, checked when a replica reads them: a damaged row is refused, never served. A replica
loading a new version reads only the parts its served version lacks (or whose record
changed since it read them), and takes the others from the version it serves.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from rsa_qa.errors import REBUILD_HINT, IndexCorrupt, IndexNotFound, RsaQaError
from rsa_qa.pipeline.chunk import ChunkSettings, Passage
from rsa_qa.pipeline.document import DocumentInfo
from rsa_qa.store.load import LoadedIndex, StoredPart, check_consistent
from rsa_qa.store.manifest import check_compatible, corpus_changes
from rsa_qa.store.records import (
    FORMAT_VERSION,
    SentenceRows,
    document_from_record,
    passage_from_record,
    passage_record,
)
from rsa_qa.store.vector_index import AnnSettings, Within, build_vector_index, exact_vectors

log = logging.getLogger(__name__)
# Versions kept: the current one and those before it (a replica may still be loading one).
KEEP_VERSIONS = 3
# An IVFFlat index gets as many lists as the directory store's IVF (4 x the square root of
# the passages) and a query reads as many of them (ivf_nprobe). At a million passages, 48
# and 64 of 4,000 lists gave recall@10 0.957 and 0.965 in 10 and 12 ms, where pgvector's
# advice (1,000 lists, 20 or 32 read) gave 0.955 and 0.975 in 15 and 21 ms: a list read
# costs pgvector about a microsecond a vector, so fewer, smaller lists read are faster at
# the same recall. pgvector allows at most IVFFLAT_MAX_LISTS.
IVFFLAT_MAX_LISTS = 32_768
# pgvector's refusal when an index build needs more maintenance_work_mem than it is given.
_MEMORY_REQUIRED = re.compile(r"memory required is (\d+) MB")
# pgvector 0.8 or later: the `vector` type, HNSW, IVFFlat and their iterative scans; the
# tests run 0.8.5.
SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS rsa_qa_parts (
    key text PRIMARY KEY,
    doc_id text NOT NULL,
    document jsonb NOT NULL,
    passages integer NOT NULL,
    sentences integer NOT NULL,
    checksum text NOT NULL
);
CREATE TABLE IF NOT EXISTS rsa_qa_passages (
    part text NOT NULL REFERENCES rsa_qa_parts (key) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    id text NOT NULL,
    record jsonb NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (part, ordinal)
);
CREATE TABLE IF NOT EXISTS rsa_qa_sentences (
    part text NOT NULL REFERENCES rsa_qa_parts (key) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    passage integer NOT NULL,
    start_char integer NOT NULL,
    end_char integer NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (part, ordinal)
);
CREATE TABLE IF NOT EXISTS rsa_qa_versions (
    version text PRIMARY KEY,
    manifest jsonb NOT NULL,
    parts text[] NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS rsa_qa_version_files (
    version text NOT NULL REFERENCES rsa_qa_versions (version) ON DELETE CASCADE,
    name text NOT NULL,
    content bytea NOT NULL,
    sha256 text NOT NULL,
    PRIMARY KEY (version, name)
);
CREATE TABLE IF NOT EXISTS rsa_qa_current (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version text NOT NULL REFERENCES rsa_qa_versions (version)
);
"""
# Serialises publishers (and schema creation) across processes and machines.
_PUBLISH_LOCK = 0x7273_612D_7161  # "rsa-qa"
Progress = Callable[[str], None]


class DatabaseError(RsaQaError):
    """The database cannot be reached, or refused what was asked of it."""


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


@contextmanager
def connect(url: str, read_only: bool = False) -> Iterator[Any]:
    """A connection with pgvector's types, in one transaction committed on success."""
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        connection = psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to the database at {redact(url)}: {_reason(exc)}") from exc
    try:
        with connection:
            if read_only:
                connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            elif not _has_schema(connection):
                _create_schema(connection)
            has_vector = connection.execute("SELECT to_regtype('vector') IS NOT NULL").fetchone()
            if has_vector is not None and has_vector[0]:
                register_vector(connection)
            yield connection
    except psycopg.Error as exc:
        raise DatabaseError(f"the database at {redact(url)} failed: {_reason(exc)}") from exc
    finally:
        connection.close()


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _has_schema(connection: Any) -> bool:
    row = connection.execute("SELECT to_regclass('rsa_qa_current') IS NOT NULL").fetchone()
    return bool(row[0])


def _create_schema(connection: Any) -> None:
    connection.execute("SELECT pg_advisory_xact_lock(%s)", [_PUBLISH_LOCK])
    connection.execute(SCHEMA)


def current_version(url: str) -> str | None:
    """The version the database names current; None when nothing was published yet."""
    with connect(url, read_only=True) as connection:
        if not _has_schema(connection):
            return None
        row = connection.execute("SELECT version FROM rsa_qa_current").fetchone()
        return str(row[0]) if row else None


# --- publishing -------------------------------------------------------------------------


def publish(
    index: LoadedIndex,
    url: str,
    progress: Progress = lambda _: None,
    keep: int = KEEP_VERSIONS,
) -> bool:
    """Make index the database's current version; False when it already was.

    Documents already in the database (same id, file, model and chunking) are not sent
    again. The version's rows, its record and the switch are one transaction.
    """
    from psycopg.types.json import Jsonb

    manifest = _stored_manifest(index.manifest)
    parts = list(_parts_of(index))
    with connect(url) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", [_PUBLISH_LOCK])
        current = connection.execute("SELECT version FROM rsa_qa_current").fetchone()
        if current is not None and current[0] == index.version:
            return False
        present = {
            row[0]
            for row in connection.execute(
                "SELECT key FROM rsa_qa_parts WHERE key = ANY(%s)", [[part.key for part in parts]]
            )
        }
        missing = [part for part in parts if part.key not in present]
        for part in missing:
            _write_part(connection, part)
        if missing:
            # The planner's row counts, so that the first questions after a large publish read
            # the vector index rather than sorting every row of the version (autovacuum would
            # count them only a minute or more later).
            connection.execute("ANALYZE rsa_qa_passages, rsa_qa_sentences")
        index_note = ""
        if parts:
            dimension, kind = int(manifest["model"]["dimension"]), manifest["vector_index"]["kind"]
            index_note = _ensure_vector_index(connection, dimension, kind)
        inserted = connection.execute(
            "INSERT INTO rsa_qa_versions (version, manifest, parts) VALUES (%s, %s, %s) "
            "ON CONFLICT (version) DO NOTHING RETURNING version",
            [index.version, Jsonb(manifest), [part.key for part in parts]],
        ).fetchone()
        if inserted is not None:
            _write_derived(connection, index)
        connection.execute(
            "INSERT INTO rsa_qa_current (one, version) VALUES (true, %s) "
            "ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            [index.version],
        )
        removed = _prune(connection, keep)
    progress(
        f"database {redact(url)}: version {index.version} is current; {len(missing)} of "
        f"{len(parts)} documents sent, {len(parts) - len(missing)} already there"
        + (f"; removed versions {', '.join(removed)}" if removed else "")
        + index_note
    )
    return True


class _Part:
    """One document's rows, as stored."""

    def __init__(
        self,
        key: str,
        document: dict[str, Any],
        passages: list[dict[str, Any]],
        vectors: np.ndarray,
        sentences: list[tuple[int, int, int]],
        sentence_vectors: np.ndarray,
    ) -> None:
        self.key = key
        self.document = document
        self.passages = passages
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.sentences = sentences
        self.sentence_vectors = np.ascontiguousarray(sentence_vectors, dtype=np.float32)

    @property
    def doc_id(self) -> str:
        return str(self.document["id"])

    def checksum(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([self.document, self.passages, self.sentences], sort_keys=True).encode())
        digest.update(self.vectors.tobytes())
        digest.update(self.sentence_vectors.tobytes())
        return digest.hexdigest()


def _parts_of(index: LoadedIndex) -> Iterator[_Part]:
    """The index cut by document, in its order; sentence rows renumbered within each part."""
    vectors = exact_vectors(index.vectors)
    documents = {record["id"]: record for record in index.manifest["documents"]}
    build = json.dumps(
        [FORMAT_VERSION, index.manifest["model"]["fingerprint"], index.manifest["chunking"]], sort_keys=True
    )
    rows_by_passage: dict[int, list[int]] = {}
    for number, sentence in enumerate(index.sentence_rows):
        rows_by_passage.setdefault(sentence.passage, []).append(number)
    start = 0
    seen: set[str] = set()
    while start < len(index.passages):
        doc_id = index.passages[start].doc_id
        if doc_id in seen:
            raise IndexCorrupt(
                f"{index.directory}: the passages of {doc_id} are not together: {REBUILD_HINT}"
            )
        seen.add(doc_id)
        end = start
        while end < len(index.passages) and index.passages[end].doc_id == doc_id:
            end += 1
        sentence_numbers = [n for row in range(start, end) for n in rows_by_passage.get(row, [])]
        sentences = [
            (index.sentence_rows[n].passage - start, index.sentence_rows[n].start, index.sentence_rows[n].end)
            for n in sentence_numbers
        ]
        document = documents[doc_id]
        key = hashlib.sha256(f"{build}\0{doc_id}\0{document['hash']}".encode()).hexdigest()
        yield _Part(
            key,
            document,
            [passage_record(p) for p in index.passages[start:end]],
            vectors[start:end],
            sentences,
            np.asarray(index.sentence_vectors[sentence_numbers]).reshape(
                len(sentence_numbers), vectors.shape[1]
            ),
        )
        start = end


def _write_part(connection: Any, part: _Part) -> None:
    from psycopg.types.json import Jsonb

    connection.execute(
        "INSERT INTO rsa_qa_parts (key, doc_id, document, passages, sentences, checksum) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        [
            part.key,
            part.doc_id,
            Jsonb(part.document),
            len(part.passages),
            len(part.sentences),
            part.checksum(),
        ],
    )
    cursor = connection.cursor()
    with cursor.copy(
        "COPY rsa_qa_passages (part, ordinal, id, record, embedding) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["text", "int4", "text", "jsonb", "vector"])
        for ordinal, (record, vector) in enumerate(zip(part.passages, part.vectors, strict=True)):
            copy.write_row((part.key, ordinal, record["id"], Jsonb(record), vector))
    with cursor.copy(
        "COPY rsa_qa_sentences (part, ordinal, passage, start_char, end_char, embedding) "
        "FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["text", "int4", "int4", "int4", "int4", "vector"])
        for ordinal, ((passage, begin, end), vector) in enumerate(
            zip(part.sentences, part.sentence_vectors, strict=True)
        ):
            copy.write_row((part.key, ordinal, passage, begin, end, vector))


@dataclass(frozen=True)
class _VectorIndex:
    """One kind of pgvector index over the passages' vectors: its access method and the type
    the vectors are cast to for it, which a question must be cast to as well for the index
    to be used."""

    method: str  # "hnsw" or "ivfflat"
    element: str  # "vector" or "halfvec"

    def name(self, dimension: int) -> str:
        half = "_half" if self.element == "halfvec" else ""
        return f"rsa_qa_passages_{self.method}{half}_{dimension}"

    def cast(self, dimension: int) -> str:
        return f"{self.element}({dimension})"


_HNSW = _VectorIndex("hnsw", "vector")
# IVFFlat lists over half-precision vectors: half the bytes a list read. At a million
# passages (bare table, 4,000 lists, 64 read) 8.5 ms at recall@10 0.974 against 11.8 ms at
# 0.965 as float32; binary quantisation with a re-ranking pass reached only 0.52-0.67 on the
# same vectors.
_IVFFLAT = _VectorIndex("ivfflat", "halfvec")
# Every kind a database may hold, the first present is searched: the float32 IVFFlat index is
# what publishes before 2026-12-07 built.
_KNOWN_INDEXES = (_HNSW, _IVFFLAT, _VectorIndex("ivfflat", "vector"))


def _present_indexes(connection: Any, dimension: int) -> list[_VectorIndex]:
    return [
        known
        for known in _KNOWN_INDEXES
        if connection.execute("SELECT to_regclass(%s)", [known.name(dimension)]).fetchone()[0]
    ]


def _ensure_vector_index(connection: Any, dimension: int, kind: str) -> str:
    """pgvector's index over every passage vector of this dimension: what a replica asks for a
    question's nearest passages. Built once, with the first version of this dimension; later
    documents are added to it as they are written. The column has no fixed dimension, so the
    index is on a cast to one (to half precision for IVFFlat). `kind` is the directory store's
    choice for the version's size (AnnSettings.kind_for): from ivf_min_passages on, IVFFlat,
    else HNSW.

    At a million passages (this project's synthetic ones, measured on 2 cores) IVFFlat built
    in 48 s and found recall@10 0.945 / 0.981 probing 20 / 40 of its 1,000 lists, where HNSW
    (pgvector's m 16, ef_construction 64) took 6-9 minutes to build and reached 0.88-0.94 at
    ef_search 256-512, no faster. HNSW keeps those defaults, not the in-memory index's
    32 / 80: that graph outgrew 2 GB of maintenance_work_mem at a million passages.

    An index, once built, is kept as it is: a database that grew past ivf_min_passages keeps
    its HNSW index, and an IVFFlat index (float32 before 2026-12-07) keeps the lists it
    learnt, until the operator drops it (`DROP INDEX rsa_qa_passages_hnsw_384`) and the next
    publish builds the other; what is returned says so, for the publish's report."""
    wanted = _IVFFLAT if kind == "ivf" else _HNSW
    present = _present_indexes(connection, dimension)
    if present:
        if wanted in present:
            return ""
        kept = present[0].name(dimension)
        return (
            f"; this version's size asks for {wanted.name(dimension)}, the database keeps {kept} "
            f"built before (DROP INDEX {kept}, then publish, to build it anew)"
        )
    column = f"(embedding::{wanted.cast(dimension)}) {wanted.element}_ip_ops"
    create = f"CREATE INDEX {wanted.name(dimension)} ON rsa_qa_passages USING {wanted.method} ({column})"
    if wanted.method == "ivfflat":
        counted = connection.execute("SELECT count(*) FROM rsa_qa_passages").fetchone()
        lists = min(AnnSettings().ivf_lists(int(counted[0]) if counted else 0), IVFFLAT_MAX_LISTS)
        return _create_index(connection, f"{create} WITH (lists = {lists})")
    return _create_index(connection, f"{create} WITH (m = 16, ef_construction = 64)")


def _create_index(connection: Any, sql: str) -> str:
    """Runs CREATE INDEX. When pgvector needs more maintenance_work_mem than the server gives
    (IVFFlat's k-means holds its sample in memory: 3.4 GB for 4,000 lists of 384 dimensions;
    a stock server gives 64 MB), it is given what it asked for, for this transaction only."""
    import psycopg

    try:
        with connection.transaction():  # a savepoint: the publish survives the refusal
            connection.execute(sql)
        return ""
    except psycopg.errors.ProgramLimitExceeded as exc:
        needed = _MEMORY_REQUIRED.search(str(exc))
        if needed is None:
            raise
    megabytes = int(needed.group(1)) + 64
    connection.execute(f"SET LOCAL maintenance_work_mem = '{megabytes}MB'")
    connection.execute(sql)
    return f"; the vector index was built with {megabytes} MB of maintenance_work_mem"


class NearestInDatabase:
    """A question's nearest passages of one loaded version, from pgvector's HNSW or IVFFlat index.

    The index covers every version's passages; the version's parts are a filter, so the scan
    is iterative (hnsw.iterative_scan, ivfflat.iterative_scan) and returns as many as asked
    however few the version holds of the whole. A search's document and section filters
    narrow the same WHERE: the parts of the documents that hold allowed passages and, for
    sections, the sections' keys (the searcher then checks each row exactly). One connection
    per thread, opened on first use.
    """

    def __init__(self, url: str, parts: list[tuple[str, int]], cast: str, ann: AnnSettings) -> None:
        """cast: the type the searched index holds the vectors as, e.g. "halfvec(384)"."""
        self._url = url
        self._keys = [key for key, _ in parts]
        self._offset = dict(parts)
        self._ann = ann
        self._local = threading.local()
        self._opened: list[Any] = []  # every thread's connection, closed with this object
        self._opened_lock = threading.Lock()
        self._part_starts = np.array([offset for _, offset in parts], dtype=np.int64)
        # An iterative scan in relaxed order returns the nearest rows a little out of order;
        # the materialised CTE puts them back in order of distance (pgvector's README).
        self._sql = {
            sections: (
                "WITH nearest AS MATERIALIZED ("
                f"SELECT part, ordinal, embedding::{cast} <#> %s::{cast} AS distance "
                "FROM rsa_qa_passages WHERE part = ANY(%s) "
                + ("AND record -> 'section' ->> 'key' = ANY(%s) " if sections else "")
                + "ORDER BY distance LIMIT %s"
                ") SELECT part, ordinal FROM nearest ORDER BY distance, part, ordinal"
            )
            for sections in (False, True)
        }

    def __call__(self, vector: np.ndarray, count: int, within: Within | None = None) -> np.ndarray:
        import psycopg
        from pgvector import Vector

        question = Vector(np.asarray(vector, dtype=np.float32))
        keys = self._keys if within is None else self._parts_within(within.rows)
        sections = None if within is None else within.section_keys
        arguments = [question, keys, *([list(sections)] if sections else []), count]
        try:
            found = self._connection().execute(self._sql[bool(sections)], arguments).fetchall()
        except psycopg.Error as exc:
            broken = self._local.__dict__.pop("connection", None)
            if broken is not None:
                broken.close()
            raise DatabaseError(f"the database at {redact(self._url)} failed: {_reason(exc)}") from exc
        return np.array([self._offset[part] + ordinal for part, ordinal in found], dtype=np.int64)

    def _parts_within(self, allowed: np.ndarray) -> list[str]:
        """The parts holding at least one allowed passage row."""
        counted = np.concatenate(([0], np.cumsum(allowed, dtype=np.int64)))
        ends = np.append(self._part_starts[1:], len(allowed))
        holding = counted[ends] > counted[self._part_starts]
        return [key for key, held in zip(self._keys, holding.tolist(), strict=True) if held]

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            import psycopg
            from pgvector.psycopg import register_vector

            try:
                connection = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
            except psycopg.Error as exc:
                raise DatabaseError(
                    f"cannot connect to the database at {redact(self._url)}: {_reason(exc)}"
                ) from exc
            register_vector(connection)
            connection.execute(f"SET hnsw.ef_search = {min(max(self._ann.ef_search, 1), 1000)}")
            connection.execute("SET hnsw.iterative_scan = relaxed_order")
            connection.execute(f"SET ivfflat.probes = {max(self._ann.nprobe, 1)}")
            connection.execute("SET ivfflat.iterative_scan = relaxed_order")
            self._local.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    # A reload drops the old index, and with it this object: its connections go too.
    __del__ = close


def _write_derived(connection: Any, index: LoadedIndex) -> None:
    """What the build worked out for the searcher (its search.* files), so that a replica
    reads the tables rather than working them out again from every passage."""
    for name, value in index.derived.items():
        if isinstance(value, np.ndarray):
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
            content = buffer.getvalue()
        else:
            content = json.dumps(value, ensure_ascii=False).encode()
        connection.execute(
            "INSERT INTO rsa_qa_version_files (version, name, content, sha256) VALUES (%s, %s, %s, %s)",
            [index.version, name, content, hashlib.sha256(content).hexdigest()],
        )


def _read_derived(connection: Any, version: str) -> dict[str, Any]:
    derived: dict[str, Any] = {}
    for name, content, checksum in connection.execute(
        "SELECT name, content, sha256 FROM rsa_qa_version_files WHERE version = %s ORDER BY name", [version]
    ):
        data = bytes(content)
        if hashlib.sha256(data).hexdigest() != checksum:
            raise IndexCorrupt(f"database version {version}, {name} fails its checksum: {REBUILD_HINT}")
        if str(name).endswith(".npy"):
            derived[str(name)] = np.load(io.BytesIO(data), allow_pickle=False)
        else:
            derived[str(name)] = json.loads(data)
    return derived


def _stored_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    # File checksums describe the directory the version was built in, not these rows.
    return {key: value for key, value in manifest.items() if key != "files"}


def _prune(connection: Any, keep: int) -> list[str]:
    """Remove all but the newest `keep` versions (never the current one), then every part
    no remaining version uses. A replica reading a removed version still has it whole in
    its snapshot."""
    old = [
        str(row[0])
        for row in connection.execute(
            "SELECT version FROM rsa_qa_versions WHERE version <> (SELECT version FROM rsa_qa_current) "
            "ORDER BY published_at DESC, version OFFSET %s",
            [max(keep - 1, 0)],
        )
    ]
    if old:
        connection.execute("DELETE FROM rsa_qa_versions WHERE version = ANY(%s)", [old])
        connection.execute(
            "DELETE FROM rsa_qa_parts WHERE NOT EXISTS "
            "(SELECT 1 FROM rsa_qa_versions v WHERE rsa_qa_parts.key = ANY(v.parts))"
        )
    return old


def rollback(url: str) -> tuple[str, str]:
    """Make the version published before the current one current again; (was, now)."""
    with connect(url) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", [_PUBLISH_LOCK])
        row = connection.execute(
            "SELECT c.version, (SELECT v.version FROM rsa_qa_versions v, rsa_qa_versions cur "
            "WHERE cur.version = c.version AND v.published_at < cur.published_at "
            "ORDER BY v.published_at DESC LIMIT 1) FROM rsa_qa_current c"
        ).fetchone()
        if row is None or row[1] is None:
            raise IndexNotFound(f"the database at {redact(url)} keeps no version before the current one")
        connection.execute("UPDATE rsa_qa_current SET version = %s", [row[1]])
        return str(row[0]), str(row[1])


# --- loading ----------------------------------------------------------------------------


def load_from_database(
    url: str,
    ann: AnnSettings,
    corpus_dir: Path | None = None,
    embedder_fingerprint: str | None = None,
    chunking: ChunkSettings | None = None,
    backend: str | None = None,
    previous: LoadedIndex | None = None,
) -> LoadedIndex:
    """The database's current version, whole and checked, or IndexNotFound/IndexCorrupt/
    IndexMismatch/DatabaseError.

    `previous`, the version a replica serves, lends the parts the two versions share, so that
    only the documents that changed are read: adding one article to a million passages reads
    that article, not the million. A part is lent only when the database's record of it
    (checksum and row counts) is the one its rows were checked against when first read."""
    with connect(url, read_only=True) as connection:
        if not _has_schema(connection):
            raise IndexNotFound(
                f"nothing has been published to the database at {redact(url)}: {_PUBLISH_HINT}"
            )
        row = connection.execute(
            "SELECT v.version, v.manifest, v.parts "
            "FROM rsa_qa_current c JOIN rsa_qa_versions v USING (version)"
        ).fetchone()
        if row is None:
            raise IndexNotFound(f"the database at {redact(url)} names no current version: {_PUBLISH_HINT}")
        version, manifest, part_keys = str(row[0]), dict(row[1]), list(row[2])
        check_compatible(manifest, embedder_fingerprint, chunking, backend)
        dimension = int(manifest["model"]["dimension"])
        held = _held_parts(connection, previous, dimension, part_keys)
        parts = [
            held[key]() if key in held else _unpacked(*_read_part(connection, key, version, dimension))
            for key in part_keys
        ]
        kept = sum(key in held for key in part_keys)
        if previous is not None:
            log.info(
                "version %s: %d of %d document parts read from the database, %d kept from version %s",
                version,
                len(part_keys) - kept,
                len(part_keys),
                kept,
                previous.version,
            )
        derived = _read_derived(connection, version)
        # The type a question is cast to: that of the vector index the database holds (float32
        # when it holds none, which pgvector then answers by scanning).
        searched = (_present_indexes(connection, dimension) or [_HNSW])[0].cast(dimension)
    index = _assemble(version, manifest, parts, ann)
    index.derived = derived
    placed = [(part.key, part.passages.start) for part in index.stored_parts]
    # Below the size at which the directory store too stops scanning every vector, the exact
    # scan in memory is faster than the round trip (24 ms p50 at 10k passages, measured).
    if len(index.passages) >= ann.min_passages:
        index.nearest = NearestInDatabase(url, placed, searched, ann)
    check_consistent(index)
    index.stale = corpus_changes(manifest, corpus_dir)
    return index


_PUBLISH_HINT = "run `rsa-qa index` with RSA_QA_DATABASE_URL set to publish one"


def _read_part(connection: Any, key: str, version: str, dimension: int) -> tuple[_Part, str]:
    """The part's rows, checked, and their checksum."""
    where = f"database version {version}, document part {key[:12]}"
    row = connection.execute(
        "SELECT document, passages, sentences, checksum FROM rsa_qa_parts WHERE key = %s", [key]
    ).fetchone()
    if row is None:
        raise IndexCorrupt(f"{where} is missing: {REBUILD_HINT}")
    document, passage_count, sentence_count, checksum = dict(row[0]), int(row[1]), int(row[2]), str(row[3])
    records = connection.execute(
        "SELECT record FROM rsa_qa_passages WHERE part = %s ORDER BY ordinal", [key]
    ).fetchall()
    spans = connection.execute(
        "SELECT passage, start_char, end_char FROM rsa_qa_sentences WHERE part = %s ORDER BY ordinal", [key]
    ).fetchall()
    if len(records) != passage_count or len(spans) != sentence_count:
        raise IndexCorrupt(f"{where} has lost rows: {REBUILD_HINT}")
    part = _Part(
        key,
        document,
        [dict(record) for (record,) in records],
        _vectors(connection, "rsa_qa_passages", key, passage_count, dimension, where),
        [(int(p), int(s), int(e)) for p, s, e in spans],
        _vectors(connection, "rsa_qa_sentences", key, sentence_count, dimension, where),
    )
    if part.checksum() != checksum:
        raise IndexCorrupt(f"{where} fails its checksum (modified in the database): {REBUILD_HINT}")
    return part, checksum


# PostgreSQL's binary COPY: a signature, flags and the length of a header extension first,
# a -1 field count last.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_HEADER, _COPY_TRAILER = 19, 2


def _vectors(connection: Any, table: str, key: str, count: int, dimension: int, where: str) -> np.ndarray:
    """The part's vectors in ordinal order, as float32 rows. Read as a binary COPY, whose
    rows all have the same size here, so that numpy reads the stream whole. A row at a time as
    Python objects took 81 s for 450,000 vectors; pgvector's binary forms joined into one value
    by string_agg, 6.1-6.6 s for 280,000; the COPY, 3.2-4.0 s for the same (measured together)."""
    # A row: its field count (2 bytes), the field's length (4), then pgvector's binary form
    # of the vector: its dimension (2), 2 unused bytes, big-endian float32 values.
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("length", ">i4"),
            ("dimension", ">u2"),
            ("unused", ">u2"),
            ("values", ">f4", (dimension,)),
        ]
    )
    expected = _COPY_HEADER + count * row.itemsize + _COPY_TRAILER
    raw = np.empty(expected, dtype=np.uint8)
    filled = 0
    statement = (
        f"COPY (SELECT embedding FROM {table} WHERE part = %s ORDER BY ordinal) TO STDOUT (FORMAT BINARY)"
    )
    with connection.cursor().copy(statement, [key]) as copy:  # noqa: S608 (table is one of ours)
        for block in copy:
            if filled + len(block) > expected:
                raise IndexCorrupt(f"{where} holds vectors not of dimension {dimension}: {REBUILD_HINT}")
            raw[filled : filled + len(block)] = np.frombuffer(block, dtype=np.uint8)
            filled += len(block)
    body = raw[_COPY_HEADER : expected - _COPY_TRAILER]
    rows = body.view(row) if filled == expected else None
    if (
        rows is None
        or raw[: len(_COPY_SIGNATURE)].tobytes() != _COPY_SIGNATURE
        or bool(np.any(rows["fields"] != 1))
        or bool(np.any(rows["length"] != 4 + 4 * dimension))
        or bool(np.any(rows["dimension"] != dimension))
    ):
        raise IndexCorrupt(f"{where} holds vectors not of dimension {dimension}: {REBUILD_HINT}")
    return rows["values"].astype(np.float32, order="C")


@dataclass
class _Unpacked:
    """A part as the searcher holds it: read from the database, or lent by the version served."""

    key: str
    checksum: str  # of its rows, as checked when they were read
    document: DocumentInfo
    passages: Sequence[Passage]
    vectors: np.ndarray
    sentences: np.ndarray  # (n, 3): passage ordinal within the part, start, end
    sentence_vectors: np.ndarray


def _unpacked(part: _Part, checksum: str) -> _Unpacked:
    return _Unpacked(
        part.key,
        checksum,
        document_from_record(part.document),
        [passage_from_record(record) for record in part.passages],
        part.vectors,
        np.array(part.sentences, dtype=np.int64).reshape(len(part.sentences), 3),
        part.sentence_vectors,
    )


def _held_parts(
    connection: Any, previous: LoadedIndex | None, dimension: int, keys: list[str]
) -> dict[str, Callable[[], _Unpacked]]:
    """The parts of the version served that the database still records as they were read, by
    key, each cut from the version served when asked for."""
    if previous is None or int(previous.manifest["model"]["dimension"]) != dimension:
        return {}
    wanted = set(keys)
    served = {stored.key: stored for stored in previous.stored_parts if stored.key in wanted}
    if not served:  # an index directory's, or a version sharing nothing: no record to ask for
        return {}
    unchanged = {
        str(key)
        for key, checksum, passages, sentences in connection.execute(
            "SELECT key, checksum, passages, sentences FROM rsa_qa_parts WHERE key = ANY(%s)", [list(served)]
        )
        if (checksum, passages, sentences)
        == (served[key].checksum, len(served[key].passages), len(served[key].sentences))
    }
    vectors = exact_vectors(previous.vectors)
    rows = previous.sentence_rows.array

    def lent(stored: StoredPart) -> Callable[[], _Unpacked]:
        passages, sentences = stored.passages, stored.sentences
        return lambda: _Unpacked(
            stored.key,
            stored.checksum,
            previous.documents[stored.doc_id],
            previous.passages[passages.start : passages.stop],
            vectors[passages.start : passages.stop],
            rows[sentences.start : sentences.stop] - np.array([passages.start, 0, 0]),
            np.asarray(previous.sentence_vectors[sentences.start : sentences.stop]),
        )

    return {key: lent(served[key]) for key in unchanged}


def _assemble(
    version: str, manifest: dict[str, Any], parts: list[_Unpacked], ann: AnnSettings
) -> LoadedIndex:
    passages: list[Passage] = []
    rows: list[np.ndarray] = []
    stored: list[StoredPart] = []
    sentence_count = 0
    for part in parts:
        offset = len(passages)
        passages.extend(part.passages)
        rows.append(part.sentences + np.array([offset, 0, 0]))
        stored.append(
            StoredPart(
                part.key,
                part.checksum,
                part.document.id,
                range(offset, len(passages)),
                range(sentence_count, sentence_count + len(part.sentences)),
            )
        )
        sentence_count += len(part.sentences)
    dimension = int(manifest["model"]["dimension"])
    vectors = (
        np.concatenate([part.vectors for part in parts]) if parts else np.zeros((0, dimension), np.float32)
    )
    sentence_vectors = (
        np.concatenate([part.sentence_vectors for part in parts])
        if parts
        else np.zeros((0, dimension), np.float32)
    )
    if vectors.shape[1:] != (dimension,) or sentence_vectors.shape[1:] != (dimension,):
        raise IndexCorrupt(f"database version {version} holds vectors of another dimension: {REBUILD_HINT}")
    # Exact: the database answers the nearest-passage queries (NearestInDatabase); this copy
    # gives the searcher the passages' vectors, and answers when the database cannot.
    kind = "flat"
    return LoadedIndex(
        Path(f"postgresql-version-{version}"),
        manifest,
        {part.document.id: part.document for part in parts},
        passages,
        build_vector_index(vectors, ann, kind),
        sentence_vectors,
        SentenceRows(np.concatenate(rows) if rows else np.zeros((0, 3), np.int64)),
        stored_parts=tuple(stored),
    )
