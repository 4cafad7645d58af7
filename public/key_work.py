"""The key work a helper session hands out (protocol.helper tasks) and what the helper's reports of it
do: the key login that proves the key password, a renewal's or information change's new key pair and
certificate on the same key, and an unlock.

A task is handed to one poll (a conditional update wins it); a helper that stops while it runs (its
next poll names no running task) gets it again, resumed: the certificate issued for it already goes
with it, so the key pair that certificate is for is kept. The order moves with the work: approved →
programming when the new key pair is being made, programmed and completed once the new certificate is
read back from the key and the new key signed the challenge; the earlier certificate is then
superseded by the signing service (a worker job: it calls out).
"""
from __future__ import annotations

import secrets

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from issuance import certificates, profiles
from models import (
    BusinessType,
    Certificate,
    HelperPurpose,
    HelperSession,
    HelperTaskStatus,
    OrderStatus,
    TokenState,
    record,
)
from models.base import update_if, utcnow
from models.business import SUPERSEDE_CERTIFICATE
from models.token_state import new_pin
from notifications.messages import render_sms
from notifications.outbox import queue_sms
from protocol import helper as protocol
from public.key_helper import pin_tries_left
from web import jobs

ACTOR = "applicant:key-helper"
# The order states in which a renewal's or information change's key work may run (programming: resumed).
KEY_WORK_READY = frozenset({OrderStatus.APPROVED, OrderStatus.PROGRAMMING})


class Refused(Exception):
    def __init__(self, rule: str, message: str):
        super().__init__(f"{rule}: {message}")
        self.rule, self.message = rule, message


class NotThisHelpers(Exception):
    """The task is not running for this helper (any more): HTTP 409."""


def next_task(session: Session, helper: HelperSession, *, running_task: str | None,
              pin_limit: int) -> protocol.Task | None:
    """The task the helper should do now, if any (handed to this poll only)."""
    if helper.problem is not None or helper.token is None:
        return None
    token, order = helper.token, helper.order
    if helper.purpose is not HelperPurpose.UNLOCK and order is None:  # the key login identifies the applicant
        if helper.logged_in_at is not None or pin_tries_left(token, pin_limit) == 0:
            return None
        login = protocol.LoginTask(media_serial=token.serial, certificate_serial=helper.certificate.serial_number,
                                   challenge=helper.login_challenge, pin_tries_left=pin_tries_left(token, pin_limit))
        return protocol.Task(task_id=f"{helper.public_id}-login", kind=protocol.TaskKind.LOGIN, login=login)
    if helper.task_kind is None and order is not None and order.status is OrderStatus.APPROVED \
            and helper.purpose is not HelperPurpose.UNLOCK:  # paid and, where reviewed, approved
        queue_key_work(session, helper, protocol.TaskKind.RENEW)
    if running_task == helper.task_id or helper.task_status not in (HelperTaskStatus.QUEUED, HelperTaskStatus.RUNNING):
        return None
    status = helper.task_status
    if not update_if(session, helper, HelperSession.task_status == status, task_status=HelperTaskStatus.RUNNING):
        return None
    if helper.task_kind == protocol.TaskKind.UNLOCK:
        return protocol.Task(task_id=helper.task_id, kind=protocol.TaskKind.UNLOCK, unlock=protocol.UnlockTask(
            media_serial=token.serial, so_pin=helper.so_pin,
            current_so_pins=list(dict.fromkeys(pin for pin in (token.so_pin, helper.so_pin) if pin)),
            pin_tries_left=max(0, pin_limit - 1 - token.wrong_so_pins)))
    return _renew_task(session, helper, pin_limit)


def _renew_task(session: Session, helper: HelperSession, pin_limit: int) -> protocol.Task:
    order, token = helper.order, helper.token
    if order.status is OrderStatus.APPROVED:
        order.move_to(OrderStatus.PROGRAMMING, ACTOR, note=f"new key pair on key {token.serial} at the applicant's PC")
    issued = issued_for(session, helper)
    helper.add_step("started")
    return protocol.Task(task_id=helper.task_id, kind=protocol.TaskKind.RENEW, renew=protocol.RenewTask(
        media_serial=token.serial, certificate_serial=helper.certificate.serial_number,
        key_type=protocol.KeyType(key_type(helper.certificate, order)), key_id=helper.key_id,
        subject=[[oid, value] for oid, value in profiles.subject_attributes(order)],
        challenge=helper.challenge, pin_tries_left=pin_tries_left(token, pin_limit),
        certificate_pem=certificates.to_pem(issued.der) if issued else None))


