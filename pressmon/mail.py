"""Hand messages to an SMTP server, and the local SMTP sink that writes them to an outbox folder."""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pressmon.errors import ConfigError, DeliveryError
from pressmon.redaction import HIDDEN

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to send: host, port, credentials, TLS mode ("none", "starttls" or "ssl")."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: str = "none"
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        """Parse smtp://[user:password@]host[:port][?tls=none|starttls|ssl] (smtps:// means tls=ssl).

        Errors never quote the URL: a malformed one may hold the password anywhere.
        """
        shape = (
            "smtp://[user:password@]host[:port][?tls=none|starttls|ssl], "
            "with / @ : ? # in the user or password percent-encoded"
        )
        parts = urlsplit(url.strip())
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ConfigError(f"PRESSMON_SMTP_URL must look like {shape}")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(
                f"PRESSMON_SMTP_URL has no valid port (a number up to 65535): {shape}"
            ) from None
        query = parse_qs(parts.query)
        tls = query.get("tls", ["ssl" if parts.scheme == "smtps" else "none"])[0]
        if tls not in {"none", "starttls", "ssl"}:
            raise ConfigError("PRESSMON_SMTP_URL: tls must be none, starttls or ssl")
        return cls(
            host=parts.hostname,
            port=port or (465 if tls == "ssl" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


def send(target: SmtpTarget, message: EmailMessage) -> None:
    """Deliver one message, or raise DeliveryError saying why the server did not take it."""
    try:
        with _session(target) as client:
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"SMTP {target.host}:{target.port} did not take the message: {_reason(exc, target)}"
        ) from exc


def probe(target: SmtpTarget) -> None:
    """Connect, greet, STARTTLS and log in as configured, then QUIT without sending anything.

    Raises:
        DeliveryError: saying which server refused and why.
    """
    try:
        with _session(target):
            pass
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: {_reason(exc, target)}") from exc


@contextmanager
def _session(target: SmtpTarget) -> Iterator[smtplib.SMTP]:
    if target.tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=target.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
    with client:  # QUIT on the way out
        client.ehlo()
        if target.tls == "starttls":
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if target.username:
            client.login(target.username, target.password or "")
        yield client


def _reason(exc: BaseException, target: SmtpTarget) -> str:
    reason = str(exc) or type(exc).__name__
    return reason.replace(target.password, HIDDEN) if target.password else reason


class OutboxSink:
    """A local SMTP server (aiosmtpd) that writes every message it receives as an .eml file."""

    def __init__(self, outbox: Path, host: str = "127.0.0.1", port: int = 0):
        self.outbox = outbox
        self.host = host
        self.port = port
        self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> OutboxSink:
        from aiosmtpd.controller import Controller

        self.outbox.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = _free_port(self.host)
        self._controller = Controller(_OutboxHandler(self.outbox), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> OutboxSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _OutboxHandler:
    def __init__(self, outbox: Path):
        self.outbox = outbox

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        stem = SAFE_NAME.sub("_", (message.get("Message-ID") or "message").strip("<>"))
        for recipient in envelope.rcpt_tos:
            path = self.outbox / f"{SAFE_NAME.sub('_', recipient)}--{stem}.eml"
            path.write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
