"""What fulfillment staff do with programming jobs: claim an order, start it on a station with a key,
resume an interrupted job, or wipe the key and redo it (the certificate of the wiped attempt revoked
first). Operations flush and never commit; the request's unit of work does."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuance.interfaces import SigningService
from models import (
    HELD,
    Certificate,
    CertificateStatus,
    JobStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProgrammingJob,
    Staff,
    StaffRole,
    Station,
    Token,
    TokenState,
    record,
)
from models.base import update_if, utcnow
from models.business import ON_THE_SAME_KEY, programmed_at_station
from web.errors import N_, UserError

# A job's steps and wake-ups for the agents' long polls are sent after the commit (station.wakeup).
WAKEUP = "station_wakeup"


def new_job(session: Session, order: Order, staff: Staff) -> ProgrammingJob:
    """Claim `order` for `staff`: one job per order, one winner when two claim at once."""
    if order.status is not OrderStatus.APPROVED or not programmed_at_station(order):
        raise UserError(N_("Order %(number)s is not waiting for its key."), number=order.number)
    if order.price_cents and not session.scalar(select(exists().where(
            Payment.order_id == order.id, Payment.status == PaymentStatus.PAID))):
        raise UserError(N_("Order %(number)s is not paid."), number=order.number)
    job = ProgrammingJob(public_id="J" + secrets.token_hex(5).upper(), order=order, status=JobStatus.CLAIMED,
                         claimed_by=staff, so_pin=secrets.token_hex(8), key_id=secrets.token_hex(8),
                         challenge=secrets.token_hex(32))
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        holder = session.scalars(select(ProgrammingJob).where(ProgrammingJob.order_id == order.id)).one()
        raise UserError(N_("Already claimed by %(name)s."), name=holder.claimed_by.display_name) from None
    record(session, staff.actor, "job.claimed", order=order, target=f"job:{job.public_id}")
    return job


def claim(session: Session, order: Order, staff: Staff) -> ProgrammingJob:
    """The order's job for `staff`: theirs already, or newly claimed."""
    job = session.scalars(select(ProgrammingJob).where(ProgrammingJob.order_id == order.id)).first()
    if job is None:
        return new_job(session, order, staff)
    if job.claimed_by_id != staff.id:
        raise UserError(N_("Already claimed by %(name)s."), name=job.claimed_by.display_name)
    return job


def check_holder(job: ProgrammingJob, staff: Staff) -> None:
    if job.claimed_by_id != staff.id and staff.role is not StaffRole.ADMIN:
        raise UserError(N_("Job %(job)s is held by %(name)s."), job=job.public_id, name=job.claimed_by.display_name)


def release(session: Session, job: ProgrammingJob, staff: Staff) -> None:
    """Give back a job not started yet: the order goes back to the queue."""
    check_holder(job, staff)
    if job.status is not JobStatus.CLAIMED:
        raise UserError(N_("Only a job not started yet can be given back."))
    record(session, staff.actor, "job.released", order=job.order, target=f"job:{job.public_id}")
    session.delete(job)


def bind_token(session: Session, job: ProgrammingJob, serial: str, model: str, actor: str) -> Token:
    """The key `serial` for the job's order: refused when it is held by another order (but for the
    applicant's own key mailed in for a renewal or information change) or out of use."""
    token = session.scalars(select(Token).where(Token.serial == serial).with_for_update()).first()
    if token is None:
        token = Token(serial=serial, model=model[:40], state=TokenState.BLANK, media_model=job.order.media_model)
        session.add(token)
    elif token.order_id not in (None, job.order_id) and token.state in HELD and not mailed_in(job.order, token):
        raise UserError(N_("Key %(serial)s belongs to order %(number)s."), serial=serial, number=token.order.number)
    elif token.state in (TokenState.LOST, TokenState.DAMAGED, TokenState.REVOKED):
        raise UserError(N_("Key %(serial)s is %(state)s: it cannot be programmed."), serial=serial,
                        state=token.state.value)
    if token.state is not TokenState.BOUND:
        token.order = job.order
        token.move_to(TokenState.BOUND, actor, note=f"job {job.public_id}")
    return token


def mailed_in_key(order: Order) -> str | None:
    """The serial of the applicant's own key a renewal or information change by post is programmed on:
    the key of the certificate it renews."""
    if order.business_type in ON_THE_SAME_KEY and order.certificate is not None:
        return order.certificate.media_serial
    return None


