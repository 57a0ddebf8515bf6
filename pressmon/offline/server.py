"""Serve the offline copy of qdfb.shiminjia.com over real HTTP on 127.0.0.1, with fault modes for tests."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import re
import socketserver
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from pressmon.offline import qd_press
from pressmon.offline.qd_press import Release

DEFAULT_RELEASES_DIR = Path(__file__).parent / "sites" / "qd_press" / "releases"
HOST = "127.0.0.1"
DEFAULT_CLI_PORT = 8765
DEFAULT_TIMEOUT_DELAY = 30.0
SERVER_SOFTWARE = "nginx"
HTML_TYPE = "text/html; charset={charset}"
TEXT_TYPE = "text/plain; charset=utf-8"
PDF_TYPE = "application/pdf"
ERROR_FAULTS = {"500": 500, "503": 503, "404": 404}
# Faults that only make sense on one kind of path; the others apply to any path.
LIST_FAULTS = frozenset({"pagination-loop", "empty-list"})
DETAIL_FAULTS = frozenset({"huge", "parse-errors"})
ROBOTS_FAULTS = frozenset({"robots-disallow"})
FAULT_KINDS = frozenset(
    {
        *ERROR_FAULTS,
        "timeout",
        "truncate",
        "wrong-charset",
        "gbk",
        "redirect-offsite",
        "blocked",
        "encoding-error",
        *LIST_FAULTS,
        *DETAIL_FAULTS,
        *ROBOTS_FAULTS,
    }
)
# Another host on the loopback network: a redirect there leaves the site but never the machine.
OFFSITE_HOST = "127.0.0.2"
DEFAULT_OFFSITE_BASE_URL = f"http://{OFFSITE_HOST}"
OFFSITE_PAGE = '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>另一个网站</title></head>\n<body><p>这里不是青岛新闻发布网站。</p></body></html>\n'
HUGE_PAGE_BYTES = 20 * 1024 * 1024
# `parse-errors`: the detail page keeps its template but loses its article (a layout change the extractor
# cannot follow).
ARTICLE_BLOCK = re.compile(r'<div class="detail-content" id="zoom">.*?</div>\n</div>', re.S)
EMPTY_ARTICLE = '<div class="detail-content" id="zoom"></div>'
REDIRECTS = dict.fromkeys(
    ("/", "/index.html", "/xwfbHtml", qd_press.SITE_ROOT, "/xwfbHtml/wangqihuigu"), qd_press.ARCHIVE_INDEX
)


@dataclass(frozen=True)
class _Encoding:
    meta: str
    codec: str
    header: str


UTF8 = _Encoding(meta="utf-8", codec="utf-8", header="utf-8")
FAULT_ENCODINGS = {
    "gbk": _Encoding(meta="gbk", codec="gbk", header="gbk"),
    "wrong-charset": _Encoding(meta="utf-8", codec="gb18030", header="utf-8"),
}


@dataclass(frozen=True)
class _Reply:
    status: int
    content_type: str
    body: bytes = b""
    location: str | None = None
    truncated: bool = False
    # A body sent piece by piece, without Content-Length, ending when the connection closes.
    stream: Iterable[bytes] | None = None


@dataclass
class _Fault:
    kind: str
    remaining: int | None


class OfflineSite:
    """The offline press-conference site, served by a real HTTP server in a daemon thread.

    Args:
        releases_dir: folder of `<ID>.json` releases; the bundled copy when None.
        port: port to bind on 127.0.0.1; 0 picks a free one.
        published: how many of the oldest releases are visible; all when None.
        offsite_base_url: where the `redirect-offsite` fault sends clients (another host on loopback).
    """

    def __init__(
        self,
        releases_dir: Path | str | None = None,
        *,
        port: int = 0,
        published: int | None = None,
        offsite_base_url: str = DEFAULT_OFFSITE_BASE_URL,
    ) -> None:
        self._releases = tuple(qd_press.load_releases(Path(releases_dir or DEFAULT_RELEASES_DIR)))
        published = len(self._releases) if published is None else published
        if not 0 <= published <= len(self._releases):
            raise ValueError(f"published={published} is outside 0..{len(self._releases)}")
        self._published = published
        self._port = port
        self.timeout_delay = DEFAULT_TIMEOUT_DELAY
        self.offsite_base_url = offsite_base_url.rstrip("/")
        self.huge_page_bytes = HUGE_PAGE_BYTES
        self._lock = threading.Lock()
        self._views = {release.id: release.views for release in self._releases}
        self._positions = {release.id: position for position, release in enumerate(self._releases)}
        self._attachments = {
            qd_press.attachment_path(release, attachment): (position, attachment.file)
            for position, release in enumerate(self._releases)
            for attachment in release.attachments
        }
        self._faults: dict[str, _Fault] = {}
        self._requests: list[tuple[str, str, int]] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> OfflineSite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> OfflineSite:
        """Bind the port and start serving in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the offline site is already running")
        self._stopping.clear()
        self._server = _Server((HOST, self._port), respond=self._respond, record=self._record)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="offline-site", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake stalled requests and release the port."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server, self._thread = None, None

    @property
    def port(self) -> int:
        """Return the bound port."""
        if self._server is None:
            raise RuntimeError("the offline site is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """Return the site's root URL, such as `http://127.0.0.1:54321`."""
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this site."""
        return self.base_url + path

    @property
    def releases(self) -> tuple[Release, ...]:
        """Return every release, oldest first."""
        return self._releases

    @property
    def visible(self) -> tuple[Release, ...]:
        """Return the published releases, oldest first."""
        with self._lock:
            return self._releases[: self._published]

    def publish(self, n: int = 1) -> tuple[Release, ...]:
        """Make the next n releases visible and return them."""
        if n < 0:
            raise ValueError(f"cannot publish {n} releases")
        with self._lock:
            start = self._published
            self._published = min(len(self._releases), start + n)
            return self._releases[start : self._published]

    def set_fault(self, path: str, kind: str, *, times: int | None = None) -> None:
        """Make requests of path fail as `kind`, for the next `times` requests or until cleared."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if not path.startswith("/"):
            raise ValueError(f"fault path {path!r} must start with '/'")
        if kind in LIST_FAULTS and qd_press.parse_list_path(path) is None:
            raise ValueError(f"fault {kind!r} applies to list pages, not {path!r}")
        if kind in DETAIL_FAULTS and qd_press.parse_detail_path(path) is None:
            raise ValueError(f"fault {kind!r} applies to detail pages, not {path!r}")
        if kind in ROBOTS_FAULTS and path != qd_press.ROBOTS_PATH:
            raise ValueError(f"fault {kind!r} applies to {qd_press.ROBOTS_PATH}, not {path!r}")
        if times is not None and times < 1:
            raise ValueError(f"times={times} must be at least 1")
        with self._lock:
            self._faults[path] = _Fault(kind, times)

    def clear_faults(self) -> None:
        """Serve every path normally again."""
        with self._lock:
            self._faults.clear()

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """Return a snapshot of the (method, path, status) of every response sent, in order."""
        with self._lock:
            return list(self._requests)

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._requests.append((method, path, status))

    def _take_fault(self, path: str) -> str | None:
        with self._lock:
            fault = self._faults.get(path)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    del self._faults[path]
            return fault.kind

    def _count_view(self, release_id: int) -> int:
        with self._lock:
            self._views[release_id] += 1
            return self._views[release_id]

    def _respond(self, path: str) -> _Reply | None:
        fault = self._take_fault(path)
        if fault in ERROR_FAULTS:
            return _html(ERROR_FAULTS[fault], qd_press.render_error_page(ERROR_FAULTS[fault]), UTF8)
        if fault == "timeout" and self._stopping.wait(self.timeout_delay):
            return None
        if fault == "redirect-offsite":
            return _Reply(302, HTML_TYPE.format(charset="utf-8"), location=self.offsite_base_url + path)
        if fault == "blocked":
            event = hashlib.sha256(path.encode()).hexdigest()[:20]
            return _html(200, qd_press.render_block_page(event), UTF8)
        reply = self._route(path, FAULT_ENCODINGS.get(fault or "", UTF8), fault)
        if fault == "encoding-error" and reply.status == 200:
            return replace(reply, body=_mixed_encodings(reply.body))
        return replace(reply, truncated=True) if fault == "truncate" else reply

    def _route(self, path: str, encoding: _Encoding, fault: str | None = None) -> _Reply:
        if path == qd_press.ROBOTS_PATH:
            disallowed = qd_press.ROBOTS_DISALLOWED
            if fault == "robots-disallow":
                disallowed = (qd_press.ARCHIVE_PATH, *disallowed)
            return _Reply(200, TEXT_TYPE, qd_press.render_robots(disallowed).encode("utf-8"))
        if path in REDIRECTS:
            return _Reply(302, HTML_TYPE.format(charset="utf-8"), location=REDIRECTS[path])
        page = qd_press.parse_list_path(path)
        if page is not None:
            return self._list_reply(page, encoding, fault)
        release_id = qd_press.parse_detail_path(path)
        if release_id is not None:
            return self._detail_reply(path, release_id, encoding, fault)
        if path in self._attachments:
            return self._attachment_reply(*self._attachments[path])
        return _not_found(encoding)

    def _list_reply(self, page: int, encoding: _Encoding, fault: str | None) -> _Reply:
        visible = self.visible
        if page > qd_press.list_page_count(len(visible)):
            return _not_found(encoding)
        html = qd_press.render_list_page(
            visible,
            page,
            charset=encoding.meta,
            next_page=1 if fault == "pagination-loop" else None,
            empty=fault == "empty-list",
        )
        return _html(200, html, encoding)

    def _detail_reply(self, path: str, release_id: int, encoding: _Encoding, fault: str | None) -> _Reply:
        visible = self.visible
        position = self._positions.get(release_id, len(visible))
        if position >= len(visible) or qd_press.detail_path(visible[position]) != path:
            return _not_found(encoding)
        page = {
            "views": self._count_view(release_id),
            "older": visible[position - 1] if position > 0 else None,
            "newer": visible[position + 1] if position + 1 < len(visible) else None,
            "charset": encoding.meta,
        }
        if fault == "huge":
            chunks = qd_press.render_oversized_detail_page(
                visible[position], size=self.huge_page_bytes, **page
            )
            return _Reply(200, HTML_TYPE.format(charset=encoding.header), stream=self._until_stopped(chunks))
        html = qd_press.render_detail_page(visible[position], **page)
        if fault == "parse-errors":
            html = ARTICLE_BLOCK.sub(EMPTY_ARTICLE, html, count=1)
        return _html(200, html, encoding)

    def _until_stopped(self, chunks: Iterable[bytes]) -> Iterable[bytes]:
        for chunk in chunks:
            if self._stopping.is_set():
                return
            yield chunk

    def _attachment_reply(self, position: int, file_name: str) -> _Reply:
        if position >= len(self.visible):
            return _not_found(UTF8)
        return _Reply(200, PDF_TYPE, qd_press.render_attachment_pdf(file_name))


class OffsiteServer:
    """A tiny HTTP server on another loopback host that answers every request and records it.

    The `redirect-offsite` fault sends clients here: a crawler that refuses to leave its site sends it nothing.

    Args:
        host: the loopback address to bind, 127.0.0.2 by default.
        port: port to bind; 0 picks a free one.
    """

    def __init__(self, host: str = OFFSITE_HOST, *, port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._requests: list[tuple[str, str, int]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> OffsiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> OffsiteServer:
        """Bind the port and start serving in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the offsite server is already running")
        self._server = _Server((self._host, self._port), respond=self._respond, record=self._record)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="offsite", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server, self._thread = None, None

    @property
    def base_url(self) -> str:
        """Return the server's root URL, such as `http://127.0.0.2:54321`."""
        if self._server is None:
            raise RuntimeError("the offsite server is not running")
        return f"http://{self._host}:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """Return a snapshot of the (method, path, status) of every request it answered."""
        with self._lock:
            return list(self._requests)

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._requests.append((method, path, status))

    def _respond(self, path: str) -> _Reply:
        return _html(200, OFFSITE_PAGE, UTF8)


def _html(status: int, html: str, encoding: _Encoding) -> _Reply:
    body = html.encode(encoding.codec, errors="xmlcharrefreplace")
    return _Reply(status, HTML_TYPE.format(charset=encoding.header), body)


def _mixed_encodings(body: bytes) -> bytes:
    """Re-encode the second half of a UTF-8 page's text in GB18030: bytes no single charset reads cleanly.

    A CMS that pastes GBK fragments into UTF-8 templates does this; strict decoding fails under every charset
    and a lossy one leaves hundreds of replacement characters or mojibake.
    """
    text = body.decode("utf-8")
    middle = len(text) // 2
    return text[:middle].encode("utf-8") + text[middle:].encode("gb18030", errors="xmlcharrefreplace")


def _not_found(encoding: _Encoding) -> _Reply:
    return _html(404, qd_press.render_error_page(404, charset=encoding.meta), encoding)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        respond: Callable[[str], _Reply | None],
        record: Callable[[str, str, int], None],
    ) -> None:
        self.respond = respond
        self.record = record
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def version_string(self) -> str:
        return SERVER_SOFTWARE

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.record(self.command or "", self._request_path(), int(code))

    def log_message(self, format: str, *args: object) -> None:
        return

    def _request_path(self) -> str:
        return unquote(urlsplit(getattr(self, "path", "")).path)

    def _answer(self, *, send_body: bool) -> None:
        reply = self.server.respond(self._request_path())
        if reply is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        if reply.stream is None:
            self.send_header("Content-Length", str(len(reply.body)))
        if reply.location:
            self.send_header("Location", reply.location)
        self.send_header("Connection", "close")
        self.end_headers()
        if send_body and reply.stream is not None:
            for chunk in reply.stream:
                self.wfile.write(chunk)
        elif send_body:
            self.wfile.write(reply.body[: len(reply.body) // 3] if reply.truncated else reply.body)
        self.close_connection = True


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the offline site until Ctrl-C, printing its base URL."""
    parser = argparse.ArgumentParser(prog="python -m pressmon.offline.server", description=main.__doc__)
    parser.add_argument(
        "--port", type=int, default=DEFAULT_CLI_PORT, help="port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument(
        "--published", type=int, default=None, help="how many of the oldest releases are visible"
    )
    parser.add_argument("--releases-dir", type=Path, default=None, help="folder of <ID>.json releases")
    args = parser.parse_args(argv)
    with OfflineSite(args.releases_dir, port=args.port, published=args.published) as site:
        print(site.base_url, flush=True)
        archive = site.url(qd_press.ARCHIVE_INDEX)
        print(
            f"serving {len(site.visible)} of {len(site.releases)} releases at {archive}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
