"""Render the offline copy of the Qingdao press office's press-conference site (source qd_press)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path

# The source this site is the offline copy of, and the release data it renders.
SOURCE_CODE = "qd_press"
RELEASES_DIR = Path(__file__).parent / "sites" / SOURCE_CODE / "releases"
SITE_NAME = "青岛新闻发布"
OFFICE_NAME = "青岛市人民政府新闻办公室"
SECTION_NAME = "往期回顾"
SITE_ROOT = "/xwfbHtml/"
ARCHIVE_PATH = "/xwfbHtml/wangqihuigu/"
ARCHIVE_INDEX = ARCHIVE_PATH + "index.html"
SEARCH_PATH = "/xwfbHtml/search/"
ROBOTS_PATH = "/robots.txt"
ROBOTS_DISALLOWED = (SEARCH_PATH, "/admin/")
PAGE_SIZE = 15
PARAGRAPH_INDENT = "\u3000\u3000"

KEYWORDS = "青岛新闻发布,青岛市人民政府新闻办公室,新闻发布会,往期回顾,政策解读"
DESCRIPTION = (
    "青岛市人民政府新闻办公室主办的新闻发布会网站，发布青岛市政府新闻发布会的直播、文字实录和政策解读。"
)
TOP_WELCOME = "欢迎访问青岛新闻发布！"
TOP_LINKS = ("无障碍浏览", "长者模式", "设为首页", "加入收藏")
SEARCH_PLACEHOLDER = "请输入关键字"
SEARCH_BUTTON = "搜索"
NAV_ITEMS = (
    ("首页", SITE_ROOT),
    ("发布会直播", "#"),
    (SECTION_NAME, ARCHIVE_INDEX),
    ("政策解读", "#"),
    ("新闻发布", "#"),
    ("图片新闻", "#"),
    ("视频点播", "#"),
    ("互动交流", "#"),
)
SIDE_TITLE = "新闻发布会"
SIDE_ITEMS = (("发布会预告", "#"), ("发布会直播", "#"), (SECTION_NAME, "./index.html"), ("政策解读", "#"))
BREADCRUMB_LABEL = "当前位置："
BREADCRUMB_HOME = "首页"
FONT_SIZE_LABEL = "字号："
FONT_SIZES = ("大", "中", "小")
VIEWS_LABEL = "浏览："
DATE_LABEL = "发布会日期："
ATTACHMENTS_LABEL = "附件："
TOOLS = ("打印本页", "关闭窗口")
SHARE_LABEL = "分享到："
SHARE_TARGETS = (("wx", "微信"), ("wb", "微博"), ("qzone", "QQ空间"))
QR_HINT = "扫一扫在手机打开当前页"
OLDER_LABEL = "上一篇："
NEWER_LABEL = "下一篇："
NO_NEIGHBOUR = "没有了"
FIRST_PAGE, PREVIOUS_PAGE, NEXT_PAGE, LAST_PAGE = "首页", "上一页", "下一页", "尾页"
PAGE_TOTAL = "共{pages}页"
ITEM_TOTAL = "共{items}条"
FOOTER_LINKS = ("关于我们", "联系我们", "网站地图", "使用帮助")
FOOTER_SPONSOR = "主办：" + OFFICE_NAME
FOOTER_ICP = "鲁ICP备12003456号-1"
FOOTER_COPYRIGHT = "版权所有：" + OFFICE_NAME
FOOTER_HINT = "建议使用1280×768以上分辨率浏览本站"
ERROR_MESSAGES = {
    404: ("404 Not Found", "您访问的页面不存在或已被删除。"),
    500: ("500 Internal Server Error", "服务器内部错误，请稍后再试。"),
    503: ("503 Service Temporarily Unavailable", "服务暂时不可用，请稍后再试。"),
}
PDF_TEXT = "Qingdao press office attachment {file}"
# What a web application firewall in front of a government site shows instead of the page, with HTTP 200.
BLOCK_TITLE = "访问受限"
BLOCK_LINES = (
    "抱歉，您的访问请求触发了本站的安全防护策略，已被暂时拦截。",
    "可能的原因：访问频率过高、请求中含有异常参数，或您所在的网络存在风险。",
    "如果您是正常访问，请输入下方验证码后继续浏览。",
)
BLOCK_CAPTCHA_LABEL = "验证码："
BLOCK_CAPTCHA_PLACEHOLDER = "请输入图中字符"
BLOCK_SUBMIT = "提交验证"
BLOCK_EVENT_LABEL = "事件编号："
BLOCK_FOOTER = "网站安全防护系统 · 如有疑问，请联系网站管理员"
BLOCK_STYLE = (
    "body{margin:0;background:#f2f4f7;font:14px/1.8 'Microsoft YaHei',sans-serif;color:#333}"
    ".waf-box{width:560px;margin:80px auto;background:#fff;border-top:4px solid #e6a23c;padding:24px 40px}"
    ".waf-head h1{color:#e6a23c;font-size:24px}.waf-event,.waf-footer{color:#999;font-size:12px}"
)
# A list page after a layout change: the items now arrive by script, the HTML has none.
EMPTY_LIST_NOTICE = "正在加载，请稍候……"
# The huge text node of an oversized detail page: a statistical annex pasted into the transcript.
OVERSIZE_ROW = "序号、项目名称、建设地点、建设内容、总投资（亿元）、年度计划投资（亿元）、责任单位；"
_OVERSIZE_SLOT = "\x00oversize\x00"

STYLE = (
    "body{margin:0;font:14px/1.8 'Microsoft YaHei',sans-serif;color:#333}"
    ".wrap{width:1200px;margin:0 auto}"
    ".topbar{background:#f5f5f5;font-size:12px}.topbar .toplinks{float:right}"
    ".header{background:#b5121b;color:#fff;height:96px}.logo strong{font-size:28px}"
    ".nav ul{list-style:none;margin:0;padding:0;background:#8f0d14}.nav li{display:inline-block}"
    ".nav a{color:#fff;padding:0 24px;text-decoration:none}.nav li.on a{background:#6d0a0f}"
    ".list li{border-bottom:1px dashed #ddd}.list .date{float:right;color:#999}"
    ".page a,.page span{margin:0 4px}.page .current{color:#b5121b;font-weight:bold}"
    ".detail-title{text-align:center}.detail-info{text-align:center;color:#999;font-size:12px}"
    ".TRS_Editor p{text-indent:0;margin:0 0 12px}"
    ".footer{background:#f0f0f0;text-align:center;font-size:12px;color:#666}"
)
SHARE_SCRIPT = (
    "(function () {\n"
    "  var links = document.querySelectorAll('.share a');\n"
    "  for (var i = 0; i < links.length; i++) {\n"
    "    links[i].onclick = function () { return false; };\n"
    "  }\n"
    "})();"
)

LIST_PATH = re.compile(r"/xwfbHtml/wangqihuigu/(?:index(?:_(?P<index>[1-9][0-9]*))?\.html)?")
DETAIL_PATH = re.compile(r"/xwfbHtml/wangqihuigu/[0-9]{4}/[0-9]{4}/(?P<id>[1-9][0-9]*)\.html")
ATTACHMENT_FILE = re.compile(r"P0[0-9A-Za-z_-]*\.pdf")


@dataclass(frozen=True)
class Attachment:
    """A file linked under a release's transcript."""

    name: str
    file: str


