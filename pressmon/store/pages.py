"""Raw pages as fetched, the detail pages sources owe, and processing's claim on pending pages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg2
import psycopg2.extras

from pressmon.store import queries
from pressmon.store.connection import CLAIM_LOCK_CLASS, Session

SQL = queries.load("pages")


class PageQueries(Session):
    """Raw pages and owed pages.

    `mark_processed` and `mark_done` run in the caller's open transaction (they take its cursor).
    """

    def held_detail_urls(self, source: str) -> list[tuple[str, str]]:
        """Return (canonical URL as linked, URL) of detail pages stored with a usable copy, or given up."""
        rows = self._all(SQL["held_detail_urls"], (source,))
        return [(row["canonical_url"], row["url"]) for row in rows]

    def owed_detail_urls(self, source: str) -> list[tuple[str, str]]:
        """Return (canonical URL, URL) of detail pages the source still owes, oldest first."""
        rows = self._all(SQL["owed_detail_urls"], (source,))
        return [(row["canonical_url"], row["url"]) for row in rows]

    def owe(self, source: str, pages: Sequence[tuple[str, str]]) -> None:
        """Record (canonical URL, URL) pairs a list page linked as owed, unless already known."""
        if not pages:
            return
        with self.transaction() as cur:
            psycopg2.extras.execute_values(cur, SQL["owe"], [(source, key, url) for key, url in pages])

    def add_detail_page(
        self, *, owed_key: str, problem: tuple[str, str] | None, retry_limit: int, **page: Any
    ) -> tuple[int, bool]:
        """Store a fetched detail page and settle its debt in one transaction.

        A usable page (problem None) is pending for processing and pays the debt; any other is stored as
        failed with its reason and counts as one more failed attempt. Return the raw page id and whether the
        page was given up just now.
        """
        state, error = ("pending", None) if problem is None else ("failed", f"{problem[0]}: {problem[1]}")
        with self.transaction() as cur:
            raw_page_id = self._insert_raw_page(
                cur, kind="detail", process_state=state, process_error=error, **page
            )
            gave_up = self._settle(cur, page["source"], owed_key, page["url"], problem, retry_limit)
        return raw_page_id, gave_up

    def detail_failed(
        self, source: str, key: str, url: str, code: str, reason: str, retry_limit: int
    ) -> bool:
        """Count a failed fetch of an owed page; return whether it was given up just now."""
        with self.transaction() as cur:
            return self._settle(cur, source, key, url, (code, reason), retry_limit)

    def _settle(
        self, cur: Any, source: str, key: str, url: str, problem: tuple[str, str] | None, retry_limit: int
    ) -> bool:
        code, reason = problem if problem is not None else (None, None)
        cur.execute(
            SQL["settle"],
            {
                "source": source,
                "key": key,
                "url": url,
                "ok": problem is None,
                "limit": retry_limit,
                "code": code,
                "reason": reason,
            },
        )
        row = cur.fetchone()
        return problem is not None and row["state"] == "given_up" and row["attempts"] == retry_limit

    def owed_counts(self, source: str) -> dict[str, int]:
        """Return how many detail pages the source owes and has given up."""
        row = self._one(SQL["owed_counts"], (source,))
        return {"owed": row["owed"], "given_up": row["given_up"]}

    def retry_given_up(self, source: str) -> int:
        """Owe a source's given-up pages again (after the cause was fixed); return how many."""
        with self.transaction() as cur:
            cur.execute(SQL["retry_given_up"], (source,))
            return cur.rowcount

    def owed_pages(self, states: Sequence[str] = ("owed", "given_up")) -> list[dict[str, Any]]:
        return self._all(SQL["owed_pages"], (list(states),))

    def archive_walked(self, source: str) -> bool:
        return bool(self._scalar(SQL["archive_walked"], (source,)))

    def mark_archive_walked(self, source: str) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_archive_walked"], (source,))

    def add_raw_page(self, **page: Any) -> int:
        """Store a fetched page as it came; return its id (list pages, and tests that start after the crawl)."""
        with self.transaction() as cur:
            return self._insert_raw_page(cur, **page)

    def _insert_raw_page(
        self,
        cur: Any,
        *,
        source: str,
        run_id: int | None,
        kind: str,
        url: str,
        final_url: str,
        canonical_url: str,
        status: int,
        headers: dict[str, list[str]],
        body: bytes,
        process_state: str,
        process_error: str | None = None,
    ) -> int:
        cur.execute(
            SQL["insert_raw_page"],
            (
                source,
                run_id,
                kind,
                url,
                final_url,
                canonical_url,
                status,
                json.dumps(headers, ensure_ascii=False),
                psycopg2.Binary(body),
                process_state,
                process_error,
                process_state,
            ),
        )
        return cur.fetchone()["id"]

    def raw_page(self, raw_page_id: int) -> dict[str, Any] | None:
        return self._one(SQL["raw_page"], (raw_page_id,))

    def pending_count(self) -> int:
        return self._scalar(SQL["pending_count"])

    def claim_pages(self, limit: int, held: Sequence[int] = ()) -> tuple[int, list[dict[str, Any]]] | None:
        """Claim a batch of pending pages for this session and commit; None when no page is free.

        The claim is held as a session advisory lock until `release_claim`; other workers skip the pages
        meanwhile. Pages whose claim nobody holds any more (a worker that died) are free again. `held` are
        this session's own claims still under way: a session holds its own locks, so it must not take
        those pages a second time.
        """
        with self.transaction() as cur:
            cur.execute(SQL["next_claim"])
            claim = cur.fetchone()["claim"]
            cur.execute(SQL["lock_claim"], (CLAIM_LOCK_CLASS, claim))
            cur.execute(
                SQL["claim_pages"],
                {"claim": claim, "held": list(held), "class": CLAIM_LOCK_CLASS, "limit": limit},
            )
            rows = sorted(cur.fetchall(), key=lambda row: row["id"])
        if not rows:
            self.release_claim(claim)
            return None
        return claim, rows

    def release_claim(self, claim: int) -> None:
        """Free the pages of a claim that were not stored (they stay pending), and drop its lock."""
        with self.transaction() as cur:
            cur.execute(SQL["free_claim"], (claim,))
            cur.execute(SQL["unlock_claim"], (CLAIM_LOCK_CLASS, claim))

    def mark_processed(
        self,
        cur: psycopg2.extensions.cursor,
        raw_page_id: int,
        state: str,
        error: str | None = None,
        decoded_lossily: bool | None = None,
    ) -> None:
        cur.execute(SQL["mark_processed"], (state, error, decoded_lossily, raw_page_id))

    def mark_done(self, cur: psycopg2.extensions.cursor, pages: Sequence[tuple[int, bool]]) -> None:
        """Mark stored pages done, given as (raw page id, decoded lossily), in one statement."""
        if pages:
            psycopg2.extras.execute_values(cur, SQL["mark_done"], pages, page_size=len(pages))

    def requeue_all(self) -> int:
        """Mark every successfully fetched detail page pending again (after a parser fix)."""
        with self.transaction() as cur:
            cur.execute(SQL["requeue_all"])
            return cur.rowcount
