"""青岛市人民政府新闻办公室: press conferences at qdfb.shiminjia.com (archive section 往期回顾)."""

from __future__ import annotations

import re

from crawlers.spiders.base import PressReleaseSpider


class QdPressSpider(PressReleaseSpider):
    name = "qd_press"
    agency = "青岛市人民政府新闻办公室"
    default_base_url = "http://qdfb.shiminjia.com"
    list_paths = ("xwfbHtml/wangqihuigu/index.html",)
    detail_url = re.compile(r"/xwfbHtml/wangqihuigu/\d{4}/\d{4}/\d+\.html$")
    authority = 90
