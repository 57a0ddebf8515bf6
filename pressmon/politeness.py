"""Politeness across crawl processes: crawls of sources that share a host take turns on it.

Each source is crawled by a Scrapy process of its own, and Scrapy's per-site limits (at most 2 concurrent
requests, the download delay, AutoThrottle: crawlers/settings.py) hold within one process only. Four sources
crawling www.gov.cn at once would send it four times what those limits allow. So before its process starts, a
crawl takes a Postgres session-level advisory lock on every host it fetches from, in sorted order (two crawls
never wait on each other in a ring), and holds them on a connection of its own until the process has ended.
Crawls of different hosts run side by side; crawls of one host take turns.

A crawl whose task dies loses its connection, and Postgres releases its locks with it. A crawl waits as long
as the crawl ahead of it runs: that one is bounded by its own limits (download timeout, list page ceiling,
error count) and by the crawl task's execution timeout in the DAG.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from pressmon.config import Config
from pressmon.sources import Source
from pressmon.store import Store

log = logging.getLogger(__name__)

# What a crawl's lock connection calls itself in pg_stat_activity, so a waiting crawl can say who is ahead.
APPLICATION_PREFIX = "pressmon crawl "


def source_hosts(source: Source) -> list[str]:
    """Return the hosts a source's crawl fetches from, sorted: its base URL's and its `detail_hosts`."""
    return sorted({source.host, *(str(host) for host in source.options.get("detail_hosts", ()))})


def host_key(host: str) -> int:
    """Return a host's advisory lock key: the same in every process and Python version (no hash seed)."""
    return int.from_bytes(hashlib.sha256(host.lower().encode()).digest()[:4], "big") & 0x7FFFFFFF


def spread_by_host(codes: Sequence[str], declared: Mapping[str, Source]) -> list[str]:
    """Order sources so that each one's hosts are as far down the list as possible from earlier ones'.

    Crawls started from a pool in this order fill its slots with different hosts first: a slot whose crawl
    waits for a host crawls nothing meanwhile.
    """
    seen: dict[str, int] = {}
    rank = {}
    for code in codes:
        hosts = source_hosts(declared[code])
        rank[code] = max(seen.get(host, 0) for host in hosts)
        for host in hosts:
            seen[host] = seen.get(host, 0) + 1
    return sorted(codes, key=rank.__getitem__)


@contextmanager
def host_turns(config: Config, source: Source, note: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold every host of the source for as long as the block runs, waiting for crawls ahead on any of them.

    Args:
        config: where the database is.
        source: the source about to be crawled.
        note: told, besides the log, when the crawl has to wait and when its turn comes.
    """
    with Store.open(config) as store:
        store.name_session(APPLICATION_PREFIX + source.code)
        for host in source_hosts(source):
            key = host_key(host)
            if store.try_host(key):
                continue
            holder = store.host_holder(key) or ""
            ahead = holder.removeprefix(APPLICATION_PREFIX) if holder.startswith(APPLICATION_PREFIX) else None
            _tell(note, f"{source.code}: waiting for {host}: {ahead or 'another crawl'} is crawling it")
            started = time.monotonic()
            store.wait_for_host(key)
            _tell(note, f"{source.code}: {host} is free after {time.monotonic() - started:.1f} s")
        # Closing the connection (leaving this block, or the process dying) releases every lock it holds.
        yield


def _tell(note: Callable[[str], None] | None, message: str) -> None:
    log.info("%s", message)
    if note is not None:
        note(message)
