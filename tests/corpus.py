"""Where the real pages are: `../shared/corpus/`, read in place (never copied into the project).

`PRESSMON_CORPUS_DIR` points elsewhere. Tests that need the corpus are marked `needs_corpus`, so a checkout
without it says why instead of failing on a missing file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("PRESSMON_CORPUS_DIR") or ROOT.parent / "shared" / "corpus").resolve()
CORPUS_HTML = CORPUS / "html"
needs_corpus = pytest.mark.skipif(
    not CORPUS_HTML.is_dir(),
    reason=f"the shared corpus of real pages is not at {CORPUS}; set PRESSMON_CORPUS_DIR to its folder",
)
