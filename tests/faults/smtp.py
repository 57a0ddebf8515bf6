"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it accepts and misbehaves on demand."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

HOST = "127.0.0.1"
# What the server does with the next transactions.
MODES = frozenset(
    {
        "ok",  # accept every message
        "refuse",  # nothing listens on the port: connections are refused
        "drop-data",  # drop the connection at the end of DATA, before answering; nothing is kept
        "451-data",  # answer 451 to the end of DATA; nothing is kept
        "quit-451",  # accept the message (250), then answer QUIT with 451
    }
)
URL = re.compile(r"https?://[^\s<>\"'）)]+")
KILL_WAIT_SECONDS = 10.0

# aiosmtpd logs a session that lost its client as an error with a traceback; here that is the point.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Received:
    """A message the server kept: envelope recipients, the parsed message, the URLs its text part lists."""

    recipients: tuple[str, ...]
    message: EmailMessage
    message_id: str
    urls: tuple[str, ...]
    mode: str


@dataclass
class Kill:
    """Where to SIGKILL the client: at the n-th MAIL/RCPT/DATA/QUIT command, or at the next end of DATA."""

    pgid: int
    at_event: int | None = None
    done: bool = False
    event: str | None = None


@dataclass
class FaultySmtp:
    """An SMTP server for the fault matrix: a fixed port, a mode, recipients to bounce, a client to kill.

    The port is chosen once, so `refuse` (the server stopped) and the recovery reuse the same URL.
    """

    bounce: frozenset[str] = frozenset()
    port: int = 0
    mode: str = "ok"
    received: list[Received] = field(default_factory=list)
    refused_recipients: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    kill: Kill | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: object | None = None

    def __post_init__(self) -> None:
        if not self.port:
            self.port = _free_port()

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def set_mode(self, mode: str) -> None:
        """Change how the next transactions go; `refuse` stops the server, any other mode (re)starts it."""
        if mode not in MODES:
            raise ValueError(f"unknown SMTP mode {mode!r}; expected one of {sorted(MODES)}")
        self.mode = mode
        if mode == "refuse":
            self.stop()
        elif self._controller is None:
            self.start()

    def arm_kill(self, pgid: int, *, at_event: int | None = None) -> Kill:
        """SIGKILL process group `pgid` before answering a command: the at_event-th MAIL, RCPT, DATA or QUIT
        counted from now, or the next end of DATA when at_event is None.

        A kill at the end of DATA keeps the message first, as a server that committed it and whose reply was
        lost would: the client is then owed no second copy.
        """
        with self.lock:
            self.events.clear()
            self.kill = Kill(pgid, at_event)
        return self.kill

    def disarm(self) -> None:
        self.kill = None

    def start(self) -> FaultySmtp:
        from aiosmtpd.controller import Controller

        controller = Controller(self, hostname=HOST, port=self.port, ready_timeout=10)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    # -- aiosmtpd handler hooks --------------------------------------------------------------------------

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        if kill := self._count("MAIL"):
            _kill_group(kill.pgid)
            return "421 4.3.0 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if kill := self._count("RCPT"):
            _kill_group(kill.pgid)
            return "421 4.3.0 closing"
        if address in self.bounce:
            with self.lock:
                self.refused_recipients.append(address)
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if kill := self._count("DATA"):
            # The server has the whole message; the client dies before it hears so.
            self._keep(envelope, "kept, then the client was killed")
            _kill_group(kill.pgid)
            return "451 4.3.0 the client is gone"
        if self.mode == "drop-data":
            server.transport.abort()
            return "421 4.3.0 connection dropped"
        if self.mode == "451-data":
            return "451 4.3.0 Local error in processing; try again later"
        self._keep(envelope, self.mode)
        return "250 2.0.0 OK: queued"

    async def handle_QUIT(self, server, session, envelope) -> str:
        if kill := self._count("QUIT"):
            _kill_group(kill.pgid)
            return "421 4.3.0 closing"
        return "451 4.3.0 Try again later" if self.mode == "quit-451" else "221 Bye"

    # -- helpers -----------------------------------------------------------------------------------------

    def _count(self, command: str) -> Kill | None:
        """Count a command; return the armed kill when this command is its point."""
        with self.lock:
            self.events.append(command)
            kill = self.kill
            if kill is None or kill.done:
                return None
            if kill.at_event == len(self.events) or (kill.at_event is None and command == "DATA"):
                kill.done, kill.event = True, f"{command} (command {len(self.events)})"
                return kill
            return None

    def _keep(self, envelope, mode: str) -> None:
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        text = message.get_body(preferencelist=("plain",))
        urls = tuple(URL.findall(text.get_content())) if text is not None else ()
        with self.lock:
            self.received.append(
                Received(
                    recipients=tuple(envelope.rcpt_tos),
                    message=message,
                    message_id=str(message.get("Message-ID", "")).strip(),
                    urls=urls,
                    mode=mode,
                )
            )


def _kill_group(pgid: int) -> None:
    """SIGKILL a process group and wait until its leader is gone, so no client code runs after this."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    stat = Path(f"/proc/{pgid}/stat")
    while time.monotonic() < deadline:
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError, ProcessLookupError):
            return
        if state in {"Z", "X"}:
            return
        time.sleep(0.01)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]