@dataclass(frozen=True)
class Release:
    """One detail page of the site, as described by its JSON file."""

    id: int
    published: date
    list_title: str
    title_lines: tuple[str, ...]
    date_line: bool
    views: int
    paragraphs: tuple[str, ...]
    repeat_body: bool
    attachments: tuple[Attachment, ...]
    chains: tuple[str, ...] = ()
    same_release_as: int | None = None
    notes: str = ""


def load_releases(folder: Path) -> list[Release]:
    """Load every `<ID>.json` release in folder, sorted by published date then id."""
    releases = [_load_release(path) for path in Path(folder).glob("*.json")]
    return sorted(releases, key=_chronological)


def _load_release(path: Path) -> Release:
    try:
        release = _release_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a valid release file: {exc!r}") from exc
    if path.stem != str(release.id):
        raise ValueError(f"{path}: file name does not match release id {release.id}")
    return release


def _release_from_json(data: dict) -> Release:
    attachments = tuple(Attachment(name=item["name"], file=item["file"]) for item in data["attachments"])
    for attachment in attachments:
        if not ATTACHMENT_FILE.fullmatch(attachment.file):
            raise ValueError(f"attachment file {attachment.file!r} is not a P0….pdf name")
    return Release(
        id=int(data["id"]),
        published=date.fromisoformat(data["published"]),
        list_title=data["list_title"],
        title_lines=tuple(data["title_lines"]),
        date_line=bool(data["date_line"]),
        views=int(data["views"]),
        paragraphs=tuple(data["paragraphs"]),
        repeat_body=bool(data["repeat_body"]),
        attachments=attachments,
        chains=tuple(data.get("chains") or ()),
        same_release_as=data.get("same_release_as"),
        notes=data.get("notes") or "",
    )


