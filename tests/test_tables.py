"""The searcher's tables: saved in the index by the build, equal to the ones worked out at load."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from rsa_qa.errors import IndexCorrupt
from rsa_qa.search.tables import TABLES_VERSION, SearchTables
from rsa_qa.store.load import LoadedIndex, load_index


def test_the_tables_an_index_saves_are_the_ones_a_searcher_would_work_out(index: LoadedIndex) -> None:
    assert index.derived["search.tables.json"]["version"] == TABLES_VERSION, "the build saved them"
    saved = SearchTables.of(index)
    worked_out = SearchTables.compute(index)
    for field in dataclasses.fields(SearchTables):
        if field.name == "tokens":
            continue  # word-piece vectors come from the model, at build time only (test_late.py)
        one, other = getattr(saved, field.name), getattr(worked_out, field.name)
        if field.name == "lexical":
            size, terms, arrays = one.to_arrays()
            assert (size, terms) == other.to_arrays()[:2]
            for name, array in arrays.items():
                assert np.array_equal(array, other.to_arrays()[2][name]), name
        elif field.name == "table":
            for name in (*type(one).ARRAYS, "section_owner"):
                assert np.array_equal(getattr(one, name), getattr(other, name)), name
            assert one.section_terms == other.section_terms
        elif isinstance(one, np.ndarray):
            assert np.array_equal(one, other), field.name
        else:
            assert one == other, field.name


def test_an_index_without_saved_tables_or_with_old_ones_works_them_out(index: LoadedIndex) -> None:
    stale = {**index.derived["search.tables.json"], "version": TABLES_VERSION - 1}
    older = dataclasses.replace(index, derived={**index.derived, "search.tables.json": stale})
    bare = dataclasses.replace(index, derived={})
    for other in (older, bare):
        assert SearchTables.of(other).ids == SearchTables.of(index).ids


def test_a_flipped_byte_in_any_saved_table_is_refused(index: LoadedIndex, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(index.directory, tmp_path / "index"))
    tables = sorted(name for name in index.manifest["files"] if name.startswith("search."))
    assert len(tables) >= 10 and "search.tables.json" in tables
    for name in tables:
        path = copy / name
        original = path.read_bytes()
        damaged = bytearray(original)
        damaged[len(original) // 2] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(IndexCorrupt, match=f"{name} fails its checksum"):
            load_index(copy)
        path.write_bytes(original)
    assert load_index(copy).version == index.version
