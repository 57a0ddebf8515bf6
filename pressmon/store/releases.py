"""Releases, their versions, fingerprints and clusters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import psycopg2
import psycopg2.extras

from pressmon.store import queries
from pressmon.store.connection import CLUSTERING_LOCK, Session, int_array

if TYPE_CHECKING:
    from parsers.fingerprint import Fingerprint

SQL = queries.load("releases")


@dataclass(frozen=True)
class PageLookup:
    """What the archive holds that matters for storing a page (`ReleaseQueries.page_lookup`)."""

    existing: dict[str, Any] | None  # the release at the page's canonical URL
    hash_cluster: int | None  # else the cluster of the first release with the same text
    candidates: list[dict[str, Any]]  # else the releases sharing LSH buckets, most shared first


class ReleaseQueries(Session):
    """Releases and clusters.

    Every method runs in the caller's open transaction (it takes its cursor): a page's release, bands,
    paragraphs, tags and cluster are stored together, or not at all.
    """

    def lock_clustering(self, cur: psycopg2.extensions.cursor) -> None:
        """Serialise cluster assignment across workers for the rest of the transaction."""
        cur.execute(SQL["lock_clustering"], (CLUSTERING_LOCK,))

    def page_lookup(
        self, cur: psycopg2.extensions.cursor, canonical_url: str | None, fingerprint: Fingerprint
    ) -> PageLookup:
        """Return what storing a page needs to know, in one round trip: the release at its URL, else the
        cluster of the same text, else the releases sharing LSH buckets, with their signatures."""
        self._execute_prepared(
            cur,
            "page_lookup",
            SQL["page_lookup"],
            {
                "canonical_url": canonical_url,
                "content_hash": psycopg2.Binary(fingerprint.content_hash),
                "buckets": int_array(fingerprint.buckets),
            },
        )
        rows = cur.fetchall()
        first = rows[0]
        existing = None
        if first["existing_id"] is not None:
            existing = {
                "id": first["existing_id"],
                "cluster_id": first["existing_cluster"],
                "content_hash": first["existing_hash"],
                "version": first["existing_version"],
            }
        candidates = [
            {key: r[key] for key in ("id", "cluster_id", "minhash", "shared_bands")}
            for r in rows
            if r["id"] is not None
        ]
        return PageLookup(existing, first["hash_cluster"], candidates)

    def analyze_archive(self) -> None:
        """Refresh the planner's statistics of the archive's tables (in a transaction of its own)."""
        with self.transaction() as cur:
            cur.execute(SQL["analyze_archive"])

    def paragraph_candidates(
        self, cur: psycopg2.extensions.cursor, paragraphs: Sequence[tuple[int, int]], max_frequency: int = 50
    ) -> list[dict[str, Any]]:
        """Return releases sharing long paragraphs word for word, with how much they share and hold.

        A paragraph held by more than max_frequency releases is boilerplate and is ignored; the lookup is
        bounded per paragraph, so its cost does not grow with the archive.
        """
        if not paragraphs:
            return []
        self._execute_prepared(
            cur,
            "paragraph_candidates",
            SQL["paragraph_candidates"],
            {
                "hashes": int_array([h for h, _ in paragraphs]),
                "chars": int_array([c for _, c in paragraphs]),
                "per_paragraph": max_frequency + 1,
                "max_frequency": max_frequency,
            },
        )
        return list(cur.fetchall())

    def set_paragraphs(
        self, cur: psycopg2.extensions.cursor, release_id: int, paragraphs: Sequence[tuple[int, int]]
    ) -> None:
        cur.execute(SQL["delete_paragraphs"], (release_id,))
        if paragraphs:
            psycopg2.extras.execute_values(
                cur, SQL["insert_paragraphs"], [(digest, release_id, chars) for digest, chars in paragraphs]
            )

    def new_cluster(self, cur: psycopg2.extensions.cursor) -> int:
        cur.execute(SQL["new_cluster"])
        return cur.fetchone()["id"]

    def insert_release(self, cur: psycopg2.extensions.cursor, release: dict[str, Any]) -> int:
        cur.execute(SQL["insert_release"], _release_params(release))
        return cur.fetchone()["id"]

    def insert_new_release(
        self,
        cur: psycopg2.extensions.cursor,
        release: dict[str, Any],
        buckets: Sequence[int],
        paragraphs: Sequence[tuple[int, int]],
        tags: Sequence[tuple[int, float, dict[str, Any]]],
        starts_cluster: bool,
    ) -> int:
        """Insert a release seen for the first time with its band buckets, paragraph hashes and tags, in one
        round trip; return its id.

        A release that starts its cluster is stored as its canonical copy (`releases.is_canonical`), which the
        election will make it: written once, with its row's search index entries, not rewritten then.
        """
        params = _release_params(release) | {
            "starts_cluster": starts_cluster,
            "buckets": int_array(buckets),
            "paragraph_hashes": int_array([digest for digest, _ in paragraphs]),
            "paragraph_chars": int_array([chars for _, chars in paragraphs]),
            "fetched_at": release.get("fetched_at"),
            "chain_ids": [chain_id for chain_id, _, _ in tags],
            "scores": [score for _, score, _ in tags],
            "evidence": [json.dumps(evidence, ensure_ascii=False) for _, _, evidence in tags],
        }
        self._execute_prepared(cur, "insert_new_release", SQL["insert_new_release"], params)
        return cur.fetchone()["id"]

    def update_release_version(
        self, cur: psycopg2.extensions.cursor, release_id: int, release: dict[str, Any]
    ) -> int:
        """Keep the current text as a version, then store the new text; return the new version number."""
        cur.execute(SQL["keep_version"], (release_id,))
        params = _release_params(release) | {"id": release_id}
        cur.execute(SQL["update_release"], params)
        return cur.fetchone()["version"]

    def touch_release(self, cur: psycopg2.extensions.cursor, release_id: int, raw_page_id: int) -> None:
        cur.execute(SQL["touch_release"], (raw_page_id, release_id))

    def set_bands(self, cur: psycopg2.extensions.cursor, release_id: int, buckets: Sequence[int]) -> None:
        """Store a release's LSH band buckets, in band order, in place of those it had."""
        cur.execute(SQL["set_buckets"], (release_id, int_array(buckets)))

    def elect_canonical(self, cur: psycopg2.extensions.cursor, cluster_ids: Sequence[int]) -> None:
        """Make the earliest-fetched copy from the most official source each cluster's canonical release."""
        if cluster_ids:
            cur.execute(SQL["elect_canonical"], (list(cluster_ids),))


def _release_params(release: dict[str, Any]) -> dict[str, Any]:
    published = release.get("published_at")
    return {
        "source": release["source"],
        "canonical_url": release["canonical_url"],
        "url": release["url"],
        "title": release["title"],
        "published_at": published if isinstance(published, date | None) else date.fromisoformat(published),
        "publisher": release.get("publisher"),
        "body": release["body"],
        "speakers": json.dumps(release.get("speakers", []), ensure_ascii=False),
        "attachments": json.dumps(release.get("attachments", []), ensure_ascii=False),
        "content_hash": psycopg2.Binary(release["content_hash"]),
        "minhash": psycopg2.Binary(release["minhash"]),
        "search_text": release.get("search_text", ""),
        "cluster_id": release.get("cluster_id"),
        "raw_page_id": release.get("raw_page_id"),
    }
