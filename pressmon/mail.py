"""Hand messages to an SMTP server, and the local SMTP sink that writes them to an outbox folder."""

from __future__ import annotations

import io
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pressmon.errors import ConfigError, DeliveryError, DeliveryRefused
from pressmon.redaction import HIDDEN

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
LEADING_DOT = re.compile(rb"^\.", re.M)


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
            raise ConfigError(f"PRESSMON_SMTP_URL must look like {shape}", "PRESSMON_SMTP_URL")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(
                f"PRESSMON_SMTP_URL has no valid port (a number up to 65535): {shape}", "PRESSMON_SMTP_URL"
            ) from None
        query = parse_qs(parts.query)
        tls = query.get("tls", ["ssl" if parts.scheme == "smtps" else "none"])[0]
        if tls not in {"none", "starttls", "ssl"}:
            raise ConfigError("PRESSMON_SMTP_URL: tls must be none, starttls or ssl", "PRESSMON_SMTP_URL")
        return cls(
            host=parts.hostname,
            port=port or (465 if tls == "ssl" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


def send(
    target: SmtpTarget, message: EmailMessage, *, before_end_of_data: Callable[[], None] | None = None
) -> None:
    """Deliver one message, or raise a DeliveryError saying why the server did not take it.

    `before_end_of_data` runs when the server holds the whole message but has not been told it is complete:
    the last moment at which a crash still means "not sent". The ledger marks the digest `sending` there.

    Raises:
        DeliveryRefused: a 5xx answer (recipient or message refused for good).
        DeliveryError: anything else that kept the server from taking the message (including a connection
            lost before its answer to the end of data); it may be tried again.
    """
    where = f"SMTP {target.host}:{target.port}"
    client: smtplib.SMTP | None = None
    in_data = False
    try:
        client = _open(target)
        sender = parseaddr(str(message["From"]))[1]
        recipients = [address for _, address in getaddresses([str(v) for v in message.get_all("To", [])])]
        _expect(client.mail(sender), (250,), "MAIL FROM", where)
        refused = {}
        for recipient in recipients:
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if len(refused) == len(recipients):
            code, reply = next(iter(refused.values()), (554, b"no recipients"))
            _expect((code, reply), (250,), f"RCPT TO {', '.join(refused)}", where)
        _expect(client.docmd("DATA"), (354,), "DATA", where)
        in_data = True
        client.send(_data_lines(message))
        if before_end_of_data is not None:
            before_end_of_data()
        client.send(b".\r\n")
        # A connection lost here leaves the message in doubt. Like any SMTP client, try again later: a server
        # that did keep it shows the same Message-ID twice, which mail systems can drop.
        answer = client.getreply()
        in_data = False
        _expect(answer, (250,), "end of data", where)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"{where} did not take the message: {_reason(exc, target)}") from exc
    finally:
        if client is not None:
            _close(client, politely=not in_data)


def probe(target: SmtpTarget) -> None:
    """Connect, greet, STARTTLS and log in as configured, then QUIT without sending anything.

    Raises:
        DeliveryError: saying which server refused and why.
    """
    try:
        _close(_open(target), politely=True)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: {_reason(exc, target)}") from exc


def _reason(exc: BaseException, target: SmtpTarget) -> str:
    reason = str(exc) or type(exc).__name__
    return reason.replace(target.password, HIDDEN) if target.password else reason


def _open(target: SmtpTarget) -> smtplib.SMTP:
    if target.tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=target.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
    client.ehlo_or_helo_if_needed()
    if target.tls == "starttls":
        client.starttls(context=ssl.create_default_context())
        client.ehlo()
    if target.username:
        client.login(target.username, target.password or "")
    return client


def _expect(answer: tuple[int, bytes], codes: tuple[int, ...], stage: str, where: str) -> None:
    code, reply = answer
    if code in codes:
        return
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else str(reply)
    error = DeliveryRefused if 500 <= code < 600 else DeliveryError
    raise error(f"{where} answered {stage} with {code} {text}".strip())


def _data_lines(message: EmailMessage) -> bytes:
    """Return the message as SMTP DATA: CRLF line ends, leading dots doubled, without the final dot."""
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=message.policy.clone(linesep="\r\n")).flatten(message, linesep="\r\n")
    data = LEADING_DOT.sub(b"..", buffer.getvalue())
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _close(client: smtplib.SMTP, *, politely: bool) -> None:
    """End the session. An error after the server took the message changes nothing: it is delivered.

    Inside DATA, QUIT would be read as message text, so the connection is just dropped: the server then
    discards the incomplete message.
    """
    try:
        if politely:
            client.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        client.close()


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
