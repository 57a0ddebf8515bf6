"""Plain HTML lists: item links by CSS selector, the next page by its 下一页 link (or a single page).

The family of sites without a recognisable CMS (news portals' section pages, hand-made lists).
"""

from __future__ import annotations

from pressmon.sources.families.base import Family


class Links(Family):
    name = "links"


FAMILY = Links()
