"""What the applicant hears from review: approval (and the certificate password by the
chosen method, where a key is shipped), rejection, requests for more materials (their reminders and
their lapse too), and a certificate revoked, by SMS and e-mail. The words are the templates'
(templates/sms/, templates/emails/, templates/transfers/)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from models import IdentityMethod, MaterialKind, Order
from models.business_time import BUSINESS_TZ, business_date
from notifications.messages import render_email, render_sms, render_transfer_memo
from notifications.outbox import queue_email, queue_sms, queue_transfer

KIND_NAMES = {
    MaterialKind.BUSINESS_LICENCE: "营业执照复印件（加盖公章）",
    MaterialKind.AGENT_ID_FRONT: "经办人身份证人像面",
    MaterialKind.AGENT_ID_BACK: "经办人身份证国徽面",
    MaterialKind.ESEAL_SAMPLE_FORM: "单位电子印章采集表",
    MaterialKind.AUTHORISATION_LETTER: "法定代表人授权书（加盖公章）",
    MaterialKind.PAYMENT_PROOF: "付款凭证",
}
# A personal certificate's holder uploads their own ID card.
PERSONAL_KIND_NAMES = {**KIND_NAMES, MaterialKind.AGENT_ID_FRONT: "身份证人像面",
                       MaterialKind.AGENT_ID_BACK: "身份证国徽面"}


def _to_agent(session: Session, order: Order, kind: str, **facts: object) -> None:
    queue_sms(session, order.agent.phone, render_sms(kind, **facts), order=order)
    if order.agent.email:
        queue_email(session, order.agent.email, render_email(kind, agent_name=order.agent.name, **facts), order=order)


def approved(session: Session, order: Order) -> None:
    """The password by the unit's chosen method: the transfer memo, or SMS to the legal representative;
    a personal certificate's by SMS to its holder."""
    facts = {"number": order.number, "password": order.certificate_password}
    if order.personal:
        queue_sms(session, order.holder.phone, render_sms("certificate_password", **facts), order=order, secret=True)
        _to_agent(session, order, "review_approved_personal", number=order.number)
    elif order.identity_method == IdentityMethod.CORPORATE_TRANSFER:
        queue_transfer(session, order, render_transfer_memo("certificate_password", **facts))
        _to_agent(session, order, "review_approved_transfer", number=order.number)
    else:
        queue_sms(session, order.legal_rep.phone, render_sms("certificate_password", **facts), order=order,
                  secret=True)
        _to_agent(session, order, "review_approved", number=order.number)


def info_change_approved(session: Session, order: Order) -> None:
    """No key is shipped and the password stays: the updated certificate is written to the key later."""
    _to_agent(session, order, "review_approved_info_change", number=order.number)


def certificate_revoked(session: Session, order: Order, serial_number: str, revoked_at: dt.datetime) -> None:
    """The certificate is revoked from `revoked_at`; its key may be sent back to the CA."""
    _to_agent(session, order, "certificate_revoked", number=order.number, serial=serial_number,
              revoked_at=revoked_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S"))


def rejected(session: Session, order: Order, reasons: list[str], note: str | None) -> None:
    why = "；".join([*reasons, *([note.strip()] if note and note.strip() else [])])
    _to_agent(session, order, "review_rejected", number=order.number, reasons=why)


def more_materials(session: Session, order: Order, kinds: list[MaterialKind], reason: str,
                   link: str, expires_at: dt.datetime) -> None:
    _to_agent(session, order, "more_materials", number=order.number, documents=_documents(order, kinds),
              reason=reason, until=business_date(expires_at), link=link)


def more_materials_reminder(session: Session, order: Order, kinds: list[MaterialKind], link: str,
                            expires_at: dt.datetime) -> None:
    """The materials asked for have not come yet (day 7 and day 14 of the request)."""
    _to_agent(session, order, "more_materials_reminder", number=order.number, documents=_documents(order, kinds),
              until=business_date(expires_at), link=link)


def more_materials_lapsed(session: Session, order: Order, refunded: bool) -> None:
    """The request's days ran out: the order is cancelled, and what was paid goes back."""
    _to_agent(session, order, "more_materials_lapsed", number=order.number, refunded="1" if refunded else "")


def _documents(order: Order, kinds: list[MaterialKind]) -> str:
    names = PERSONAL_KIND_NAMES if order.personal else KIND_NAMES
    return "、".join(names[k] for k in kinds)
