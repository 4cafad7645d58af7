"""Password cards (密码卡): the numbered card that goes in the parcel with each key.

The number is given when the key is programmed and recorded on the order and its certificate. The
card is printed through the one PDF helper and never stored. It carries the PIN (the certificate
password) only where the CA delivers the password on paper (PASSWORD_CARD_PRINTS_PIN); the sealed
password is destroyed once a card with it is printed, or as soon as the key is programmed when the
CA does not print it (it reached the applicant by SMS or transfer memo at approval). So a reprint
never shows the PIN: there is none left to show.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Certificate, CertificateStatus, Order, next_password_card_number, record
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from reports.pdf import get_renderer
from web.errors import N_, UserError

CARD_CSS = """
@page { size: 100mm 70mm; margin: 6mm; }
body { font-size: 9pt; }
h1 { font-size: 11pt; margin: 0 0 3mm; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: normal; color: #555; width: 32mm; }
td, th { padding: 0.6mm 0; vertical-align: top; }
.pin { font-size: 16pt; letter-spacing: 2pt; font-family: monospace; }
.note { font-size: 7pt; color: #555; margin-top: 2mm; }
"""


def number_card(session: Session, order: Order, certificate: Certificate, actor: str, *, prints_pin: bool) -> str:
    """Give the order's key its card number (once); destroy the password now when no card carries it."""
    if order.password_card_number is None:
        order.password_card_number = next_password_card_number(session)
    certificate.password_card_number = order.password_card_number
    if not prints_pin:
        destroy_password(session, order, actor, "the key is programmed and the CA does not print the PIN")
    return order.password_card_number


def destroy_password(session: Session, order: Order, actor: str, why: str) -> None:
    if order.certificate_password is not None:
        order.certificate_password = None
        record(session, actor, "order.password_destroyed", order=order, note=why)


def media_serial(session: Session, order: Order) -> str:
    """The media number (介质号) of the order's key: its unrevoked certificate's."""
    return session.scalar(select(Certificate.media_serial).where(
        Certificate.order_id == order.id, Certificate.status != CertificateStatus.REVOKED)) or ""


@dataclass(frozen=True)
class PrintedCard:
    pdf: bytes
    with_pin: bool
    reprint: bool


def print_card(session: Session, order: Order, actor: str, *, prints_pin: bool) -> PrintedCard:
    """The card as a PDF (never stored). With the PIN the first time where the CA prints it, after
    which the password is destroyed; a reprint, or a CA that does not print it, shows no PIN."""
    if order.password_card_number is None:
        raise UserError(N_("Order %(number)s has no password card yet: its key is not programmed."),
                        number=order.number)
    reprint = order.password_card_printed_at is not None
    pin = order.certificate_password if prints_pin else None
    html = render_template("pdf/password-card.html", order=order, pin=pin, reprint=reprint,
                           media_serial=media_serial(session, order), printed_at=utcnow(), tz=BUSINESS_TZ)
    pdf = get_renderer().render(html, CARD_CSS)
    order.password_card_printed_at = order.password_card_printed_at or utcnow()
    record(session, actor, "order.password_card_printed", order=order,
           after={"card": order.password_card_number, "with_pin": pin is not None, "reprint": reprint})
    if pin is not None:
        destroy_password(session, order, actor, f"printed on password card {order.password_card_number}")
    return PrintedCard(pdf=pdf, with_pin=pin is not None, reprint=reprint)
