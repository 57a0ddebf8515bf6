"""The shared corpus is byte-for-byte the real pages its manifests describe."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import CORPUS
from tests.corpus import needs_corpus

pytestmark = needs_corpus

ENTRIES = [
    entry
    for manifest in sorted((CORPUS / "html").glob("manifest-*.json"))
    for entry in json.loads(manifest.read_text(encoding="utf-8"))
]


def test_every_corpus_page_is_in_a_manifest():
    assert {e["file"] for e in ENTRIES} == {p.name for p in (CORPUS / "html").glob("*.html")}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["file"])
def test_corpus_copy_matches_its_manifest(entry):
    data = (CORPUS / "html" / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
