"""Each declared source, crawled for real: its offline site over HTTP, Scrapy as `pressmon crawl` runs it, a
real Postgres, then processing; the outcome against the source's hand-written tests/sources/expected/<code>.toml.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date
from pathlib import Path

import pytest

from pressmon import steps
from pressmon.offline.server import HOST_PREFIX, OfflineSites
from pressmon.sources import get, registry

pytestmark = pytest.mark.integration

EXPECTED = Path(__file__).resolve().parent / "expected"


def test_every_declared_source_has_an_expectation_file_and_no_other_file_exists():
    # A source is done when its crawl is checked: a declaration without its expectation file fails here.
    assert {path.stem for path in EXPECTED.glob("*.toml")} == set(registry())


def _crawl_offline(code: str, config, store, run_key: str) -> tuple[dict, list[str]]:
    """Crawl the source's offline site in a run of its own; return the crawl's summary and the URLs it asked."""
    with OfflineSites([code]) as sites:
        assert code not in sites.skipped, sites.skipped.get(code)
        config = dataclasses.replace(config, base_urls={**config.base_urls, **sites.base_urls})
        summary = steps.crawl(config, code, store.start_run(run_key))
        requested = sites[code].requests
    source = get(code)
    # A source's other hosts are served under /_host/<host>/ on its listener: give them back their host.
    urls = [
        f"http://{path.removeprefix(HOST_PREFIX)}" if path.startswith(HOST_PREFIX) else source.base_url + path
        for _, path, _ in requested
    ]
    return summary, urls


@pytest.mark.parametrize("code", list(registry()))
def test_a_crawl_of_the_offline_site_goes_as_its_expectation_file_says_and_the_next_fetches_lists_only(
    code, config, store
):
    expected = tomllib.loads((EXPECTED / f"{code}.toml").read_text(encoding="utf-8"))
    summary, first_urls = _crawl_offline(code, config, store, f"test-{code}")
    steps.process(config)

    assert summary["list_pages"] == expected["list_pages"]
    with store.transaction() as cur:
        cur.execute(
            """SELECT count(DISTINCT canonical_url) AS n FROM raw_pages
                WHERE source = %s AND kind = 'detail' AND status = 200""",
            (code,),
        )
        assert cur.fetchone()["n"] == expected["items"]
        first = expected["first"]
        cur.execute(
            "SELECT title, published_at, publisher, body FROM releases WHERE canonical_url = %s",
            (first["url"],),
        )
        release = cur.fetchone()
    assert release is not None, f"{first['url']} was not stored as a release"
    assert release["title"] == first["title"]
    assert release["published_at"] == date.fromisoformat(first["published"])
    assert release["publisher"] == first["publisher"]
    for text in first["body_contains"]:
        assert text in release["body"]

    # The next night, nothing changed: the crawl walks list pages until it meets pages it holds, and fetches no
    # detail page (the stop rule, and the held URLs matched under their canonical form, work for this source).
    assert sum(get(code).is_detail(url) for url in first_urls) >= expected["items"]
    again, urls = _crawl_offline(code, config, store, f"test-{code}-next")
    assert again["detail_pages"] == 0 and again["errors"] == 0
    assert 1 <= again["list_pages"] <= expected["list_pages"]
    assert [url for url in urls if get(code).is_detail(url)] == []