def key_type(earlier: Certificate, order) -> str:
    """The earlier key's type when the product's profile still allows it, else the profile's first."""
    allowed = profiles.key_types(order.product.profile) if order.product.profile else [earlier.key_type]
    return earlier.key_type if earlier.key_type in allowed else allowed[0]


def queue_key_work(session: Session, helper: HelperSession, kind: protocol.TaskKind) -> None:
    """The renewal's (or change's) new key pair, or the unlock, is next for the helper."""
    helper.task_kind, helper.task_status = kind.value, HelperTaskStatus.QUEUED
    helper.error = helper.message = None
    if kind is protocol.TaskKind.UNLOCK:
        helper.so_pin = helper.so_pin or new_pin()
    else:
        helper.key_id = helper.key_id or secrets.token_hex(8)
        helper.challenge = helper.challenge or secrets.token_hex(32)


def retry(session: Session, helper: HelperSession) -> None:
    """The page's 'try again' after the helper reported a failure."""
    if helper.task_status is HelperTaskStatus.FAILED:
        helper.task_status, helper.error, helper.message = HelperTaskStatus.QUEUED, None, None


def issued_for(session: Session, helper: HelperSession) -> Certificate | None:
    return session.scalars(select(Certificate).where(Certificate.job_id == helper.task_id)).first()


def running(helper: HelperSession, task_id: str) -> None:
    """NotThisHelpers unless `task_id` is the session's key work running now (or its key login)."""
    login = helper.purpose is not HelperPurpose.UNLOCK and task_id == f"{helper.public_id}-login"
    # A task done is still the helper's to report on: the old key pair goes after the finish.
    ongoing = (HelperTaskStatus.RUNNING, HelperTaskStatus.DONE)
    if not login and not (task_id == helper.task_id and helper.task_status in ongoing):
        raise NotThisHelpers(task_id)


# --- the helper's reports ------------------------------------------------------------------------------


def count_wrong_pins(helper: HelperSession, wrong_pins: list[dict], pin_limit: int) -> None:
    token = helper.token
    for wrong in wrong_pins[:32]:
        if wrong.get("pin") == "so":
            token.wrong_so_pins += 1
        else:
            token.wrong_user_pins += 1
    if token.wrong_user_pins >= pin_limit and token.state is not TokenState.LOCKED:
        token.move_to(TokenState.LOCKED, ACTOR, note=f"{token.wrong_user_pins} wrong key passwords")


def step(helper: HelperSession, report: protocol.HelperReport, pin_limit: int) -> None:
    count_wrong_pins(helper, report.wrong_pins, pin_limit)
    helper.add_step(report.step.value)


def logged_in(session: Session, helper: HelperSession, proof: protocol.LoginProof, pin_limit: int) -> None:
    """The key password opened the key: its certificate's key pair signed the challenge."""
    count_wrong_pins(helper, proof.wrong_pins, pin_limit)
    certificate = x509.load_der_x509_certificate(helper.certificate.der)
    if not certificates.signs(certificate.public_key(), _hex(proof.signature), bytes.fromhex(helper.login_challenge)):
        raise Refused("login_failed", "the key's signature of the challenge does not verify")
    helper.logged_in_at = utcnow()
    helper.token.wrong_user_pins = 0
    helper.login_challenge = None
    helper.add_step(protocol.HelperStep.LOGGED_IN.value)
    record(session, ACTOR, "helper.logged_in", order=helper.order, target=f"token:{helper.token.serial}",
           after={"certificate": helper.certificate.serial_number})


