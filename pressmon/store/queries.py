"""Read an area's named queries from its .sql file (`-- name: foo` starts the query `foo`)."""

from __future__ import annotations

import re
from pathlib import Path

QUERY_DIR = Path(__file__).resolve().parent
QUERY_NAME = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$")


def load(area: str) -> dict[str, str]:
    """Return the queries of `<area>.sql` by name; the lines above the first name are the file's comment."""
    path = QUERY_DIR / f"{area}.sql"
    queries: dict[str, list[str]] = {}
    lines: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = QUERY_NAME.match(line)
        if match:
            if match.group(1) in queries:
                raise ValueError(f"{path.name}: two queries are named {match.group(1)}")
            lines = queries[match.group(1)] = []
        elif lines is not None:
            lines.append(line)
    return {name: "\n".join(text).strip() for name, text in queries.items()}
