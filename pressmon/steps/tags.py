"""Tag every release again with a scheme."""

from __future__ import annotations

from collections import Counter

from parsers.taxonomy import load_scheme
from pressmon.config import Config
from pressmon.progress import QUIET, ProgressArg, as_progress
from pressmon.steps.sources import sync_taxonomy
from pressmon.store import Store


def retag(config: Config, scheme_code: str | None = None, progress: ProgressArg = QUIET) -> dict[str, int]:
    """Tag every release again with a scheme, replacing that scheme's tags and keeping other schemes' tags."""
    progress = as_progress(progress)
    code = scheme_code or config.scheme
    from parsers.tag import Tagger

    tagger = Tagger(load_scheme(code))
    counts: Counter[str] = Counter()
    with Store.open(config) as store:
        chain_ids = sync_taxonomy(store, code, current=code == config.scheme)
        progress.start(f"retag with {code}", store.totals()["copies"], "releases")
        after = 0
        while batch := store.releases_for_retag(after, config.batch_size):
            with store.transaction() as cur:
                for release in batch:
                    tags = tagger.tag(release["title"], release["body"])
                    store.replace_tags(
                        cur, release["id"], code, [(chain_ids[t.chain], t.score, t.evidence) for t in tags]
                    )
                    counts["releases"] += 1
                    counts["tags"] += len(tags)
            after = batch[-1]["id"]
            progress.update(counts["releases"], None, f"{counts['tags']} tags")
        progress.finish()
    return dict(counts)