def _chronological(release: Release) -> tuple[date, int]:
    return release.published, release.id


def detail_path(release: Release) -> str:
    """Return the URL path of a release's detail page, `/xwfbHtml/wangqihuigu/YYYY/MMDD/ID.html`."""
    return f"{ARCHIVE_PATH}{_dated_folder(release)}{release.id}.html"


def real_url(path: str) -> str:
    """Return the URL of a path on the real site: the declared base URL of the source (its one home)."""
    from pressmon.sources import get

    return get(SOURCE_CODE).base_url + path


def attachment_path(release: Release, attachment: Attachment) -> str:
    """Return the URL path of an attachment, next to its release's detail page."""
    return f"{ARCHIVE_PATH}{_dated_folder(release)}{attachment.file}"


def _dated_folder(release: Release) -> str:
    return f"{release.published:%Y}/{release.published:%m%d}/"


def list_path(page: int) -> str:
    """Return the URL path of list page `page` (1-based): `index.html`, then `index_1.html`, …."""
    return ARCHIVE_PATH + _list_file(page)


def _list_file(page: int) -> str:
    return "index.html" if page == 1 else f"index_{page - 1}.html"


def list_page_count(items: int) -> int:
    """Return how many list pages hold `items` releases (at least one, even when empty)."""
    return max(1, math.ceil(items / PAGE_SIZE))


def parse_list_path(path: str) -> int | None:
    """Return the page number a list-page path names, or None when it names no list page."""
    match = LIST_PATH.fullmatch(path)
    if match is None:
        return None
    return int(match["index"]) + 1 if match["index"] else 1


def parse_detail_path(path: str) -> int | None:
    """Return the release id a detail-page path names, or None when it has the wrong shape."""
    match = DETAIL_PATH.fullmatch(path)
    return int(match["id"]) if match else None


