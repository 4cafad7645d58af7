"""E-mail: the SMTP adapter against a real local SMTP server, the sandbox, and the outbox."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import importlib
import importlib.metadata
import importlib.util
import socket
import ssl
import sys
import time
from pathlib import Path

import pytest
import time_machine

from notifications import outbox
from notifications.delivery import Gateways, RetryPolicy, current_gateways, deliver_pending
from notifications.interfaces import MailDeliveryError
from notifications.mail import Attachment, SandboxMailer, SmtpMailer
from notifications.messages import EmailContent
from web import edge
from web.extensions import db


def _import_aiosmtpd():
    """aiosmtpd does `from public import public` (the atpublic distribution), a top-level name
    this project's `public` package shadows: lend it atpublic's module while aiosmtpd loads."""
    location = Path(importlib.metadata.distribution("atpublic").locate_file("public/__init__.py"))
    spec = importlib.util.spec_from_file_location("public", location, submodule_search_locations=[str(location.parent)])
    atpublic = importlib.util.module_from_spec(spec)
    before = {name: module for name, module in sys.modules.items() if name == "public" or name.startswith("public.")}
    sys.modules["public"] = atpublic
    try:
        spec.loader.exec_module(atpublic)
        controller, smtp = importlib.import_module("aiosmtpd.controller"), importlib.import_module("aiosmtpd.smtp")
    finally:
        for name in [name for name in sys.modules if name == "public" or name.startswith("public.")]:
            del sys.modules[name]
        sys.modules.update(before)
    return controller.Controller, smtp.AuthResult


Controller, AuthResult = _import_aiosmtpd()

SENDER = "noreply@ca.example.cn"
SUBJECT = "证书申请已受理：订单 ZX2024000123"
BODY = "张伟先生/女士：\n\n您的数字证书申请已受理，审核结果将以短信通知。\n\n——河南CA注册中心"
POLICY = RetryPolicy((dt.timedelta(minutes=2), dt.timedelta(minutes=10)), max_attempts=3)


def queue(session, to: str, subject: str = SUBJECT):
    return outbox.queue_email(session, to, EmailContent("application_received", subject, BODY))


def deliver_with(session, mailer) -> None:
    deliver_pending(session, Gateways(sms=None, mailer=mailer, bank=None), POLICY)


class Inbox:
    """An SMTP handler that keeps what it accepts and refuses mail to refused.example."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accept_ca_desk(server, session, envelope, mechanism, auth_data):
    accepted = auth_data.login == b"ca-desk" and auth_data.password == b"s3cret"
    return AuthResult(success=accepted, handled=False)  # not handled: the server answers 235 or 535


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=accept_ca_desk, auth_require_tls=False)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def mailer_for(controller, **options) -> SmtpMailer:
    return SmtpMailer(controller.hostname, controller.port, SENDER, timeout=5, **options)


def test_chinese_subject_and_body_arrive_intact(smtp_server):
    controller, inbox = smtp_server
    message_id = mailer_for(controller).send("lina@example.com", SUBJECT, BODY)
    (received,) = inbox.messages
    assert received["Subject"] == SUBJECT
    assert received.get_content().rstrip("\n") == BODY
    assert received["From"] == SENDER and received["To"] == "lina@example.com"
    assert received["Message-ID"] == message_id and message_id.endswith("@ca.example.cn>")
    assert inbox.envelopes[0].mail_from == SENDER


def test_the_invoice_pdf_arrives_as_an_attachment(smtp_server):
    controller, inbox = smtp_server
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    mailer_for(controller).send("lina@example.com", SUBJECT, BODY,
                                [Attachment("invoice-26110108000000000001.pdf", "application/pdf", pdf)])
    (received,) = inbox.messages
    assert received.get_body(("plain",)).get_content().rstrip("\n") == BODY
    (part,) = received.iter_attachments()
    assert part.get_filename() == "invoice-26110108000000000001.pdf"
    assert part.get_content_type() == "application/pdf" and part.get_content() == pdf


def test_signs_in_when_a_username_is_set(smtp_server):
    controller, inbox = smtp_server
    mailer_for(controller, username="ca-desk", password="s3cret").send("lina@example.com", "t", "b")
    assert len(inbox.messages) == 1
    with pytest.raises(MailDeliveryError, match="535"):
        mailer_for(controller, username="ca-desk", password="wrong").send("lina@example.com", "t", "b")


def test_refused_recipient_is_a_delivery_error(smtp_server):
    controller, inbox = smtp_server
    with pytest.raises(MailDeliveryError, match="mailbox unavailable"):
        mailer_for(controller).send("nobody@refused.example", SUBJECT, BODY)
    assert inbox.messages == []


def test_starttls_demanded_but_not_offered_sends_nothing(smtp_server):
    controller, inbox = smtp_server
    with pytest.raises(MailDeliveryError, match="STARTTLS"):
        mailer_for(controller, starttls=True).send("lina@example.com", SUBJECT, BODY)
    assert inbox.messages == []


