"""One spider, `source`, runs every declared source (pressmon/sources/registry/) by its code."""
