"""Find the cluster a new copy of a release belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pressmon.store import Store

if TYPE_CHECKING:
    from parsers.fingerprint import Fingerprint
    from pressmon.store.releases import PageLookup


def assign_cluster(
    store: Store, cur: Any, fp: Fingerprint, lookup: PageLookup | None = None
) -> tuple[int, str]:
    """Find the cluster a new copy belongs to: same text, else the most similar LSH candidate, else a new one.

    `lookup` is what `Store.page_lookup` found for the copy, when the caller has it already. Candidates come
    from an index lookup per band, so the cost per release does not grow with the archive.
    """
    from parsers.fingerprint import SAME_RELEASE_THRESHOLD, contained, similarity

    if lookup is None:
        lookup = store.page_lookup(cur, None, fp)
    if lookup.hash_cluster is not None:
        return lookup.hash_cluster, "duplicate"
    candidates = [(similarity(fp.signature, bytes(c["minhash"])), c["cluster_id"]) for c in lookup.candidates]
    best = max(((sim, cid) for sim, cid in candidates if sim >= SAME_RELEASE_THRESHOLD), default=None)
    if best is not None:
        return best[1], "near_duplicate"
    for c in store.paragraph_candidates(cur, fp.paragraphs):
        if contained(c["shared"], c["shared_chars"], fp.paragraph_chars, c["chars"]):
            return c["cluster_id"], "near_duplicate"
    return store.new_cluster(cur), "new"
