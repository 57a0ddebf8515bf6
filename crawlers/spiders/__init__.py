"""One spider per source. Scrapy's spider list is the registry of sources."""
