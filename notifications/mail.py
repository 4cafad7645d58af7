"""E-mail: a sandbox that behaves like a mail server, and the real SMTP adapter."""
from __future__ import annotations

import secrets
import smtplib
import ssl
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import Flask

from notifications.interfaces import Attachment, MailDeliveryError, MailGateway
from web import services
from web.services import Implementation


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


class SandboxMailer:
    """Delivers nowhere, like a mail server would accept a message.

    Deterministic triggers let tests and demos see the failures a real server has:
    an address at fail.example is refused, one at slow.example is accepted after a delay.
    """

    def __init__(self, delay_seconds: float = 0.2):
        self.delay_seconds = delay_seconds

    def send(self, to: str, subject: str, body: str, attachments: Sequence[Attachment] = ()) -> str:
        domain = _domain(to)
        if domain == "fail.example":
            raise MailDeliveryError(f"sandbox: 550 mailbox unavailable <{to}>")
        if domain == "slow.example":
            time.sleep(self.delay_seconds)
        return f"<sbx-{secrets.token_hex(8)}@sandbox.invalid>"


class SmtpMailer:
    """Sends through an SMTP server, over TLS from the first byte (`tls`, SMTPS, usually port 465)
    or upgraded to it (`starttls`, usually port 587), the server's certificate verified; then signs in."""

    def __init__(self, host: str, port: int, sender: str, *, username: str = "", password: str = "",
                 starttls: bool = False, tls: bool = False, timeout: float = 10.0):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.tls = starttls and not tls, tls
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, to: str, subject: str, body: str, attachments: Sequence[Attachment] = ()) -> str:
        message = self._compose(to, subject, body, attachments)
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            # Every smtplib error is an OSError too; both mean "not handed over".
            raise MailDeliveryError(f"{self.host}:{self.port}: {exc}") from exc
        return message["Message-ID"]

    def _compose(self, to: str, subject: str, body: str, attachments: Sequence[Attachment]) -> EmailMessage:
        message = EmailMessage()  # the default policy encodes a Chinese subject as RFC 2047
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=_domain(self.sender))
        # Base64 keeps Chinese text intact through servers that do not speak 8BITMIME.
        message.set_content(body, charset="utf-8", cte="base64")
        for attachment in attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                                   filename=attachment.filename)
        return message


def _clear_text(config) -> str | None:
    """Production sends mail (invoices, and the SMTP password when it signs in) only over TLS."""
    if config["SMTP_STARTTLS"] or config["SMTP_TLS"]:
        return None
    return ("mail would travel in the clear, the SMTP password with it: set SMTP_TLS=1 (SMTPS) or "
            "SMTP_STARTTLS=1")


def register(app: Flask) -> None:
    """MAIL_GATEWAY chooses: `sandbox` (the default) delivers nowhere, so production refuses it;
    `smtp` sends through SMTP_HOST, in production only over TLS (SMTP_TLS) or upgraded to it
    (SMTP_STARTTLS)."""
    services.register(app, MailGateway, "MAIL_GATEWAY", {
        "smtp": Implementation(lambda config: SmtpMailer(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            config["MAIL_FROM"],
            username=config["SMTP_USERNAME"],
            password=config["SMTP_PASSWORD"],
            starttls=config["SMTP_STARTTLS"],
            tls=config["SMTP_TLS"],
        ), needs=("SMTP_HOST", "MAIL_FROM"), refusal=_clear_text),
        "sandbox": Implementation(lambda config: SandboxMailer(), sandbox=True),
    })
