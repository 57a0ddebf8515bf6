"""Every subscriber gets each release exactly once, whatever the SMTP server or a dying process does.

The rule for the one window that cannot be closed by SMTP itself: a digest is marked `sending` just before the
end of its data. If the process dies after that, the server held the whole message, so the next run counts the
digest as sent (`presumed delivered`) instead of sending a second copy.
"""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest

from pressmon import steps
from pressmon.config import Config
from pressmon.store import CLUSTERING_LOCK, Store
from tests.conftest import SmtpServer, free_port
from tests.pages import add_page, releases

RELEASES = releases()
pytestmark = pytest.mark.integration


class ScriptedSmtp(SmtpServer):
    """A real SMTP server whose answers a test can script."""

    refuse_recipients: frozenset[str] = frozenset()
    data_answer: str = "250 OK"
    quit_answer: str | None = None
    hang_up_after_data: bool = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if not self.data_answer.startswith("250"):
            return self.data_answer
        if self.hang_up_after_data:
            server.transport.abort()
            return "421 gone"
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server, session, envelope):
        return self.quit_answer or "221 Bye"


@pytest.fixture
def scripted_smtp(monkeypatch: pytest.MonkeyPatch):
    server = ScriptedSmtp("127.0.0.1", free_port())
    server.start()
    monkeypatch.setenv("PRESSMON_SMTP_URL", server.url)
    yield server
    server.stop()


def deliveries(store: Store) -> list[dict]:
    with store.transaction() as cur:
        cur.execute(
            """SELECT s.email, d.status, d.attempts, d.last_error, d.message_id
                 FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id ORDER BY s.email"""
        )
        return list(cur.fetchall())


def new_release(store: Store, release_id: int = 1688) -> None:
    add_page(store, RELEASES[release_id])
    steps.process(Config.from_env())


def test_a_server_that_answers_quit_with_451_after_taking_the_digest_gets_it_once(scripted_smtp, store):
    scripted_smtp.quit_answer = "451 4.3.0 try again later"
    store.add_subscription("ai@example.com", ["人工智能"], [], [])
    new_release(store)
    assert steps.alert(Config.from_env())["emails"] == 1
    assert steps.alert(Config.from_env()).get("emails", 0) == 0
    assert [m["To"] for m in scripted_smtp.messages] == ["ai@example.com"]
    assert [d["status"] for d in deliveries(store)] == ["sent"]


def test_a_server_failing_the_end_of_data_keeps_the_digest_pending_and_the_next_run_sends_it_once(
    scripted_smtp, store
):
    scripted_smtp.data_answer = "451 4.3.0 local error in processing"
    store.add_subscription("ai@example.com", ["人工智能"], [], [])
    new_release(store)
    assert steps.alert(Config.from_env())["failed_emails"] == 1
    assert scripted_smtp.messages == []
    (row,) = deliveries(store)
    assert (row["status"], row["attempts"]) == ("pending", 1) and "451" in row["last_error"]

    scripted_smtp.data_answer = "250 OK"
    assert steps.alert(Config.from_env())["emails"] == 1
    assert steps.alert(Config.from_env()).get("emails", 0) == 0
    assert len(scripted_smtp.messages) == 1


def test_a_refused_recipient_is_failed_for_good_and_does_not_hold_up_the_others(scripted_smtp, store):
    scripted_smtp.refuse_recipients = frozenset({"gone@example.com"})
    store.add_subscription("gone@example.com", [], [], [])
    store.add_subscription("ai@example.com", ["人工智能"], [], [])
    new_release(store)
    counts = steps.alert(Config.from_env())
    assert (counts["emails"], counts["refused_emails"]) == (1, 1)
    assert [m["To"] for m in scripted_smtp.messages] == ["ai@example.com"]
    rows = {d["email"]: d for d in deliveries(store)}
    assert rows["gone@example.com"]["status"] == "failed" and "550" in rows["gone@example.com"]["last_error"]
    assert rows["ai@example.com"]["status"] == "sent"
    # A refusal for good is not retried every night.
    assert steps.alert(Config.from_env()).get("refused_emails", 0) == 0
    assert len(scripted_smtp.messages) == 1


