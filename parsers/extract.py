"""Extract a release from a page: CMS meta tags first, then known body containers, then text density."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

from parsers import vocabulary as vocab
from parsers.dates import date_in_url, find_date, parse_iso_like
from parsers.decode import Decoded, decode_html
from parsers.hints import NO_HINTS, PageHints
from parsers.normalize import comparison_key, paragraph_keys_simplified, simplify

# Controls other than tab and line breaks, and lone surrogates: Postgres `text` refuses NUL, UTF-8 cannot
# encode a surrogate, and lxml stops reading a string at the first one. Entities (`&#1;`) bring controls
# back after parsing, so text and attribute values are cleaned again on the way out.
UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# In text, U+FFFD left by a lossy decoding goes too; in a URL, tabs and line breaks go (as browsers drop them).
TEXT_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffd]")
URL_JUNK = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
SPACES = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
SENTENCE_MARKS = re.compile(r"[。！？；，、]")
SENTENCE_END = re.compile(r"[。！？；]")
HANZI_RUN = re.compile(r"[\u4e00-\u9fff]+")
# A line break in the HTML source between two Chinese characters is not a space a reader sees: a run of
# whitespace holding one goes (with the spaces and tabs before it) between two Chinese characters or
# punctuation marks, a digit and one of those, or one of those and a digit (`_join_source_lines`).
LINE_BREAK = re.compile(r"[\r\n]\s*")
CJK_PUNCTUATION = frozenset("，。、；：！？“”（）")
MAX_HEADINGS = 50


def _first(xpath: str) -> lxml.etree.XPath:
    """Compile an XPath that returns only its first MAX_HEADINGS matches.

    Cut inside libxml2, not by slicing the result: a page of 60,000 headings would otherwise become 60,000
    Python objects at once, and the collector's pause over a large heap can outlast the time cap.
    """
    return lxml.etree.XPath(f"({xpath})[position() <= {MAX_HEADINGS}]")


TITLE_XPATHS = tuple(_first(xpath) for xpath in vocab.TITLE_XPATHS)
# The warning of an extraction whose bytes no charset read cleanly (source health counts these pages).
LOSSY_DECODING = "bytes decoded lossily: no encoding fitted"
MAX_LINES = 20_000
# The tag hinted `drop` elements get before they are stripped with the page's other furniture.
DROPPED = "pressmon-dropped"
TITLE_SPLIT = re.compile(r"\s*(?:[_|｜]|\s[-—–]\s|--|——|(?<!\d)[-—–](?!\d))\s*")


class ParseError(Exception):
    """A page that cannot become a release; the reason says why, for the raw page's record."""


class NotAnArticle(ParseError):
    """The page is a list, home or empty page, not an article."""


class ExtractionTimeout(ParseError):
    """The page took longer than the per-page time cap."""


@dataclass(frozen=True)
class ExtractOptions:
    """Limits and thresholds of extraction."""

    max_chars: int = 3_000_000
    max_seconds: float = 5.0
    # Fifty times the longest transcript seen; it also bounds each pass over the body within the time cap.
    max_body_chars: int = 500_000
    min_body_chars: int = 60
    min_sentence_marks: int = 2
    max_link_density: float = 0.5


@dataclass(frozen=True)
class Attachment:
    url: str
    name: str


@dataclass(frozen=True)
class Speaker:
    name: str
    role: str | None


@dataclass(frozen=True)
class Extraction:
    """What a page says: the release fields, and which method found the body."""

    title: str
    published_at: date | None
    publisher: str | None
    paragraphs: tuple[str, ...]
    attachments: tuple[Attachment, ...] = ()
    speakers: tuple[Speaker, ...] = ()
    column: str | None = None
    method: str = ""
    encoding: str | None = None
    warnings: tuple[str, ...] = ()
    # The body in NFKC width and simplified script (`parsers.normalize.simplify`), as finding the page's
    # repeats computed it: what fingerprinting and tagging start from, so it is not computed twice.
    simplified_body: str | None = field(default=None, repr=False, compare=False)

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)

    def as_json(self) -> dict[str, object]:
        """Return the JSON contract of `pressmon extract`."""
        return {
            "title": self.title,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "publisher": self.publisher,
            "body": self.body,
            "paragraphs": list(self.paragraphs),
            "attachments": [{"url": a.url, "name": a.name} for a in self.attachments],
            "speakers": [{"name": s.name, "role": s.role} for s in self.speakers],
            "column": self.column,
            "method": self.method,
            "encoding": self.encoding,
            "warnings": list(self.warnings),
        }