def render_list_page(
    releases: Sequence[Release],
    page: int,
    *,
    charset: str = "utf-8",
    next_page: int | None = None,
    empty: bool = False,
) -> str:
    """Render archive list page `page` (1-based) of the given releases, newest first.

    Args:
        releases: the visible releases.
        page: which list page to render.
        charset: the charset the `<meta>` tag declares.
        next_page: where 下一页 points instead of page + 1 (a CMS bug that makes pagination loop).
        empty: render the page after a layout change: pagination as before, but no item in the HTML.
    """
    newest_first = sorted(releases, key=_chronological, reverse=True)
    pages = list_page_count(len(newest_first))
    if not 1 <= page <= pages:
        raise ValueError(f"list page {page} does not exist; there are {pages}")
    if next_page is not None and not 1 <= next_page <= pages:
        raise ValueError(f"next_page {next_page} does not exist; there are {pages}")
    items = newest_first[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    listing = (
        [_script_list(page)]
        if empty
        else ['<ul class="list">', *(_list_item(release) for release in items), "</ul>"]
    )
    body = [
        _header(),
        _breadcrumb("./index.html"),
        '<div class="main wrap">',
        _side_menu(),
        '<div class="list-box">',
        f'<div class="list-head"><h2>{SECTION_NAME}</h2></div>',
        *listing,
        _pagination(page, pages, len(newest_first), next_page=next_page),
        "</div>",
        "</div>",
        _footer(),
    ]
    return _document(f"{SECTION_NAME}-{SITE_NAME}", body, charset)


def _script_list(page: int) -> str:
    return (
        f'<div class="list" id="listContainer" data-page="{page}"><p class="loading">{EMPTY_LIST_NOTICE}</p></div>\n'
        "<script>\n"
        "(function () {\n"
        "  var box = document.getElementById('listContainer');\n"
        "  var xhr = new XMLHttpRequest();\n"
        "  xhr.open('GET', './list.json?page=' + box.getAttribute('data-page'));\n"
        "  xhr.onload = function () { box.innerHTML = xhr.responseText; };\n"
        "  xhr.send();\n"
        "})();\n"
        "</script>"
    )


def _list_item(release: Release) -> str:
    title = escape(release.list_title)
    return (
        f'<li><a href="{escape(_list_href(release))}" title="{title}">{title}</a>'
        f'<span class="date">{release.published.isoformat()}</span></li>'
    )


def _list_href(release: Release) -> str:
    # The real CMS mixes both link styles within one list; parity keeps each release's link stable.
    if release.id % 2 == 0:
        return "./" + detail_path(release).removeprefix(ARCHIVE_PATH)
    return detail_path(release)


def _pagination(page: int, pages: int, items: int, *, next_page: int | None = None) -> str:
    parts = [_page_link(FIRST_PAGE, 1), _page_step(PREVIOUS_PAGE, page - 1, pages)]
    for number in range(1, pages + 1):
        parts.append(
            f'<span class="current">{number}</span>' if number == page else _page_link(str(number), number)
        )
    following = _page_link(NEXT_PAGE, next_page) if next_page else _page_step(NEXT_PAGE, page + 1, pages)
    parts += [following, _page_link(LAST_PAGE, pages)]
    parts.append(
        f'<span class="total">{PAGE_TOTAL.format(pages=pages)} {ITEM_TOTAL.format(items=items)}</span>'
    )
    return '<div class="page">\n' + "\n".join(parts) + "\n</div>"


def _page_link(label: str, page: int) -> str:
    return f'<a href="./{_list_file(page)}">{label}</a>'


def _page_step(label: str, page: int, pages: int) -> str:
    if 1 <= page <= pages:
        return _page_link(label, page)
    return f'<span class="disabled">{label}</span>'


def _side_menu() -> str:
    items = "".join(_menu_item(label, href) for label, href in SIDE_ITEMS)
    return f'<div class="side"><h3>{SIDE_TITLE}</h3><ul>{items}</ul></div>'


def render_detail_page(
    release: Release,
    *,
    views: int,
    older: Release | None = None,
    newer: Release | None = None,
    charset: str = "utf-8",
) -> str:
    """Render a release's detail page; 上一篇 links `older`, 下一篇 links `newer`.

    Args:
        release: the page to render.
        views: the view counter to show (`浏览：N`).
        older: the visible release published just before, if any.
        newer: the visible release published just after, if any.
        charset: the charset the `<meta>` tag declares.
    """
    return _detail_page(release, views=views, older=older, newer=newer, charset=charset)


def render_oversized_detail_page(
    release: Release,
    *,
    size: int,
    views: int,
    older: Release | None = None,
    newer: Release | None = None,
    charset: str = "utf-8",
    chunk: int = 64 * 1024,
) -> Iterator[bytes]:
    """Yield, chunk by chunk, a detail page of at least `size` bytes: one huge text node in the transcript.

    The page is never held whole in memory, so a test can serve tens of megabytes cheaply.
    """
    head, tail = (
        part.encode(charset, errors="xmlcharrefreplace")
        for part in _detail_page(
            release, views=views, older=older, newer=newer, charset=charset, oversize=True
        ).split(_OVERSIZE_SLOT)
    )
    yield head
    row = OVERSIZE_ROW.encode(charset)
    block = row * max(1, chunk // len(row))
    remaining = size - len(head) - len(tail)
    while remaining > 0:
        yield block
        remaining -= len(block)
    yield tail


def _detail_page(
    release: Release,
    *,
    views: int,
    older: Release | None,
    newer: Release | None,
    charset: str,
    oversize: bool = False,
) -> str:
    content = _content_block(release.paragraphs, repeat=release.repeat_body, oversize=oversize)
    body = [
        _header(),
        _breadcrumb("../../index.html"),
        '<div class="main wrap">',
        '<div class="detail">',
        _title_block(release.title_lines),
        _info_block(release, views),
        content,
        _attachments_block(release.attachments),
        _tools_block(),
        _share_block(),
        _neighbours_block(older, newer),
        "</div>",
        "</div>",
        _footer(),
        f"<script>\n{SHARE_SCRIPT}\n</script>",
    ]
    return _document(f"{release.list_title}-{SECTION_NAME}-{SITE_NAME}", body, charset)


def _title_block(lines: Sequence[str]) -> str:
    if not lines:
        return ""
    heads = "\n".join(_title_line(line, tag="h1" if n == 0 else "h2") for n, line in enumerate(lines))
    return f'<div class="detail-title">\n{heads}\n</div>'


def _title_line(line: str, *, tag: str) -> str:
    return f"<{tag}>{escape(line)}</{tag}>"


def _info_block(release: Release, views: int) -> str:
    lines = [f'<p class="views">{VIEWS_LABEL}{views}</p>']
    if release.date_line:
        published = release.published
        lines.append(f'<p class="date">{DATE_LABEL}{published.year}年{published:%m}月{published:%d}日</p>')
    sizes = " ".join(f'<a href="#">{size}</a>' for size in FONT_SIZES)
    lines.append(f'<p class="fontsize">【{FONT_SIZE_LABEL}{sizes}】</p>')
    return '<div class="detail-info">\n' + "\n".join(lines) + "\n</div>"


def _content_block(paragraphs: Sequence[str], *, repeat: bool, oversize: bool = False) -> str:
    copies = 2 if repeat else 1
    lines = [f"<p>{PARAGRAPH_INDENT}{escape(text)}</p>" for text in paragraphs] * copies
    if oversize:
        lines.append(f"<p>{_OVERSIZE_SLOT}</p>")
    return (
        '<div class="detail-content" id="zoom">\n<div class="TRS_Editor">\n'
        + "\n".join(lines)
        + "\n</div>\n</div>"
    )


def _attachments_block(attachments: Sequence[Attachment]) -> str:
    if not attachments:
        return ""
    links = "\n".join(
        f'<li><a href="./{escape(item.file)}" target="_blank">{escape(item.name)}</a></li>'
        for item in attachments
    )
    return f'<div class="detail-attach">\n<p>{ATTACHMENTS_LABEL}</p>\n<ul>\n{links}\n</ul>\n</div>'


def _tools_block() -> str:
    return '<div class="detail-tools">' + " ".join(f'<a href="#">{tool}</a>' for tool in TOOLS) + "</div>"


def _share_block() -> str:
    targets = " ".join(f'<a href="#" class="share-{key}">{label}</a>' for key, label in SHARE_TARGETS)
    return (
        f'<div class="share">{SHARE_LABEL}{targets}</div>\n'
        f'<div class="qrcode"><div class="qrcode-img"></div><p>{QR_HINT}</p></div>'
    )


def _neighbours_block(older: Release | None, newer: Release | None) -> str:
    return (
        '<div class="prev-next">\n'
        f'<p class="prev">{OLDER_LABEL}{_neighbour_link(older)}</p>\n'
        f'<p class="next">{NEWER_LABEL}{_neighbour_link(newer)}</p>\n'
        "</div>"
    )


def _neighbour_link(release: Release | None) -> str:
    if release is None:
        return NO_NEIGHBOUR
    href = "../../" + detail_path(release).removeprefix(ARCHIVE_PATH)
    title = escape(release.list_title)
    return f'<a href="{href}" title="{title}">{title}</a>'


def render_error_page(status: int, *, charset: str = "utf-8") -> str:
    """Render the plain error page the server shows for 404, 500 and 503."""
    heading, message = ERROR_MESSAGES[status]
    return _document(
        heading,
        [f"<h1>{heading}</h1>", f"<p>{message}</p>", f'<p><a href="{SITE_ROOT}">返回首页</a></p>'],
        charset,
    )


def render_robots(disallowed: Sequence[str] = ROBOTS_DISALLOWED) -> str:
    """Render `/robots.txt`: everything allowed except the given paths (search and admin by default)."""
    return "User-agent: *\n" + "".join(f"Disallow: {path}\n" for path in disallowed)


def render_block_page(event: str, *, charset: str = "utf-8") -> str:
    """Render the captcha page a web application firewall serves, with HTTP 200, instead of the page asked for.

    It is the firewall's own page: none of the site's header, menus or footer.
    """
    lines = "\n".join(f"<p>{line}</p>" for line in BLOCK_LINES)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n'
        "<head>\n"
        f'<meta charset="{charset}">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{BLOCK_TITLE}</title>\n"
        f"<style>{BLOCK_STYLE}</style>\n"
        "</head>\n"
        "<body>\n"
        '<div class="waf-box">\n'
        f'<div class="waf-head"><h1>{BLOCK_TITLE}</h1></div>\n'
        f'<div class="waf-text">\n{lines}\n</div>\n'
        '<form class="waf-captcha" method="post" action="/waf/verify">'
        f"<label>{BLOCK_CAPTCHA_LABEL}</label>"
        '<img src="/waf/captcha.png" alt="验证码" width="100" height="36">'
        f'<input type="text" name="captcha" maxlength="6" placeholder="{BLOCK_CAPTCHA_PLACEHOLDER}">'
        f'<button type="submit">{BLOCK_SUBMIT}</button></form>\n'
        f'<p class="waf-event">{BLOCK_EVENT_LABEL}{escape(event)}</p>\n'
        f'<p class="waf-footer">{BLOCK_FOOTER}</p>\n'
        "</div>\n"
        "</body>\n"
        "</html>\n"
    )


def render_attachment_pdf(file_name: str) -> bytes:
    """Return a tiny valid one-page PDF that names the attachment file."""
    text = PDF_TEXT.format(file=file_name).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 770 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


def _document(title: str, body: Sequence[str], charset: str) -> str:
    content = "\n".join(part for part in body if part)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n'
        "<head>\n"
        f'<meta charset="{charset}">\n'
        '<meta http-equiv="X-UA-Compatible" content="IE=edge">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        f'<meta name="keywords" content="{KEYWORDS}">\n'
        f'<meta name="description" content="{DESCRIPTION}">\n'
        f"<title>{escape(title, quote=False)}</title>\n"
        f"<style>{STYLE}</style>\n"
        "</head>\n"
        "<body>\n"
        f"{content}\n"
        "</body>\n"
        "</html>\n"
    )


