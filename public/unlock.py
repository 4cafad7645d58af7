"""Unlock (证书解锁) online, free: the key helper identified the locked key and its certificate
(public.key_helper); the applicant proves who they are, an authorisation code goes by SMS to a phone
on file, and the right code is the one-time authorisation the helper's UNLOCK task needs
(public.key_work: a single-use SO PIN, a new key password typed into the helper, the SO PIN rotated).

Two ways, as the seed's 3.1 and 3.2:
- identity-verified (身份核验解锁), always for a key never unlocked online before: the organisation,
  legal representative, agent and address, as on a first application; the credit code, the legal
  representative's name and ID number and the chosen person's phone must be those of the
  certificate's order. A mismatch says nothing of which value differed, and a key gets
  `IDENTITY_TRIES_PER_HOUR` of them. The code goes to the chosen person's phone on file.
  A personal certificate's (个人数字证书) has no organisation and no legal representative: the holder's
  name, ID type and ID number must be those of the certificate's order, and the code goes to the
  holder's phone on file (the person in the agent's place).
- SMS (验证码解锁), for a key unlocked by identity before: the code goes to the agent's (holder's) phone on
  file.

The authorisation makes an UNLOCK order continuing the certificate's order (its data copied), free and
never reviewed: the SMS code is its signature, so it goes created → signed → paid (free) → approved at
once, and is completed when the helper reports the key unlocked.
"""
from __future__ import annotations

import datetime as dt
import hmac

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    AuditEntry,
    BusinessType,
    HelperPurpose,
    HelperSession,
    HelperTaskStatus,
    Order,
    OrderStatus,
    Person,
    record,
)
from models.base import update_if, utcnow
from notifications.messages import render_sms
from protocol.helper import TaskKind
from public import continuation, key_work, sms_codes
from public.key_helper import is_open
from web.errors import N_

CODE_PURPOSE = "unlock"  # the SMS code's purpose (public.sms_codes), and its SMS template's kind
IDENTITY = "identity"
SMS = "sms"
LEGAL_REP, AGENT = "legal_rep", "agent"  # whose phone gets an identity-verified unlock's code
HOLDER = "holder"  # a personal certificate's: the holder's phone, the only one on file
IDENTITY_TRIES_PER_HOUR = 5  # identities that do not match, per key
REFUSED = "unlock.identity_refused"


class Refused(Exception):
    """The page says `message` (N_, translated where shown)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


MISMATCH = N_("The information does not match our records for the certificate on this key. Check it against "
              "the application you made, or call the service phone.")
TOO_MANY = N_("Too many attempts for this key. Please try again in an hour, or call the service phone.")
NOT_NOW = N_("This key cannot be unlocked this way now.")


def certificate_order(session: Session, helper: HelperSession) -> Order:
    """The order the key's certificate came with: the identity on file."""
    return session.get(Order, helper.certificate.order_id)


def ready(helper: HelperSession) -> bool:
    """The helper identified the key and its certificate, and no unlock was authorised yet."""
    return (helper.purpose is HelperPurpose.UNLOCK and helper.token_id is not None and helper.problem is None
            and helper.authorised_at is None and is_open(helper))


def unlocked_by_identity_before(session: Session, helper: HelperSession) -> bool:
    """This key was unlocked online before, authorised by identity: it may be unlocked by SMS code."""
    return session.scalar(select(func.count()).select_from(HelperSession).where(
        HelperSession.token_id == helper.token_id, HelperSession.id != helper.id,
        HelperSession.authorised_by == IDENTITY, HelperSession.task_status == HelperTaskStatus.DONE)) > 0


def phone_on_file(order: Order, way: str, person: str) -> str | None:
    """Where the code goes: the chosen person's phone on file (the agent's for an SMS unlock; a personal
    certificate's holder's always)."""
    return _recipient(order, way, person).phone


def _recipient(order: Order, way: str, person: str) -> Person:
    if way == IDENTITY and person == LEGAL_REP and order.legal_rep is not None:
        return order.legal_rep
    return order.agent


def check_identity(session: Session, helper: HelperSession, data: dict, person: str) -> None:
    """Refused unless the form's identity is the certificate's order's (one message, whichever value
    differed), and the key has tries left; a mismatch is audited (and counted)."""
    if not ready(helper):
        raise Refused(NOT_NOW)
    target = f"token:{helper.token.serial}"
    since = utcnow() - dt.timedelta(hours=1)
    tried = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == REFUSED, AuditEntry.target == target, AuditEntry.at > since))
    if tried >= IDENTITY_TRIES_PER_HOUR:
        raise Refused(TOO_MANY)
    order = certificate_order(session, helper)
    pairs = _holder_pairs(order, data) if order.personal else _unit_pairs(order, data, person)
    matches = [hmac.compare_digest(str(typed).encode(), str(on_file).encode()) for typed, on_file in pairs]
    if not (all(matches) and pairs[-1][1]):
        record(session, "applicant", REFUSED, order=order, target=target,
               after={"helper": helper.public_id, "person": person})
        raise Refused(MISMATCH)