DEFAULT_OPTIONS = ExtractOptions()


def extract_page(
    body: bytes,
    url: str | None = None,
    content_type: str | None = None,
    options: ExtractOptions = DEFAULT_OPTIONS,
    hints: PageHints | None = None,
) -> Extraction:
    """Decode the bytes of a page and extract its release.

    Args:
        body: the page as fetched.
        url: the page's URL, for relative links and dates in paths.
        content_type: the HTTP Content-Type header, if any.
        options: limits and thresholds.
        hints: CSS selectors a source declares for its detail pages. A hint that matches an element is used
            first; one that matches nothing (a changed template) is ignored and the generic rules decide.
            An invalid selector is a bug of the declaration and raises.

    Raises:
        NotAnArticle: a list, home or empty page.
        ExtractionTimeout: the page exceeded the time cap.
    """
    deadline = time.monotonic() + options.max_seconds
    decoded = decode_html(body[: options.max_chars * 4], content_type)
    _check(deadline)
    return _extract(decoded.text, url, options, decoded, deadline, hints or NO_HINTS)


def extract(
    html: str,
    url: str | None = None,
    options: ExtractOptions = DEFAULT_OPTIONS,
    *,
    decoded: Decoded | None = None,
    hints: PageHints | None = None,
) -> Extraction:
    """Extract the release of an HTML page given as text."""
    return _extract(html, url, options, decoded, time.monotonic() + options.max_seconds, hints or NO_HINTS)


def _extract(
    html: str,
    url: str | None,
    options: ExtractOptions,
    decoded: Decoded | None,
    deadline: float,
    hints: PageHints,
) -> Extraction:
    html = UNSAFE_CHARS.sub("", html[: options.max_chars])
    if not html.strip():
        raise NotAnArticle("empty page")
    root = _parse(html)
    for selector in hints.drop:
        for node in _select(root, selector):
            if node.tag not in {"html", "head", "body"}:
                node.tag = DROPPED
    lxml.etree.strip_elements(root, DROPPED, with_tail=False)
    meta = _meta(root)
    page_title = _text(root.find(".//title"))
    page_text = _text(root.find("body"))  # before furniture is dropped: some templates date pages in a footer
    hinted = _Hinted.read(root, hints, deadline)
    # Not drop_tree(): it re-sets the neighbour's text through lxml's API, which refuses the control
    # characters an entity such as `&#1;` put there; strip_elements moves the nodes as they are.
    lxml.etree.strip_elements(root, *vocab.DROP_TAGS, with_tail=False)
    _check(deadline)

    container, method = _hinted_container(root, hints, options, deadline)
    if container is None:
        container, method = _container(root, options, deadline)
    if container is None:
        raise NotAnArticle("no block of article text on the page")
    title = hinted.title or _title(root, meta, page_title, container, deadline)
    attachments = _attachments(container, url, deadline)
    lines, cut = _cut(_lines(container, deadline), options.max_body_chars)
    preamble = _preamble(root, container, deadline)
    _check(deadline)

    container_text = _text(container)
    byline = _byline(root, title, deadline)
    publisher = hinted.publisher or _publisher(
        meta, (preamble, container_text[:300], container_text[-300:]), byline
    )
    _check(deadline)
    paragraphs, simplified = _clean(lines, title, deadline)
    _check(deadline)
    signature = _signature(paragraphs)
    published = hinted.published or _published(
        meta, root, preamble, lines, url, page_text, byline, signature, deadline
    )
    publisher = publisher or (signature[0] if signature else None)
    _check(deadline)
    body_chars = sum(len(p) for p in paragraphs)
    if (
        body_chars < options.min_body_chars
        or len(SENTENCE_MARKS.findall("".join(paragraphs))) < options.min_sentence_marks
    ):
        raise NotAnArticle(f"too little article text ({body_chars} characters)")
    if not title:
        raise NotAnArticle("no title")
    publisher = publisher or _conference_host(paragraphs)
    warnings = []
    if decoded and decoded.method == "lossy":
        warnings.append(LOSSY_DECODING)
    if cut:
        warnings.append(f"body cut at {options.max_body_chars} characters")
    return Extraction(
        title=title,
        published_at=published,
        publisher=publisher,
        paragraphs=tuple(paragraphs),
        attachments=tuple(attachments),
        speakers=tuple(_speakers(paragraphs)),
        column=_first_meta(meta, vocab.META_COLUMN),
        method=method,
        encoding=decoded.encoding if decoded else None,
        warnings=tuple(warnings),
        simplified_body="\n".join(simplified),
    )


