"""Register what every run needs: the declared sources, the schemes and the crosswalk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parsers.taxonomy import CURRENT_SCHEME, load_crosswalk, load_scheme, scheme_codes
from pressmon import sources
from pressmon.config import Config
from pressmon.sources import Source
from pressmon.store import Store


def declared_sources() -> Mapping[str, Source]:
    """Return every declared source by code: the registry (pressmon/sources/registry/) is the one list."""
    return sources.registry()


def sync_sources(store: Store, config: Config) -> list[dict[str, Any]]:
    """Record every declared source in the sources table; return them as rows, in code order.

    Each row holds the table's columns (its `enabled` is the operator's switch, `pressmon sources disable`),
    `declared_enabled` (the declaration's `enabled`), `crawled` (both: the nightly run crawls it) and
    `crawl_url` (where it is crawled: a mirror from PRESSMON_BASE_URL_<CODE>, else its base URL).
    """
    declared = declared_sources()
    for source in declared.values():
        store.upsert_source(
            source.code,
            source.agency,
            source.base_url,
            source.authority,
            family=source.family,
            verified=source.verified,
            update_days=source.update_days,
            structure_from=source.structure_from,
            fixtures=source.fixtures,
        )
    return [
        dict(
            row,
            declared_enabled=declared[row["code"]].enabled,
            crawled=row["enabled"] and declared[row["code"]].enabled,
            crawl_url=config.base_urls.get(row["code"], row["base_url"]),
        )
        for row in store.sources()
        if row["code"] in declared
    ]


def source_listing(store: Store, config: Config) -> list[dict[str, Any]]:
    """Return one row per declared source for `pressmon sources`: its declaration, switches, health and last
    crawl."""
    last = store.last_crawls()
    health_now = store.source_health()
    listing = []
    for row in sync_sources(store, config):
        crawl = last.get(row["code"])
        listing.append(
            {
                "code": row["code"],
                "name": row["name"],
                "family": row["family"],
                "verified": row["verified"],
                "enabled": row["crawled"],
                "disabled_by": None
                if row["crawled"]
                else ("declaration" if not row["declared_enabled"] else "operator"),
                "authority": row["authority"],
                "crawl_url": row["crawl_url"],
                "last_crawl": None
                if crawl is None
                else {
                    "status": crawl["status"],
                    "started_at": crawl["started_at"].isoformat(),
                    "list_pages": crawl["list_pages"],
                    "detail_pages": crawl["detail_pages"],
                    "errors": crawl["errors"],
                },
                **store.owed_counts(row["code"]),
                "health": health_now[row["code"]]["state"] if row["code"] in health_now else None,
                "health_reason": health_now[row["code"]]["reason"] if row["code"] in health_now else None,
            }
        )
    return listing


def sync_taxonomy(store: Store, scheme_code: str, current: bool) -> dict[str, int]:
    """Record a scheme and its chains in the database; return chain ids by name."""
    scheme = load_scheme(scheme_code)
    return store.sync_taxonomy(
        scheme.code,
        scheme.name,
        scheme.version,
        scheme.status,
        scheme.complete,
        scheme.sha256,
        [(c.name, c.group) for c in scheme.chains],
        current=current,
    )


def prepare(store: Store, config: Config) -> None:
    """Register sources, schemes and the crosswalk: the data every run needs. Migrations are not applied here:
    only `pressmon db migrate` (and the demo) change the schema."""
    sync_sources(store, config)
    for code in scheme_codes():
        if code != config.scheme:
            sync_taxonomy(store, code, current=False)
    sync_taxonomy(store, config.scheme, current=True)
    store.replace_crosswalk(
        (e.from_scheme, e.from_chain, CURRENT_SCHEME, e.to_chain, e.note) for e in load_crosswalk()
    )
