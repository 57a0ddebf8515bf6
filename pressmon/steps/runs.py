"""Open a crawl run, choose its sources, and summarise it when it is done."""

from __future__ import annotations

from typing import Any

from pressmon.config import Config
from pressmon.errors import CrawlError
from pressmon.steps.sources import prepare, sync_sources
from pressmon.store import Store


def start_run(config: Config, run_key: str) -> int:
    """Open (or reopen, on a retry) the crawl run with this key; return its id."""
    with Store.open(config) as store:
        prepare(store, config)
        return store.start_run(run_key)


def enabled_sources(config: Config) -> list[str]:
    """Return the codes the nightly run crawls: declared, enabled by declaration and by the operator, and
    among PRESSMON_SOURCES when that is set."""
    with Store.open(config) as store:
        codes = [row["code"] for row in sync_sources(store, config) if row["crawled"]]
    if config.sources is not None:
        codes = [code for code in codes if code in config.sources]
    return codes


def report(config: Config, run_id: int) -> dict[str, Any]:
    """Summarise the run (per-source pages, new releases, duplicates, errors) into crawl_runs; return it."""
    with Store.open(config) as store:
        run = store.run(run_id)
        if run is None:
            raise CrawlError(f"no crawl run {run_id}")
        sources = store.run_sources(run_id)
        judged = {row["source"]: row for row in store.run_health(run_id)}
        counts = store.run_counts(run["started_at"])
        new_by_source = store.new_releases_by_source(run["started_at"])
        failed_pages = store.failed_pages(run["started_at"])
        owed = store.owed_pages()
        summary = {
            "sources": {
                row["source"]: {
                    "status": row["status"],
                    "list_pages": row["list_pages"],
                    "detail_pages": row["detail_pages"],
                    "new_releases": new_by_source.get(row["source"], 0),
                    "errors": row["errors"],
                    "owed": row["stats"].get("owed", 0),
                    "given_up": row["stats"].get("given_up", 0),
                    # None until judge_health has judged the run (after processing).
                    "health": judged[row["source"]]["state"] if row["source"] in judged else None,
                    "health_reason": judged[row["source"]]["reason"] if row["source"] in judged else None,
                }
                for row in sources
            },
            "pages_fetched": sum(r["list_pages"] + r["detail_pages"] for r in sources),
            "new_releases": counts["new_releases"],
            "new_copies": counts["new_copies"],
            "duplicates": counts["duplicates"],
            "updated_releases": counts["updated_releases"],
            "failed_pages": [
                {"source": p["source"], "url": p["url"], "reason": p["process_error"]} for p in failed_pages
            ],
            "owed_pages": [
                {key: page[key] for key in ("source", "url", "state", "attempts", "last_code", "last_error")}
                for page in owed
            ],
            "emails_sent": counts["emails_sent"],
            "deliveries_pending": counts["deliveries_pending"],
            "deliveries_failed": counts["deliveries_failed"],
        }
        failed_sources = [row["source"] for row in sources if row["status"] != "succeeded"]
        errors = sum(len(row["errors"]) for row in sources) + len(failed_pages)
        if sources and len(failed_sources) == len(sources):
            status = "failed"
        elif failed_sources or errors:
            status = "partial"
        else:
            status = "succeeded"
        store.finish_run(run_id, status, summary)
        summary["status"] = status
        return summary