def finish(session: Session, helper: HelperSession, done: protocol.FinishRequest) -> None:
    """The new certificate is on the key and its key signs: the order is done, the earlier certificate
    to be superseded. Reported again, it changes nothing."""
    if helper.task_status is HelperTaskStatus.DONE:
        return
    issued = issued_for(session, helper)
    try:
        read_back = x509.load_pem_x509_certificate(done.certificate_pem.encode())
        signature = _hex(done.signature)
    except ValueError:
        raise Refused("verification_failed", "the read-back certificate or the signature is malformed") from None
    if issued is None or read_back.public_bytes(serialization.Encoding.DER) != issued.der:
        raise Refused("verification_failed", "the key holds another certificate than the one issued")
    if not certificates.signs(read_back.public_key(), signature, bytes.fromhex(helper.challenge)):
        raise Refused("verification_failed", "the new key's signature of the challenge does not verify")
    order, token = helper.order, helper.token
    helper.add_step(protocol.HelperStep.VERIFIED.value)
    helper.task_status = HelperTaskStatus.DONE
    issued.media_serial = token.serial
    token.order = order
    token.enrolments += 1
    if order.business_type is BusinessType.RENEWAL:
        token.renewals += 1
    order.key_work = "helper"
    order.move_to(OrderStatus.PROGRAMMED, ACTOR, note=f"key {token.serial}, certificate {issued.serial_number}")
    order.move_to(OrderStatus.COMPLETED, ACTOR, note="written at the applicant's PC: nothing to ship")
    record(session, ACTOR, "helper.key_renewed", order=order, target=f"token:{token.serial}",
           after={"certificate": issued.serial_number, "earlier": helper.certificate.serial_number,
                  "not_after": issued.not_after.isoformat()})
    jobs.enqueue(session, SUPERSEDE_CERTIFICATE, order.id)


def unlocked(session: Session, helper: HelperSession, done: protocol.UnlockDone, pin_limit: int) -> None:
    """The key has the password the applicant typed into the helper and a new SO PIN (the one used is spent);
    the legal representative and the agent (a personal certificate's holder) are told by SMS. Reported again, it
    changes nothing."""
    if helper.task_status is HelperTaskStatus.DONE:
        return
    token, order = helper.token, helper.order
    count_wrong_pins(helper, done.wrong_pins, pin_limit)
    token.so_pin, helper.so_pin = helper.so_pin, None
    token.wrong_user_pins = token.wrong_so_pins = 0
    if token.state is TokenState.LOCKED:
        token.move_to(TokenState.ACTIVE, ACTOR, note="unlocked at the applicant's PC")
    helper.task_status = HelperTaskStatus.DONE
    helper.add_step(protocol.HelperStep.SO_PIN_ROTATED.value)
    order.key_work = "helper"
    order.move_to(OrderStatus.COMPLETED, ACTOR, note=f"key {token.serial} unlocked at the applicant's PC")
    record(session, ACTOR, "helper.key_unlocked", order=order, target=f"token:{token.serial}",
           after={"authorised_by": helper.authorised_by})
    legal_rep_phone = order.legal_rep.phone if order.legal_rep else None  # a personal certificate's: none
    for phone in dict.fromkeys(phone for phone in (legal_rep_phone, order.agent.phone) if phone):
        # A security notice: whoever did not ask for it calls the CA.
        queue_sms(session, phone, render_sms("key_unlocked_online", number=order.number, serial=token.serial),
                  order=order)


def failed(session: Session, helper: HelperSession, failure: protocol.HelperFailure, task_id: str,
           pin_limit: int) -> None:
    count_wrong_pins(helper, failure.wrong_pins, pin_limit)
    code = failure.error if failure.error in protocol.FAILURES else "token_error"
    helper.error, helper.message = code, (failure.message or protocol.FAILURES[code])[:120]
    helper.add_step("failed")
    if task_id == helper.task_id:
        helper.task_status = HelperTaskStatus.FAILED
    record(session, ACTOR, "helper.failed", order=helper.order, target=f"helper:{helper.public_id}",
           after={"error": code, "step": failure.step.value if failure.step else None})


def _hex(text: str) -> bytes:
    if not isinstance(text, str) or len(text) > 2048:
        raise ValueError("a signature is hex of at most 1024 bytes")
    return bytes.fromhex(text)