def _header() -> str:
    top_links = " | ".join(f'<a href="#">{label}</a>' for label in TOP_LINKS)
    nav = "\n".join(_menu_item(label, href) for label, href in NAV_ITEMS)
    return (
        f'<div class="topbar"><div class="wrap"><span class="welcome">{TOP_WELCOME}</span>'
        f'<span class="toplinks">{top_links}</span></div></div>\n'
        '<div class="header"><div class="wrap">\n'
        f'<div class="logo"><a href="{SITE_ROOT}">'
        f"<strong>{OFFICE_NAME}</strong><span>{SITE_NAME}</span></a></div>\n"
        f'<form class="search" action="{SEARCH_PATH}" method="get">'
        f'<input type="text" name="searchword" placeholder="{SEARCH_PLACEHOLDER}">'
        f'<button type="submit">{SEARCH_BUTTON}</button></form>\n'
        "</div></div>\n"
        f'<div class="nav"><ul class="wrap">\n{nav}\n</ul></div>'
    )


def _menu_item(label: str, href: str) -> str:
    current = ' class="on"' if label == SECTION_NAME else ""
    return f'<li{current}><a href="{href}">{label}</a></li>'


def _breadcrumb(archive_href: str) -> str:
    return (
        f'<div class="location wrap">{BREADCRUMB_LABEL}<a href="{SITE_ROOT}">{BREADCRUMB_HOME}</a>'
        f' &gt; <a href="{archive_href}">{SECTION_NAME}</a></div>'
    )


def _footer() -> str:
    links = " | ".join(f'<a href="#">{label}</a>' for label in FOOTER_LINKS)
    return (
        '<div class="footer"><div class="wrap">\n'
        f'<p class="footer-links">{links}</p>\n'
        f"<p>{FOOTER_SPONSOR}</p>\n"
        f"<p><span>{FOOTER_ICP}</span>\u3000<span>{FOOTER_COPYRIGHT}</span></p>\n"
        f"<p>{FOOTER_HINT}</p>\n"
        "</div></div>"
    )
