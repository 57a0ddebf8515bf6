"""Keep passwords out of what pressmon prints, logs and stores: URLs and messages with their secrets hidden.

Malformed URLs are the case that matters: they are the ones that end up in error messages, so nothing here
relies on a URL parsing cleanly. When in doubt, more is hidden rather than less.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

HIDDEN = "***"
# scheme://userinfo@rest; the userinfo ends at the LAST "@", so a password holding "@", "/" or "?" is hidden
# whole (at worst a host name is hidden with it).
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>.*)@(?P<rest>[^@]*)$", re.DOTALL)
# A URL inside a longer text: the userinfo runs to the last "@" before whitespace or a quote.
_URL_IN_TEXT = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*:)[^\s'\"]+@")
# password=… in a libpq key/value string or a URL query; a quoted value may hold spaces and escaped quotes.
_PASSWORD_PARAM = re.compile(
    r"(?P<key>\b(?:ssl)?password\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'?|[^\s&#]+)", re.IGNORECASE | re.DOTALL
)


def redact(url: str) -> str:
    """Return a libpq or SMTP URL (or key/value connection string) with its password replaced by ***."""
    match = _URL.match(url)
    if match:
        user, colon, password = match["userinfo"].partition(":")
        if colon and password:
            url = f"{match['scheme']}{user}:{HIDDEN}@{match['rest']}"
    return _PASSWORD_PARAM.sub(lambda m: m["key"] + HIDDEN, url)


def passwords(url: str | None) -> list[str]:
    """Return the password strings a URL or connection string carries, as written and percent-decoded."""
    if not url:
        return []
    found = []
    match = _URL.match(url)
    if match:
        found.append(match["userinfo"].partition(":")[2])
    for param in _PASSWORD_PARAM.finditer(url):
        value = param["value"]
        found.append(value)
        if value.startswith("'"):
            found.append(value.strip("'").replace("\\'", "'").replace("\\\\", "\\"))
    decoded = [unquote(value) for value in found]
    return sorted({value for value in found + decoded if value}, key=len, reverse=True)


def scrub(text: str, *urls: str | None) -> str:
    """Hide in text the passwords of the given URLs, and the password of any URL written in it."""
    for secret in (secret for url in urls for secret in passwords(url)):
        text = text.replace(secret, HIDDEN)
    text = _URL_IN_TEXT.sub(lambda m: m["head"] + HIDDEN + "@", text)
    return _PASSWORD_PARAM.sub(lambda m: m["key"] + HIDDEN, text)
