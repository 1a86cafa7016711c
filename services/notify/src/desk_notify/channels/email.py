"""One attempt to send an alert by e-mail over SMTP (aiosmtplib).

SMTP has no idempotency key: the caller records the attempt before sending (see
`desk_notify.deliveries`). The alert's id is the message's Message-ID, so a mail system or a
person can still tell two copies apart from two alerts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from desk_notify.channels.attempt import Attempt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


class EmailSender:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def send(self, to: str, subject: str, text: str, message_id: str) -> Attempt:
        s = self._server
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.sender, to, subject
        message["Message-ID"] = f"<{message_id}@desk-pemilu>"
        message.set_content(text)
        try:
            refused, reply = await aiosmtplib.send(message, hostname=s.host, port=s.port, start_tls=s.starttls,
                                                   username=s.username, password=s.password, timeout=s.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Attempt.refused(550, f"recipient refused: {exc}", final=True)
        except aiosmtplib.SMTPResponseException as exc:  # 5xx: permanent; 4xx: try again later
            return Attempt.refused(exc.code, f"SMTP {exc.code} {exc.message}", final=exc.code >= 500)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Attempt.no_answer(exc)
        if refused:
            return Attempt.refused(550, f"recipient refused: {refused}", final=True)
        return Attempt.sent(250, f"SMTP {reply}")