def test_server_down_is_a_delivery_error():
    with pytest.raises(MailDeliveryError, match="127.0.0.1"):
        SmtpMailer("127.0.0.1", free_port(), SENDER, timeout=2).send("lina@example.com", SUBJECT, BODY)


def test_outbox_row_records_success_and_failure(db_session, smtp_server):
    controller, inbox = smtp_server
    sent, refused = queue(db_session, "lina@example.com"), queue(db_session, "nobody@refused.example")
    deliver_with(db_session, mailer_for(controller))
    assert (sent.status, sent.error, sent.attempts) == ("sent", None, 1)
    assert sent.provider_ref == inbox.messages[0]["Message-ID"] and sent.sent_at is not None
    assert sent.next_attempt_at is None
    assert (refused.status, refused.attempts) == ("queued", 1) and "mailbox unavailable" in refused.error
    assert refused.sent_at is None and refused.next_attempt_at is not None


def test_a_failed_row_is_retried_and_a_sent_one_never_twice(db_session, smtp_server):
    controller, inbox = smtp_server
    message = queue(db_session, "lina@example.com")
    deliver_with(db_session, mailer_for(controller, starttls=True))
    assert message.status == "queued" and "STARTTLS" in message.error
    gateways = Gateways(sms=None, mailer=mailer_for(controller), bank=None)
    with time_machine.travel(message.next_attempt_at):
        deliver_pending(db_session, gateways, POLICY)
        deliver_pending(db_session, gateways, POLICY)
    assert (message.status, message.error, message.attempts) == ("sent", None, 2) and len(inbox.messages) == 1


def test_outbox_row_fails_when_the_server_is_down(db_session):
    message = queue(db_session, "lina@example.com")
    deliver_with(db_session, SmtpMailer("127.0.0.1", free_port(), SENDER, timeout=2))
    assert message.status == "queued" and message.attempts == 1 and message.error


def test_sandbox_refuses_fail_example_and_delays_slow_example():
    sandbox = SandboxMailer(delay_seconds=0.05)
    with pytest.raises(MailDeliveryError, match="mailbox unavailable"):
        sandbox.send("someone@FAIL.example", SUBJECT, BODY)
    started = time.monotonic()
    assert sandbox.send("someone@slow.example", SUBJECT, BODY)
    assert time.monotonic() - started >= 0.05
    assert sandbox.send("someone@example.com", SUBJECT, BODY) != sandbox.send("someone@example.com", SUBJECT, BODY)


def test_committed_mail_is_sent_by_the_workers_round(app, db_session):
    with app.app_context():
        delivered = queue(db.session, "lina@example.com")
        refused = queue(db.session, "someone@fail.example")
        edge.commit()
        assert (delivered.status, refused.status) == ("queued", "queued"), "the commit itself sends nothing"
        deliver_pending(db.session, current_gateways(), POLICY)
        assert outbox.latest_email_for(db.session, "lina@example.com") == delivered
        assert (delivered.status, refused.status, refused.attempts) == ("sent", "queued", 1)


def test_latest_email_for_is_the_newest(db_session):
    queue(db_session, "lina@example.com", "第一封")
    second = queue(db_session, "lina@example.com", "第二封")
    assert outbox.latest_email_for(db_session, "lina@example.com") == second
    assert outbox.latest_email_for(db_session, "other@example.com") is None


# --- over TLS: SMTPS from the first byte, or STARTTLS; the server's certificate verified ----------

@pytest.fixture(scope="module")
def server_certificate(tmp_path_factory):
    """A certificate for 127.0.0.1 (P-256, self-signed) and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.ca.example.cn")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("smtp-tls")
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def _server_context(server_certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*server_certificate)
    return context


@pytest.fixture(params=["smtps", "starttls"])
def tls_server(request, server_certificate):
    """An SMTP server that takes mail and sign-ins over TLS only: (controller, inbox, the mailer's option)."""
    inbox = Inbox()
    context = _server_context(server_certificate)
    if request.param == "smtps":
        # TLS from the first byte: aiosmtpd counts only STARTTLS as TLS for its AUTH rule
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=context,
                                authenticator=accept_ca_desk, auth_require_tls=False)
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context,
                                require_starttls=True, authenticator=accept_ca_desk)
    controller.start()
    try:
        yield controller, inbox, {"tls": True} if request.param == "smtps" else {"starttls": True}
    finally:
        controller.stop()


def test_mail_and_the_sign_in_go_over_tls_to_a_server_we_trust(tls_server, server_certificate, monkeypatch):
    controller, inbox, option = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(server_certificate[0]))  # the mail server's CA, as the OS would hold it
    mailer_for(controller, username="ca-desk", password="s3cret", **option).send("lina@example.com", SUBJECT, BODY)
    assert [str(message["Subject"]) for message in inbox.messages] == [SUBJECT]


def test_a_server_whose_certificate_we_cannot_verify_gets_nothing(tls_server):
    controller, inbox, option = tls_server
    with pytest.raises(MailDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        mailer_for(controller, username="ca-desk", password="s3cret", **option).send("lina@example.com", SUBJECT,
                                                                                    BODY)
    assert inbox.messages == []
