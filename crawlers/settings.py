"""Scrapy settings: polite by default, configured from PRESSMON_* variables."""

from __future__ import annotations

from pressmon.config import Config

_config = Config.from_env()

BOT_NAME = "pressmon"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = _config.user_agent
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = _config.crawl_delay
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = max(_config.crawl_delay, 0.1)
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = _config.download_timeout
# A bigger page is cancelled while it downloads (never held whole in memory) and recorded as too large.
DOWNLOAD_MAXSIZE = _config.max_page_bytes
DOWNLOAD_WARNSIZE = _config.max_page_bytes // 2
RETRY_ENABLED = True
RETRY_TIMES = 2
CLOSESPIDER_ERRORCOUNT = 20
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
HTTPCACHE_ENABLED = False
LOG_LEVEL = _config.crawl_log_level
LOGSTATS_INTERVAL = 30.0
# `pressmon crawl` turns these on (-s): JSON progress lines on stdout, and the end-of-crawl stats only with -v.
PROGRESS_LINES_INTERVAL = 0.0
STATS_DUMP = True

# What the spider reads from the configuration, as settings (`-s` overrides them for one crawl).
PRESSMON_CRAWL_OVERLAP = _config.crawl_overlap
PRESSMON_MAX_LIST_PAGES = _config.max_list_pages
PRESSMON_OWED_RETRIES = _config.owed_retries

ITEM_PIPELINES = {"crawlers.pipelines.RawPagePipeline": 100}
EXTENSIONS = {"crawlers.pipelines.CrawlRunRecorder": 100, "crawlers.progress.ProgressLines": 200}
# After RedirectMiddleware (600), so its process_response sees a redirect before Scrapy follows it.
DOWNLOADER_MIDDLEWARES = {"crawlers.middlewares.HostGuard": 650}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