def mailed_in(order: Order, token: Token) -> bool:
    """`token` is the order's mailed-in key, held by the order it continues (that certificate's)."""
    return token.serial == mailed_in_key(order) and token.order_id == order.previous_order_id


def start(session: Session, job: ProgrammingJob, station: Station, serial: str, staff: Staff, *,
          batch: bool = False) -> None:
    """Hand the job to `station`'s agent, to program the key `serial` plugged in there."""
    check_holder(job, staff)
    if job.status is not JobStatus.CLAIMED:
        raise UserError(N_("Job %(job)s is started already."), job=job.public_id)
    if station.credential_sha256 is None:
        raise UserError(N_("Station %(name)s has no credential: its agent cannot sign in."), name=station.name)
    seen = {token["serial"]: token for token in station.tokens_seen or []}
    if serial not in seen:
        raise UserError(N_("Key %(serial)s is not plugged in at station %(name)s."), serial=serial, name=station.name)
    job.token = bind_token(session, job, serial, seen[serial].get("model", ""), staff.actor)
    job.media_serial, job.station, job.batch = serial, station, batch
    _queue(session, job, staff.actor, "job.started")
    job.order.move_to(OrderStatus.PROGRAMMING, staff.actor, note=f"job {job.public_id} at {station.name}")


def _queue(session: Session, job: ProgrammingJob, actor: str, action: str, **after) -> None:
    job.status, job.started_at, job.step = JobStatus.QUEUED, utcnow(), None
    job.interruption = job.interruption_message = None
    record(session, actor, action, order=job.order, target=f"job:{job.public_id}",
           after={"station": job.station.name, "serial": job.media_serial, "attempt": job.attempt, **after})
    session.info[WAKEUP] = True


def is_interrupted(job: ProgrammingJob, now: dt.datetime, stale_seconds: int) -> bool:
    """Interrupted, or running at a station whose agent has been silent too long."""
    if job.status is JobStatus.INTERRUPTED:
        return True
    if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING) or job.station is None:
        return False
    seen = job.station.last_seen_at
    return seen is None or (now - seen).total_seconds() > stale_seconds


def resume(session: Session, job: ProgrammingJob, staff: Staff, *, stale_seconds: int) -> None:
    """Run an interrupted job again where its key stands (the agent works out where that is)."""
    check_holder(job, staff)
    if not is_interrupted(job, utcnow(), stale_seconds):
        raise UserError(N_("Job %(job)s is not interrupted."), job=job.public_id)
    previous = job.status
    if not update_if(session, job, ProgrammingJob.status == previous, status=JobStatus.QUEUED):
        raise UserError(N_("Job %(job)s changed meanwhile: please look again."), job=job.public_id)
    job.resume, job.wipe = True, False
    _queue(session, job, staff.actor, "job.resumed")


def withdraw_for_wipe(session: Session, signing: SigningService, job: ProgrammingJob, staff: Staff, *,
                      stale_seconds: int) -> str | None:
    """First half of a wipe and redo: the certificate the interrupted job's attempt made, if any, is
    revoked by the signing service (and on the CRL) before anything else; its serial. SigningUnavailable
    and PolicyRefused go to the caller, nothing changed. The signing service writes in its own
    process: the caller starts a new transaction before `redo`."""
    check_holder(job, staff)
    if not is_interrupted(job, utcnow(), stale_seconds):
        raise UserError(N_("Job %(job)s is not interrupted."), job=job.public_id)
    return withdraw_attempt(session, signing, job, staff.actor)


def redo(session: Session, job: ProgrammingJob, staff: Staff, withdrawn: str | None) -> None:
    """Second half: the next attempt, from a blank key (C_InitToken erases it), asks for a new certificate."""
    job.attempt += 1
    job.resume, job.wipe = True, True
    _queue(session, job, staff.actor, "job.wiped", withdrawn=withdrawn)


def attempt_certificate(session: Session, job: ProgrammingJob) -> Certificate | None:
    """The unrevoked certificate the signing service made for the job's current attempt."""
    return session.scalars(select(Certificate).where(Certificate.job_id == job.signing_job_id,
                                                     Certificate.status != CertificateStatus.REVOKED)).first()


def withdraw_attempt(session: Session, signing: SigningService, job: ProgrammingJob, actor: str) -> str | None:
    """Have the signing service revoke the current attempt's certificate; its serial, or None."""
    certificate = attempt_certificate(session, job)
    if certificate is None:
        return None
    signing.withdraw(certificate.serial_number, job_id=job.signing_job_id, requested_by=actor)
    session.expire(certificate)
    return certificate.serial_number
