"""Every query an area of the store names is in that area's .sql file, and every query there is used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pressmon.store import queries

STORE = Path(queries.__file__).resolve().parent
AREAS = sorted(path.stem for path in STORE.glob("*.sql"))


@pytest.mark.parametrize("area", AREAS)
def test_the_queries_an_area_names_are_the_queries_its_file_holds(area):
    named = set(re.findall(r'SQL\["([a-z_0-9]+)"\]', (STORE / f"{area}.py").read_text(encoding="utf-8")))
    held = queries.load(area)
    assert named == set(held)
    assert all(held.values())


def test_two_queries_of_one_name_are_refused(tmp_path, monkeypatch):
    (tmp_path / "twice.sql").write_text("-- name: one\nSELECT 1\n\n-- name: one\nSELECT 2\n")
    monkeypatch.setattr(queries, "QUERY_DIR", tmp_path)
    with pytest.raises(ValueError, match="two queries are named one"):
        queries.load("twice")