def _unit_pairs(order: Order, data: dict, person: str) -> list[tuple[str, str]]:
    """(typed, on file) of a unit certificate's identity; the last is the chosen person's phone."""
    typed_phone = data["legal_rep_phone"] if person == LEGAL_REP else data["agent_phone"]
    return [(data["credit_code"], order.organisation.credit_code),
            (_name(data["legal_rep_name"]), _name(order.legal_rep.name)),
            (data["legal_rep_id_type"], str(order.legal_rep.id_type)),
            (data["legal_rep_id_number"], order.legal_rep.id_number or ""),
            (typed_phone, phone_on_file(order, IDENTITY, person) or "")]


def _holder_pairs(order: Order, data: dict) -> list[tuple[str, str]]:
    """(typed, on file) of a personal certificate's holder; the last one's value on file is the ID
    number (the code goes to the holder's phone on file, which is not typed)."""
    holder = order.holder
    return [(_name(data["holder_name"]), _name(holder.name)),
            (data["holder_id_type"], str(holder.id_type)),
            (data["holder_id_number"], holder.id_number or "")]


def _name(name: str) -> str:
    return "".join((name or "").split())


def send_code(session: Session, policy: sms_codes.CodePolicy, helper: HelperSession, way: str, person: str, *,
              client_ip: str | None) -> str:
    """The authorisation code, by SMS to the phone on file: that phone, masked, for the page."""
    if not ready(helper) or (way == SMS and not unlocked_by_identity_before(session, helper)):
        raise Refused(NOT_NOW)
    order = certificate_order(session, helper)
    phone = phone_on_file(order, way, person)
    if not phone:
        raise Refused(NOT_NOW)
    sms_codes.send_code(session, policy, phone=phone, purpose=CODE_PURPOSE, client_ip=client_ip,
                        message=lambda code: render_sms(CODE_PURPOSE, serial=helper.token.serial, code=code,
                                                        minutes=policy.ttl_minutes))
    return masked(order, way, person)


def masked(order: Order, way: str, person: str) -> str:
    return _recipient(order, way, person).phone_masked


def authorise(session: Session, policy: sms_codes.CodePolicy, helper: HelperSession, way: str, person: str,
              code: str, *, actor: str, applicant_secret: str) -> Order:
    """The right code is the one-time authorisation: the UNLOCK order (approved: nothing to review) and
    the helper's UNLOCK task. sms_codes.CodeInvalid for a wrong, used or expired code (counted)."""
    if not ready(helper) or (way == SMS and not unlocked_by_identity_before(session, helper)):
        raise Refused(NOT_NOW)
    earlier = certificate_order(session, helper)
    sms_codes.use_code(session, policy, phone=phone_on_file(earlier, way, person) or "", purpose=CODE_PURPOSE,
                       code=code)
    if not update_if(session, helper, HelperSession.authorised_at.is_(None), authorised_at=utcnow(),
                     authorised_by=way):
        raise Refused(NOT_NOW)  # another tab of the page authorised it a moment ago
    order = continuation.continuing(session, earlier, BusinessType.UNLOCK, applicant_secret=applicant_secret,
                                    certificate_id=helper.certificate_id)
    session.add(order)
    record(session, actor, "order.created", order=order, after={"status": str(order.status), "number": order.number})
    note = "identity checked against the certificate's order" if way == IDENTITY else "key unlocked by identity before"
    order.move_to(OrderStatus.AWAITING_SIGNATURE, actor, note="no materials: the key helper identified the key")
    order.move_to(OrderStatus.AWAITING_PAYMENT, actor, note=f"authorisation code by SMS ({way}: {note})")
    order.move_to(OrderStatus.PAID, actor, note="free of charge")
    order.move_to(OrderStatus.APPROVED, actor, note="authorised by the SMS code: no review")
    helper.order = order
    key_work.queue_key_work(session, helper, TaskKind.UNLOCK)
    helper.add_step("authorised")
    record(session, actor, "unlock.authorised", order=order, target=f"token:{helper.token.serial}",
           after={"way": way, "person": person if way == IDENTITY else (HOLDER if order.personal else AGENT),
                  "certificate": helper.certificate.serial_number, "previous_order": earlier.number})
    session.flush()
    return order
