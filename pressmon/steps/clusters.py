"""Find the cluster a new copy of a release belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pressmon.store import Store

if TYPE_CHECKING:
    from parsers.fingerprint import Fingerprint


def assign_cluster(store: Store, cur: Any, fp: Fingerprint) -> tuple[int, str]:
    """Find the cluster a new copy belongs to: same text, else the most similar LSH candidate, else a new one.

    Candidates come from an index lookup per band, so the cost per release does not grow with the archive.
    """
    from parsers.fingerprint import SAME_RELEASE_THRESHOLD, contained, similarity

    cluster_id = store.cluster_of_hash(cur, fp.content_hash)
    if cluster_id is not None:
        return cluster_id, "duplicate"
    candidates = [
        (similarity(fp.signature, bytes(c["minhash"])), c["cluster_id"])
        for c in store.near_duplicate_candidates(cur, fp.buckets)
    ]
    best = max(((sim, cid) for sim, cid in candidates if sim >= SAME_RELEASE_THRESHOLD), default=None)
    if best is not None:
        return best[1], "near_duplicate"
    for c in store.paragraph_candidates(cur, fp.paragraphs):
        if contained(c["shared"], c["shared_chars"], fp.paragraph_chars, c["chars"]):
            return c["cluster_id"], "near_duplicate"
    return store.new_cluster(cur), "new"
