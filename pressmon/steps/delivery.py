"""The one rule for every message pressmon sends: record it in its ledger and send it once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from pressmon import mail
from pressmon.errors import DeliveryError, DeliveryRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ledger:
    """Where one message's fate is recorded: the rows of one digest, or of one weekly report."""

    sending: Callable[[str], None]  # (message id) just before the end of the SMTP data
    sent: Callable[[str, str | None], None]  # (message id, note)
    failed: Callable[[str, bool], None]  # (error, permanent)


def deliver_once(target: mail.SmtpTarget, message: EmailMessage, ledger: Ledger) -> str:
    """Send one message and record what happened; return "emails", "refused_emails" or "failed_emails".

    The one rule for every message pressmon sends: `sending` is recorded at the last moment a crash still
    means "not sent", and a run that dies after it counts as delivered (`Store.reconcile_sending`); a 5xx is
    a refusal for good; anything else, a connection lost before the answer to the end of data included,
    leaves the message pending for the next run.
    """
    message_id = str(message["Message-ID"])
    recipient = str(message["To"])
    try:
        mail.send(target, message, before_end_of_data=lambda: ledger.sending(message_id))
    except DeliveryRefused as exc:
        ledger.failed(str(exc), True)
        log.warning("message for %s refused for good: %s", recipient, exc)
        return "refused_emails"
    except DeliveryError as exc:
        ledger.failed(str(exc), False)
        log.warning("message for %s stays pending: %s", recipient, exc)
        return "failed_emails"
    ledger.sent(message_id, None)
    return "emails"
