"""The fault matrix's own tools: the faulty SMTP server and how a step's end is judged."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.faults.harness import Running, Step
from tests.faults.smtp import FaultySmtp
from tests.pages import CANONICAL_BASE

URL_A = f"{CANONICAL_BASE}/xwfbHtml/wangqihuigu/2024/0411/1688.html"
URL_B = f"{CANONICAL_BASE}/xwfbHtml/wangqihuigu/2025/0724/2199.html"


def digest(recipient: str = "all@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "pressmon <pressmon@localhost>"
    message["To"] = recipient
    message["Subject"] = "pressmon 新发布提醒：2 条新发布"
    message["Message-ID"] = "<pressmon.digest.1.abc@localhost>"
    message.set_content(f"1. 标题一\n   {URL_A}\n\n2. 标题二\n   {URL_B}\n", charset="utf-8")
    message.add_alternative(f'<a href="{URL_A}">标题一</a>', subtype="html", charset="utf-8")
    return message


@pytest.fixture
def smtp() -> Iterator[FaultySmtp]:
    server = FaultySmtp(bounce=frozenset({"bounce@example.org"})).start()
    yield server
    server.stop()


def send(server: FaultySmtp, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.send_message(message)


@pytest.fixture
def victim() -> Iterator[subprocess.Popen]:
    """A process in its own session for the server to kill, standing in for `pressmon alert`."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def test_a_kept_message_lists_the_urls_of_its_text_part(smtp: FaultySmtp) -> None:
    send(smtp, digest())

    (received,) = smtp.received
    assert received.recipients == ("all@example.org",)
    assert received.message_id == "<pressmon.digest.1.abc@localhost>"
    assert received.urls == (URL_A, URL_B)


def test_refuse_closes_the_port_and_ok_opens_it_again(smtp: FaultySmtp) -> None:
    smtp.set_mode("refuse")
    with pytest.raises(ConnectionRefusedError):
        send(smtp, digest())
    smtp.set_mode("ok")
    send(smtp, digest())
    assert len(smtp.received) == 1


def test_drop_data_drops_the_connection_and_keeps_nothing(smtp: FaultySmtp) -> None:
    smtp.set_mode("drop-data")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(smtp, digest())
    assert smtp.received == []


def test_451_data_refuses_the_message_for_now(smtp: FaultySmtp) -> None:
    smtp.set_mode("451-data")
    with pytest.raises(smtplib.SMTPDataError) as error:
        send(smtp, digest())
    assert error.value.smtp_code == 451
    assert smtp.received == []


def test_quit_451_keeps_the_message_then_fails_the_quit(smtp: FaultySmtp) -> None:
    smtp.set_mode("quit-451")
    with pytest.raises(smtplib.SMTPResponseException) as error:
        send(smtp, digest())
    assert error.value.smtp_code == 451
    assert len(smtp.received) == 1


def test_a_bounced_recipient_is_refused_at_rcpt_with_550(smtp: FaultySmtp) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as error:
        send(smtp, digest("bounce@example.org"))
    assert error.value.recipients["bounce@example.org"][0] == 550
    assert smtp.refused_recipients == ["bounce@example.org"]
    send(smtp, digest("other@example.org"))
    assert [r.recipients for r in smtp.received] == [("other@example.org",)]


def test_a_kill_at_data_keeps_the_message_and_kills_before_answering(smtp, victim) -> None:
    kill = smtp.arm_kill(victim.pid)
    with pytest.raises(smtplib.SMTPDataError):
        send(smtp, digest())

    assert kill.done and kill.event.startswith("DATA")
    assert victim.wait(10) == -signal.SIGKILL
    assert len(smtp.received) == 1


def test_a_kill_at_an_earlier_command_keeps_nothing(smtp, victim) -> None:
    kill = smtp.arm_kill(victim.pid, at_event=2)
    with pytest.raises(smtplib.SMTPException):
        send(smtp, digest())

    assert kill.event == "RCPT (command 2)"
    assert victim.wait(10) == -signal.SIGKILL
    assert smtp.received == []


def step(**overrides) -> Step:
    fields = {
        "label": "night 1 alert#1",
        "argv": ["pressmon", "alert"],
        "returncode": 0,
        "stdout": "",
        "stderr": "",
        "seconds": 1.0,
        "timeout": 60.0,
    }
    return Step(**(fields | overrides))


@pytest.mark.parametrize(
    ("overrides", "crash"),
    [
        ({}, None),
        ({"returncode": 1, "stderr": "WARNING x: y\npressmon: SMTP is down\n"}, None),
        ({"returncode": -9, "killed": True}, None),
        (
            {"returncode": 1, "stderr": "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n"},
            "traceback",
        ),
        ({"returncode": 0, "stderr": "Traceback (most recent call last):\nValueError: y\n"}, "traceback"),
        ({"returncode": -9, "timed_out": True}, "hung"),
        ({"returncode": -9}, "without a 'pressmon: …' line"),
        ({"returncode": 2, "stderr": "usage: pressmon\n"}, "without a 'pressmon: …' line"),
    ],
)
def test_a_step_is_a_crash_only_on_a_traceback_a_hang_or_an_unexplained_exit(overrides, crash) -> None:
    judged = step(**overrides).crash
    assert judged is None if crash is None else crash in judged


def test_a_step_past_its_timeout_is_killed_with_its_whole_group(tmp_path) -> None:
    child = tmp_path / "child.pid"
    script = f"import subprocess, time; open({str(child)!r}, 'w').write(str(subprocess.Popen(['sleep', '60']).pid)); time.sleep(60)"
    started = time.monotonic()
    running = Running("sleeper", [sys.executable, "-c", script], dict(os.environ), timeout=2.0)
    while not child.exists() or not child.read_text():
        time.sleep(0.05)
    ended = running.wait()

    assert ended.timed_out and ended.crash == "sleeper hung past 2 s"
    assert time.monotonic() - started < 15
    pid = int(child.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in {"Z", "X"}
