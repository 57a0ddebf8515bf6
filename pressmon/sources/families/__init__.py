"""CMS families: one module per family, each exposing `FAMILY`, an instance of base.Family or a subclass.

Adding a family is adding its module; nothing else lists them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pressmon.sources.families.base import Family

if TYPE_CHECKING:
    from pressmon.sources import Source


def family(name: str) -> Family:
    from pressmon.sources import SourceError

    if not name.isidentifier() or name == "base":
        raise SourceError(f"unknown family {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise SourceError(f"unknown family {name!r} (no pressmon/sources/families/{name}.py)") from None
    found = getattr(module, "FAMILY", None)
    if not isinstance(found, Family):
        raise SourceError(f"pressmon/sources/families/{name}.py defines no FAMILY")
    return found


def family_of(source: Source) -> Family:
    """The family of a source; SourceError when the family or its pagination scheme is unknown."""
    from pressmon.sources import SourceError

    found = family(source.family)
    if source.pagination not in found.schemes:
        raise SourceError(
            f"{source.code}: family {source.family} has no pagination {source.pagination!r}"
            f" (it offers {', '.join(sorted(found.schemes))})"
        )
    return found