# -- parsing helpers ------------------------------------------------------------------------------------


def _parse(html: str) -> lxml.html.HtmlElement:
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, encoding=None, huge_tree=False)
    try:
        root = lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise NotAnArticle(f"not parseable as HTML: {exc}") from None
    if root is None:
        raise NotAnArticle("not parseable as HTML")
    return root


def _check(deadline: float) -> None:
    # Called between steps and in every loop over nodes, links or matches: one iteration can cost a pass
    # over the page's text, and a page can hold thousands of them (nested containers, labels, links).
    if time.monotonic() > deadline:
        raise ExtractionTimeout("page took longer than the extraction time cap")


def _text(node: lxml.html.HtmlElement | None) -> str:
    if node is None:
        return ""
    return tidy(node.text_content())


def tidy(text: str) -> str:
    """Collapse whitespace, drop line breaks of the HTML source inside Chinese text, controls and U+FFFD."""
    if not text or text.isspace():  # half the texts of a page's tree: the indentation between its tags
        return ""
    text = TEXT_JUNK.sub("", text)
    if "\n" in text or "\r" in text:  # most lines have none
        text = _join_source_lines(text)
    return SPACES.sub(" ", text).strip()


def _join_source_lines(text: str) -> str:
    """Drop each line break of the HTML source (with the whitespace around it) that sits inside Chinese text.

    A scan for the line breaks, each then judged by the characters either side of its run of whitespace: a
    regular expression that looks behind and ahead tries both at every character, which cost three times
    as much (`tests/parsers/test_extract_templates.py` holds that expression, and checks the two agree).
    """
    pieces: list[str] = []
    last = 0
    for match in LINE_BREAK.finditer(text):
        start, end = match.span()
        while start > last and text[start - 1] in " \t":
            start -= 1
        if start > 0 and end < len(text) and _joined(text[start - 1], text[end]):
            pieces.append(text[last:start])
            last = end
    if not last:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _joined(before: str, after: str) -> bool:
    chinese_before = "\u4e00" <= before <= "\u9fff" or before in CJK_PUNCTUATION
    if "\u4e00" <= after <= "\u9fff" or after in CJK_PUNCTUATION:
        return chinese_before or before.isdecimal()
    return chinese_before and after.isdecimal()


def _meta(root: lxml.html.HtmlElement) -> dict[str, str]:
    meta: dict[str, str] = {}
    for node in root.iter("meta"):
        key = (node.get("name") or node.get("property") or node.get("itemprop") or "").strip().lower()
        value = tidy(node.get("content") or "")
        if key and value and key not in meta:
            meta[key] = value
    return meta


