"""The Scrapy project: one spider per source, and the pipeline that stores every fetched page."""