def test_a_process_dying_after_the_server_took_the_digest_does_not_send_it_again(
    smtp_server, store, monkeypatch: pytest.MonkeyPatch
):
    store.add_subscription("ai@example.com", ["人工智能"], [], [])
    new_release(store)

    class Killed(BaseException):
        """Stands for SIGKILL between the server's 250 and the ledger update."""

    def die(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(Store, "mark_sent", die)
        with pytest.raises(Killed):
            steps.alert(Config.from_env())
    assert len(smtp_server.messages) == 1
    assert [d["status"] for d in deliveries(store)] == ["sending"]

    counts = steps.alert(Config.from_env())
    assert counts["presumed_sent"] == 1 and counts.get("emails", 0) == 0
    assert len(smtp_server.messages) == 1
    (row,) = deliveries(store)
    assert row["status"] == "sent" and row["last_error"].startswith("presumed delivered")
    assert row["message_id"] == smtp_server.messages[0]["Message-ID"]


def test_a_connection_lost_before_the_answer_to_the_end_of_data_is_tried_again_next_run(scripted_smtp, store):
    # The server drops the connection at the end of DATA without keeping the message (it crashed, say).
    scripted_smtp.hang_up_after_data = True
    store.add_subscription("ai@example.com", ["人工智能"], [], [])
    new_release(store)
    assert steps.alert(Config.from_env())["failed_emails"] == 1
    assert scripted_smtp.messages == []
    (row,) = deliveries(store)
    assert (row["status"], row["attempts"]) == ("pending", 1)

    scripted_smtp.hang_up_after_data = False
    assert steps.alert(Config.from_env())["emails"] == 1
    assert len(scripted_smtp.messages) == 1 and [d["status"] for d in deliveries(store)] == ["sent"]


def test_a_process_dying_before_the_end_of_data_leaves_the_digest_pending(smtp_server, store, monkeypatch):
    store.add_subscription("ai@example.com", ["人工智能"], [], [])
    new_release(store)

    def die(*args, **kwargs):
        raise psycopg2.OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as m:
        m.setattr(Store, "mark_sending", die)
        with pytest.raises(psycopg2.OperationalError):
            steps.alert(Config.from_env())
    time.sleep(0.2)  # the server discards the unfinished message when the connection drops
    assert smtp_server.messages == []
    assert [d["status"] for d in deliveries(store)] == ["pending"]
    assert steps.alert(Config.from_env())["emails"] == 1
    assert len(smtp_server.messages) == 1


def test_alert_while_process_holds_an_open_transaction_queues_every_release_exactly_once(
    smtp_server, store, db_url
):
    config = Config.from_env()
    store.add_subscription("all@example.com", [], [], [])
    ids = (1688, 2199, 2023, 2098)
    for release_id in ids:
        add_page(store, RELEASES[release_id])

    # process takes the clustering lock inside its batch transaction: hold it, so process waits in there.
    blocker = psycopg2.connect(db_url)
    blocker.autocommit = True
    blocker.cursor().execute("SELECT pg_advisory_lock(%s)", (CLUSTERING_LOCK,))
    worker = threading.Thread(target=steps.process, args=(config,))
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while not _waiting_on_advisory_lock(blocker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_advisory_lock(blocker), "process never reached its clustering lock"
        assert steps.alert(config)["queued"] == 0
    finally:
        blocker.cursor().execute("SELECT pg_advisory_unlock(%s)", (CLUSTERING_LOCK,))
        worker.join(timeout=60)
        blocker.close()

    counts = steps.alert(config)
    assert counts["queued"] == len(ids) and counts["emails"] == 1
    assert steps.alert(config).get("queued", 0) == 0
    (message,) = smtp_server.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert all(RELEASES[i].list_title in text for i in ids)


def _waiting_on_advisory_lock(conn) -> bool:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND NOT granted AND database = (
                      SELECT oid FROM pg_database WHERE datname = current_database())"""
        )
        return cur.fetchone()[0] > 0
