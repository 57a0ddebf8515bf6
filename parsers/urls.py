"""Canonical URLs: one key per page, whatever scheme, case, port, tracking noise or mirror it came through."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = re.compile(
    r"^(?:utm_\w+|spm|from|share(?:_\w+)?|isappinstalled|scene|clicktime|enterid|sharer_\w+|wfr|wxshare\w*|_t|timestamp)$",
    re.I,
)
SESSION_IN_PATH = re.compile(r";(?:jsessionid|sid|phpsessid)=[^/?#]*", re.I)
DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str, mirrors: Mapping[str, str] | None = None) -> str:
    """Return the identity key of a page URL.

    http and https are one page (the key uses https); host case, default ports, fragments, session ids,
    tracking parameters, parameter order, duplicate slashes and trailing '?', '#', '/' and whitespace are noise.

    Args:
        url: the URL as linked or fetched.
        mirrors: {mirror base URL: real base URL}; a page fetched from a mirror gets the real site's key.
    """
    url = url.strip()
    for mirror, real in (mirrors or {}).items():
        mirror = mirror.rstrip("/")
        if mirror and (url == mirror or url.startswith((mirror + "/", mirror + "?"))):
            url = real.rstrip("/") + url[len(mirror) :]
            break
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:  # a port out of range: keep the URL as it is rather than guess
        return url
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = SESSION_IN_PATH.sub("", parts.path)
    path = re.sub(r"/{2,}", "/", quote(unquote(path), safe="/%:@!$&'()*+,;=-._~")) or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = urlencode(
        sorted(
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)
        )
    )
    return urlunsplit(("https", netloc, path, query, ""))
