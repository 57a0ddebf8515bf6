"""A page that carries SQL, HTML/JS and header lines goes the whole way, crawl store to digest, and harms nothing.

It is stored verbatim (the text as extracted, nothing escaped or stripped in the database), shown escaped in the
HTML digest, and adds no header to the email: the test reads the .eml file's bytes as the SMTP server got them.
"""

from __future__ import annotations

import dataclasses
import re
from email import message_from_bytes, policy
from html.parser import HTMLParser

import pytest

from parsers.extract import extract_page
from pressmon import steps
from pressmon.cli import main
from pressmon.config import Config
from pressmon.errors import DatabaseError
from pressmon.mail import OutboxSink
from pressmon.offline.qd_press import render_detail_page
from tests.integration.test_migrations import REQUIRED_TABLES
from tests.pages import add_page, page_url, releases

pytestmark = pytest.mark.integration

SQL = "'); DROP TABLE releases;--"
SCRIPT = "<script>alert(1)</script>"
ONERROR = "<img src=x onerror=alert(2)>"
HEADER = "Bcc: victim@example.com"
TITLE = f"低空经济{SQL} {SCRIPT}{ONERROR}\r\n{HEADER}"
FIRST_PARAGRAPH = f"无人机起降点{SQL}，今年将再建设一批：{SCRIPT} 与 {ONERROR} 都只是文字，不是网页的一部分。"
SUBSCRIBER = "desk@example.com"
DIGEST_HEADERS = {"Subject", "From", "To", "Date", "Message-ID", "X-Pressmon-Subscription", "MIME-Version"}


def hostile_page() -> tuple[bytes, str]:
    """Release 2023 of the offline site, its title and text rewritten by an attacker; (page bytes, URL)."""
    release = releases()[2023]
    release = dataclasses.replace(
        release,
        list_title=TITLE,
        title_lines=(TITLE,),
        paragraphs=(FIRST_PARAGRAPH, HEADER, "\r\nSubject: pwned\r\n", *release.paragraphs),
    )
    page = render_detail_page(release, views=1)
    # The markup itself carries live script too, as a compromised site would serve it.
    page = page.replace("</h1>", '<img src="x" onerror="alert(3)"></h1>', 1)
    page = page.replace('<div class="TRS_Editor">', '<div class="TRS_Editor"><script>alert(4)</script>', 1)
    return page.encode("utf-8"), page_url(release)


class Markup(HTMLParser):
    """Collects the elements and attributes an HTML part really has (text that looks like markup is not one)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


@pytest.fixture
def digest_eml(store, config, tmp_path, monkeypatch) -> tuple[bytes, str, str]:
    """Store the hostile page as the crawler would, process it and alert a subscriber who wants everything.

    Returns the .eml bytes the SMTP server received, and the page's title and body as extracted from its bytes.
    """
    page, url = hostile_page()
    store.add_subscription(SUBSCRIBER, [], [], [])
    add_page(store, releases()[2023], url=url, body=page)
    assert steps.process(config) == {"new": 1}
    outbox = tmp_path / "outbox"
    with OutboxSink(outbox) as sink:
        monkeypatch.setenv("PRESSMON_SMTP_URL", sink.url)
        assert steps.alert(Config.from_env())["emails"] == 1
    (eml,) = outbox.glob("*.eml")
    assert eml.name.startswith("desk_example.com--")  # one file per envelope recipient: no one else got it
    extraction = extract_page(page, url, "text/html; charset=utf-8")
    return eml.read_bytes(), extraction.title, extraction.body


def test_the_release_is_stored_verbatim_and_every_table_survives(digest_eml, store):
    _, title, body = digest_eml
    with store.transaction() as cur:
        cur.execute("SELECT title, body FROM releases")
        (stored,) = cur.fetchall()
        cur.execute("SELECT title FROM reporting.releases")
        (shown,) = cur.fetchall()
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = {row["tablename"] for row in cur.fetchall()}
    assert (stored["title"], stored["body"]) == (title, body)
    assert shown["title"] == title
    for hostile in (SQL, SCRIPT, ONERROR, HEADER):
        assert hostile in stored["title"]  # as the page said it: nothing escaped, nothing stripped
        assert hostile in stored["body"]
    assert HEADER in stored["body"].splitlines()
    assert "alert(3)" not in stored["title"] + stored["body"]  # live markup is not text
    assert tables >= REQUIRED_TABLES


def test_the_digest_adds_no_header(digest_eml):
    raw, _, _ = digest_eml
    header_block, separator, _ = re.split(rb"(\r?\n\r?\n)", raw, maxsplit=1)
    assert separator == b"\r\n\r\n"
    names = [
        line.split(b":", 1)[0].decode() for line in header_block.split(b"\r\n") if line[:1] not in b" \t"
    ]
    assert set(names) == DIGEST_HEADERS | {"Content-Type"}
    assert len(names) == len(set(names))
    message = message_from_bytes(raw, policy=policy.default)
    assert set(message.keys()) == set(names)
    assert message["To"] == SUBSCRIBER
    for part in message.iter_parts():
        assert set(part.keys()) <= {"Content-Type", "Content-Transfer-Encoding", "MIME-Version"}


def test_the_html_part_shows_the_text_escaped(digest_eml):
    raw, _, _ = digest_eml
    message = message_from_bytes(raw, policy=policy.default)
    markup = message.get_body(preferencelist=("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "&lt;img src=x onerror=alert(2)&gt;" in markup
    assert "&#x27;); DROP TABLE releases;--" in markup
    assert "<script" not in markup.lower() and "<img" not in markup.lower()
    parsed = Markup()
    parsed.feed(markup)
    assert not {"script", "img", "iframe"} & parsed.tags
    assert not {name for name in parsed.attributes if name.startswith("on")}
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert SCRIPT in text  # the plain-text part shows the title as it is


def test_a_subscription_address_with_a_line_break_is_refused(store, capsys):
    for address in (f"{SUBSCRIBER}\r\n{HEADER}", f"{SUBSCRIBER}\n", f"{SUBSCRIBER}\r", "desk\n@example.com"):
        assert main(["subscribe", "add", address]) == 1
        assert "not an email address" in capsys.readouterr().err
    # Whatever else writes to the table, it refuses one too.
    with pytest.raises(DatabaseError, match="subscriptions_email_one_line") as refused:
        store.add_subscription(f"{SUBSCRIBER}\r\n{HEADER}", [], [], [])
    assert refused.value.pgcode == "23514"
    assert store.subscriptions() == []