def _first_meta(meta: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((meta[k] for k in keys if meta.get(k)), None)


# -- hints ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _selector(css: str) -> CSSSelector:
    return CSSSelector(css)


def _select(root: lxml.html.HtmlElement, css: str) -> list[lxml.html.HtmlElement]:
    return [node for node in _selector(css)(root) if isinstance(node.tag, str)]


@lru_cache(maxsize=256)
def _first_of(css: str) -> lxml.etree.XPath:
    return _first(_selector(css).path)


def _select_first(root: lxml.html.HtmlElement, css: str) -> list[lxml.html.HtmlElement]:
    return [node for node in _first_of(css)(root) if isinstance(node.tag, str)]


def _hint_texts(root: lxml.html.HtmlElement, css: str | None, deadline: float) -> list[str]:
    """Return the texts of the elements a hint matches: a meta tag's content, a <time>'s datetime, else text."""
    if not css:
        return []
    texts = []
    for node in _select_first(root, css):
        _check(deadline)
        if node.tag == "meta":
            text = tidy(node.get("content") or "")
        else:
            text = _text(node) or tidy(node.get("datetime") or node.get("content") or "")
        if text:
            texts.append(text)
    return texts


@dataclass(frozen=True)
class _Hinted:
    """The fields a source's hints found on the page; None where a hint is absent or matched nothing."""

    title: str | None = None
    published: date | None = None
    publisher: str | None = None

    @classmethod
    def read(cls, root: lxml.html.HtmlElement, hints: PageHints, deadline: float) -> _Hinted:
        if hints == NO_HINTS:
            return cls()
        title = next((t for t in _hint_texts(root, hints.title, deadline) if 2 <= len(t) <= 300), None)
        published = None
        for text in _hint_texts(root, hints.date, deadline):
            if published := _labelled_date(text, vocab.DATE_LABEL, deadline) or parse_iso_like(text):
                break
        publisher = None
        for text in _hint_texts(root, hints.publisher, deadline):
            match = vocab.PUBLISHER_LABEL.search(text)
            name = vocab.PUBLISHER_NOISE.sub("", match.group(1) if match else text).strip()
            name = vocab.FIELD_LABEL.sub("", name)  # "发布单位：青岛市工业和信息化局"
            if 2 <= len(name) <= 40:
                publisher = name
                break
        return cls(title, published, publisher)


def _hinted_container(
    root: lxml.html.HtmlElement, hints: PageHints, options: ExtractOptions, deadline: float
) -> tuple[lxml.html.HtmlElement | None, str]:
    if not hints.body:
        return None, ""
    for node in _select(root, hints.body):
        _check(deadline)
        # A hint that now matches a near-empty element (a changed template) must not empty the release.
        if _own_text_length(node) >= options.min_body_chars:
            return node, f"hint {hints.body}"
    return None, ""


# -- title ----------------------------------------------------------------------------------------------


def _title(
    root: lxml.html.HtmlElement,
    meta: dict[str, str],
    page_title: str,
    container: lxml.html.HtmlElement,
    deadline: float,
) -> str:
    """Pick the headline: a heading the <title> confirms, else the CMS meta title, else the <title>.

    A <title> that names only the site gives way to the emphasised line just before the text.
    """
    page_key = comparison_key(page_title)
    headings = []
    for xpath in TITLE_XPATHS:
        _check(deadline)
        for node in xpath(root):
            _check(deadline)
            text = _text(node)
            if 4 <= len(text) <= 200 and len(node.xpath(".//a")) <= 1:
                headings.append(text)
    emphasised = _emphasised_line(root, container, deadline)
    if emphasised:
        headings.append(emphasised)
    for text in headings:
        key = comparison_key(text)
        if key and key in page_key:
            return text
    meta_title = _first_meta(meta, vocab.META_TITLE)
    if meta_title and meta.get("articletitle"):
        return meta_title
    page_part = _title_from_page_title(page_title)
    part_key = comparison_key(page_part)
    for text in headings:
        key = comparison_key(text)
        if part_key and key and (key in part_key or part_key in key):
            return text
    if meta_title:
        return _title_from_page_title(meta_title)
    if emphasised and (not page_part or _names_the_site(page_part, meta)):
        return emphasised
    return page_part or (headings[0] if headings else "")


def _names_the_site(text: str, meta: dict[str, str]) -> bool:
    site = meta.get("sitename") or meta.get("og:site_name") or ""
    return bool(vocab.SITE_NAME.match(text)) or (bool(site) and comparison_key(site) == comparison_key(text))


def _emphasised_line(
    root: lxml.html.HtmlElement, container: lxml.html.HtmlElement, deadline: float
) -> str | None:
    """Return the last emphasised short line before the article's first sentence (old table layouts)."""
    found = None
    inside = False
    for n, node in enumerate(root.iter()):
        if not isinstance(node.tag, str) or n > 20_000:
            break
        if n % 200 == 0:
            _check(deadline)
        if node is container:
            inside = True
        if inside and "。" in (node.text or ""):
            break
        if node.tag in {"a", "title", "head", "meta", "html", "body"} or not _emphasised(node):
            continue
        text = _text(node)
        low, high = vocab.HEADLINE_CHARS
        if (
            low <= len(text) <= high
            and not SENTENCE_END.search(text)
            and not node.xpath(".//a | ancestor::a")
            and not vocab.NOISE_LINES.match(text)
        ):
            found = text
    return found


def _emphasised(node: lxml.html.HtmlElement) -> bool:
    if node.tag in {"h1", "h2", "h3", "h4"}:
        return True
    if vocab.TITLE_ATTR.search(f"{node.get('class', '')} {node.get('id', '')}"):
        return True
    if vocab.BOLD_STYLE.search(node.get("style") or ""):
        return True
    if node.tag == "font" and (node.get("size") or "").strip() in {"4", "5", "6", "7", "+1", "+2", "+3"}:
        return True
    parent = node.getparent()
    # <td><b>headline</b></td>: a bold run that is all its cell holds.
    return (
        node.tag in {"b", "strong"}
        and parent is not None
        and parent.tag in {"td", "div", "p", "font", "center"}
        and _text(parent) == _text(node)
    )


def _title_from_page_title(page_title: str) -> str:
    parts = [p for p in TITLE_SPLIT.split(page_title) if p]
    return max(parts, key=len) if parts else ""


# -- body -----------------------------------------------------------------------------------------------


def _container(
    root: lxml.html.HtmlElement, options: ExtractOptions, deadline: float
) -> tuple[lxml.html.HtmlElement | None, str]:
    for xpath in vocab.BODY_XPATHS:
        _check(deadline)
        for node in root.xpath(xpath):
            _check(deadline)
            text = _own_text_length(node)
            if text >= options.min_body_chars and _link_density(node) <= options.max_link_density:
                return node, f"container {xpath}"
    _check(deadline)
    node = _densest(root, options, deadline)
    return node, "density"


def _own_text_length(node: lxml.html.HtmlElement) -> int:
    return _hanzi_count(node.text_content())


def _hanzi_count(text: str) -> int:
    # The runs of Chinese characters, not each character: on a page of millions of characters, a list of one
    # string per character alone takes a second; deleting them (sub) copies the text piece by piece.
    return sum(map(len, HANZI_RUN.findall(text)))


def _link_density(node: lxml.html.HtmlElement) -> float:
    total = len(SPACES.sub("", node.text_content()))
    if total == 0:
        return 1.0
    linked = sum(len(SPACES.sub("", a.text_content())) for a in node.iter("a"))
    return linked / total


def _densest(
    root: lxml.html.HtmlElement, options: ExtractOptions, deadline: float
) -> lxml.html.HtmlElement | None:
    """Score text blocks by length and punctuation, credit parents (readability's idea), pick the best."""
    scores: dict[lxml.html.HtmlElement, float] = {}
    for node in root.iter("p", "div", "td", "section", "article", "span", "font", "li"):
        _check(deadline)
        own = _direct_text(node)
        if len(own) < 20:
            continue
        marks = len(SENTENCE_MARKS.findall(own))
        if marks == 0:
            continue
        score = 1 + marks + min(len(own) / 100, 3)
        if vocab.BOILERPLATE_TEXT.search(own):
            score *= 0.1
        parent = node.getparent()
        if node.tag in {"p", "span", "font", "li"} and parent is not None:
            scores[parent] = scores.get(parent, 0) + score
            grand = parent.getparent()
            if grand is not None:
                scores[grand] = scores.get(grand, 0) + score / 2
        else:
            scores[node] = scores.get(node, 0) + score
            if parent is not None:
                scores[parent] = scores.get(parent, 0) + score / 2
    best, best_score = None, 0.0
    for node, score in scores.items():
        if node.tag in {"html", "body"}:
            continue
        _check(deadline)
        adjusted = score * (1 - _link_density(node))
        if adjusted > best_score:
            best, best_score = node, adjusted
    return best


def _direct_text(node: lxml.html.HtmlElement) -> str:
    parts = [node.text or ""]
    for child in node:
        if child.tag in {"br", "a", "b", "strong", "span", "font", "em", "i", "u", "sup", "sub"}:
            parts.append(child.text_content() if child.tag != "br" else "")
        parts.append(child.tail or "")
    return SPACES.sub("", "".join(parts))


def _is_noise(node: lxml.html.HtmlElement) -> bool:
    attrs = f"{node.get('class', '')} {node.get('id', '')}"
    if attrs.strip() and vocab.NOISE_ATTR.search(attrs):
        return _hanzi_count(node.text_content()) < 400 or _link_density(node) > 0.5
    style = (node.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _lines(container: lxml.html.HtmlElement, deadline: float) -> list[str]:
    """Return the container's text split at block boundaries, skipping boilerplate blocks."""
    lines: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        if not buffer:
            return
        text = tidy("".join(buffer))
        if text:
            lines.append(text)
        buffer.clear()

    def walk(node: lxml.html.HtmlElement) -> None:
        if not isinstance(node.tag, str):
            return
        _check(deadline)
        if node is not container and _is_noise(node):
            flush()
            return
        block = node.tag in vocab.BLOCK_TAGS
        if block:
            flush()
        if node.text and node.tag != "br":
            buffer.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                buffer.append(child.tail)
        if block:
            flush()

    walk(container)
    flush()
    _check(deadline)
    return lines[:MAX_LINES]


def _cut(lines: list[str], max_chars: int) -> tuple[list[str], bool]:
    """Keep the lines up to max_chars characters in all, line breaks between them included; tell if any were cut."""
    total = 0
    for n, line in enumerate(lines):
        if total + len(line) > max_chars:
            rest = [*lines[:n], line[: max_chars - total].strip()]
            return [line for line in rest if line], True
        total += len(line) + 1
    return lines, False


def _clean(lines: list[str], title: str, deadline: float) -> tuple[list[str], list[str]]:
    """Drop furniture lines and the repeated title, and collapse blocks the page repeats; return the lines
    kept, and the same lines simplified (`parsers.normalize.simplify`)."""
    lines = [line for line in lines if not vocab.NOISE_LINES.match(line) and not _footer_line(line)]
    _check(deadline)
    # Lines hold no line breaks (tidy collapsed them), so all of them are simplified in one pass; no step
    # of `simplify` reaches across a line break, so each line comes out as it would alone.
    simplified_text = simplify("\n".join(lines)) if lines else ""
    keys = paragraph_keys_simplified(simplified_text) if lines else []
    simplified = simplified_text.split("\n") if lines else []
    _check(deadline)
    title_key = comparison_key(title)
    skip = 0
    while title_key and skip < len(keys) and keys[skip] == title_key:
        skip += 1
    drop = _repeats(keys[skip:])
    return (
        [line for line, dropped in zip(lines[skip:], drop, strict=True) if not dropped],
        [line for line, dropped in zip(simplified[skip:], drop, strict=True) if not dropped],
    )


def _footer_line(line: str) -> bool:
    return (
        len(line) <= vocab.FOOTER_LINE_MAX_CHARS
        and not line.endswith(("。", "！", "？"))
        and bool(vocab.FOOTER_LINE.search(line))
    )


def _signature(paragraphs: list[str]) -> tuple[str | None, date] | None:
    """Return the agency and date of the closing signature (落款), if the text ends with one."""
    tail = paragraphs[-vocab.SIGNATURE_LINES :]
    for i in range(len(tail) - 1, -1, -1):
        line = tail[i].strip()
        if vocab.SIGNATURE_DATE.match(line) and (signed := find_date(line)):
            before = tail[i - 1].strip() if i else ""
            return (before if vocab.SIGNATURE_AGENCY.match(before) else None), signed
    return None


def _byline(root: lxml.html.HtmlElement, title: str, deadline: float) -> list[str]:
    """Return the short texts right beside the headline: the date, source and author lines of a byline."""
    if not title:
        return []
    start = tidy(title)[:4]
    for n, node in enumerate(root.iter()):
        if n % 200 == 0:
            _check(deadline)
        # Only the element whose own text starts the headline: text_content() of every node would be quadratic.
        if isinstance(node.tag, str) and start in tidy(node.text or "") and _text(node) == title:
            break
    else:
        return []
    texts = []
    for text in node.xpath("following::text()[position() <= 12]"):
        piece = tidy(str(text))
        if not piece:
            continue
        if len(piece) > vocab.BYLINE_CHARS or SENTENCE_END.search(piece):
            break
        texts.append(piece)
    before = node.getprevious()
    if before is not None and len(text := _text(before)) <= 40:
        texts.append(text)
    return texts


def _repeats(keys: list[str], min_run: int = 3, min_run_chars: int = 200, min_single: int = 50) -> list[bool]:
    """Tell, for each paragraph by its comparison key, whether to drop it as a repeat of one before it.

    The first copy of any run of paragraphs the page repeats is kept, and of any long paragraph repeated
    alone. Short lines that recur naturally in a transcript ("谢谢。") survive unless they sit inside a
    repeated run.
    """
    first_at: dict[str, int] = {}
    drop = [False] * len(keys)
    i = 0
    while i < len(keys):
        key = keys[i]
        j = first_at.get(key)
        if key and j is not None and j < i:
            run = 0
            while i + run < len(keys) and j + run < i and keys[i + run] == keys[j + run]:
                run += 1
            run_chars = sum(len(keys[i + k]) for k in range(run))
            if run >= min_run or run_chars >= min_run_chars or len(key) >= min_single:
                for k in range(run):
                    drop[i + k] = True
                i += max(run, 1)
                continue
        first_at.setdefault(key, i)
        i += 1
    return drop


def _preamble(root: lxml.html.HtmlElement, container: lxml.html.HtmlElement, deadline: float) -> str:
    """Return the page text just before the body: where dates, 来源 and view counters sit."""
    parts: list[str] = []
    for n, node in enumerate(root.iter()):
        if node is container:
            break
        if n % 1000 == 0:
            _check(deadline)
        if isinstance(node.tag, str):
            if node.text:
                parts.append(node.text)
            if node.tail:  # nodes before the container in document order are never inside it
                parts.append(node.tail)
        if len(parts) > 4000:
            parts = parts[-2000:]
    return SPACES.sub(" ", TEXT_JUNK.sub("", " ".join(parts)))[-800:]


# -- fields ---------------------------------------------------------------------------------------------


def _publisher(meta: dict[str, str], texts: tuple[str, ...], byline: list[str]) -> str | None:
    source = _first_meta(meta, vocab.META_PUBLISHER)
    if source and (cleaned := vocab.PUBLISHER_NOISE.sub("", source.strip())):
        return cleaned
    for text in (" ".join(byline), *texts):
        match = vocab.PUBLISHER_LABEL.search(text)
        if match:
            return vocab.PUBLISHER_NOISE.sub("", match.group(1).strip()) or None
    # An unlabelled byline: "<span>2025-03-12 09:30</span><span>大众网</span>".
    for text in byline:
        for word in SPACES.split(text):
            if vocab.BYLINE_SOURCE.match(word):
                return word
    return None


def _conference_host(paragraphs: list[str]) -> str | None:
    for paragraph in paragraphs[:6]:
        match = vocab.CONFERENCE_HOST.search(paragraph)
        if match:
            return match.group(1)
    return None


def _published(
    meta: dict[str, str],
    root: lxml.html.HtmlElement,
    preamble: str,
    lines: list[str],
    url: str | None,
    page_text: str,
    byline: list[str],
    signature: tuple[str | None, date] | None,
    deadline: float,
) -> date | None:
    for key in vocab.META_DATE:
        if meta.get(key) and (parsed := parse_iso_like(meta[key])):
            return parsed
    for node in root.iter("time"):
        if (value := node.get("datetime")) and (parsed := parse_iso_like(value)):
            return parsed
    for text in (preamble, *lines[:3]):
        if parsed := _labelled_date(text, vocab.DATE_LABEL, deadline):
            return parsed
    # An unlabelled date beside the headline: "<span class=time>2025年03月12日 09:30</span>".
    for text in byline:
        if parsed := find_date(text):
            return parsed
    if parsed := date_in_url(url):
        return parsed
    # A publication label anywhere on the page (some templates put it under the body).
    if parsed := _labelled_date(page_text, vocab.STRICT_DATE_LABEL, deadline):
        return parsed
    if signature:
        return signature[1]
    return find_date(preamble[-300:])


def _labelled_date(text: str, label: re.Pattern[str], deadline: float) -> date | None:
    for match in label.finditer(text):
        _check(deadline)
        if parsed := find_date(text[match.end() : match.end() + 40]):
            return parsed
    return None


def _attachments(container: lxml.html.HtmlElement, url: str | None, deadline: float) -> list[Attachment]:
    """Return document links of the article: in the body or in a block beside it."""
    scope = container
    for _ in range(3):
        parent = scope.getparent()
        if parent is None or parent.tag in {"body", "html"}:
            break
        scope = parent
    found: dict[str, Attachment] = {}
    for link in scope.iter("a"):
        _check(deadline)
        href = URL_JUNK.sub("", link.get("href") or "").strip()
        if not href or not vocab.ATTACHMENT_SUFFIX.search(href):
            continue
        try:
            absolute = urljoin(url, href) if url else href
        except ValueError:  # a malformed link (bad IPv6 host) is not an attachment
            continue
        name = _text(link) or tidy(link.get("title") or "") or href.rsplit("/", 1)[-1]
        found.setdefault(absolute, Attachment(absolute, name))
    return list(found.values())


def _speakers(paragraphs: list[str]) -> list[Speaker]:
    """Read the moderator's introduction of speakers; fall back to who takes turns."""
    speakers: list[Speaker] = []
    in_intro = False
    for paragraph in paragraphs[:40]:
        if vocab.SPEAKER_INTRO.search(paragraph):
            in_intro = True
            continue
        if in_intro:
            match = vocab.SPEAKER_LINE.match(paragraph.strip())
            if match:
                speakers.append(Speaker(match.group("name"), match.group("role").strip()))
                continue
            if speakers or vocab.SPEAKER_INTRO_END.match(paragraph):
                break
    if speakers:
        return speakers
    seen: dict[str, None] = {}
    for paragraph in paragraphs:
        match = vocab.TURN.match(paragraph)
        if (
            match
            and match.group("who") not in vocab.NOT_A_SPEAKER
            and not match.group("who").endswith("记者")
        ):
            seen.setdefault(match.group("who"), None)
    return (
        [Speaker(name, None) for name in seen]
        if len(seen) >= 1 and _looks_like_transcript(paragraphs)
        else []
    )


def _looks_like_transcript(paragraphs: list[str]) -> bool:
    return any(p.startswith(("主持人：", "主持人:")) for p in paragraphs)
