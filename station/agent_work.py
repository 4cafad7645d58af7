"""The back office's side of the station protocol (protocol.station): what an agent's poll, step
reports, certificate request, finish and failure do to jobs, keys and orders, and what its reports
of a returned key's wipe do (station.returns), and of a locked key's unlock (station.unlocks). Operations flush and
never commit; station.api draws the transaction lines (a poll must not hold SQLite's write lock
while it waits, and the certificate request waits on the signing service, which writes itself)."""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfillment import cards, stock
from issuance import authority, certificates, profiles
from issuance.interfaces import Issued
from models import (
    BusinessType,
    Certificate,
    JobStatus,
    KeyReturn,
    KeyUnlock,
    OrderStatus,
    ProgrammingJob,
    ProgrammingStep,
    ReturnStatus,
    Station,
    Token,
    TokenState,
    UnlockStatus,
    record,
)
from models.base import update_if, utcnow
from models.business import ON_THE_SAME_KEY, SUPERSEDE_CERTIFICATE
from protocol import station as protocol
from station import jobs, queue, returns, unlocks
from web import jobs as work
from web.errors import UserError

_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class NotThisStations(Exception):
    """The job is not running at this station (any more): the agent stops it (HTTP 409)."""


class Refused(Exception):
    """The agent's step is refused (HTTP 422): `rule` names why; the job is interrupted."""

    def __init__(self, rule: str, message: str):
        super().__init__(f"{rule}: {message}")
        self.rule, self.message = rule, message


def actor(station: Station) -> str:
    return f"station:{station.name}"


# --- the poll ---------------------------------------------------------------------------------------


def seen(session: Session, station: Station, poll: protocol.PollRequest) -> None:
    """The agent is alive with these keys; a job the station was running that the agent does not
    name was cut off (the agent restarted): it becomes interrupted. One whose agent never reported a
    step was most likely handed to the poll of an agent that had died meanwhile (its request lives
    on in the server until its wait runs out): it goes back to the queue, to be resumed from wherever
    the key stands, as staff would."""
    station.last_seen_at = utcnow()
    station.tokens_seen = [{"serial": t.serial[:40], "label": t.label[:40], "model": t.model[:40],
                            "blank": bool(t.blank)} for t in poll.tokens[:64]]
    for job in session.scalars(select(ProgrammingJob).where(ProgrammingJob.station_id == station.id,
                                                            ProgrammingJob.status == JobStatus.RUNNING)):
        if job.public_id == poll.running_job:
            continue
        if job.step is None:
            job.status, job.resume = JobStatus.QUEUED, True
            record(session, actor(station), "job.requeued", order=job.order, target=f"job:{job.public_id}")
        else:
            interrupt(session, job, station, "cut_off", "The station agent stopped while programming the key.")
    for returned in session.scalars(select(KeyReturn).where(KeyReturn.station_id == station.id,
                                                            KeyReturn.status == ReturnStatus.RUNNING)):
        returns.failed(session, returned, "cut_off", returns.CUT_OFF, actor(station))
    for unlock in session.scalars(select(KeyUnlock).where(KeyUnlock.station_id == station.id,
                                                          KeyUnlock.status == UnlockStatus.RUNNING)):
        unlocks.failed(session, unlock, "cut_off", unlocks.CUT_OFF, actor(station))


def next_queued(session: Session, station: Station) -> int | None:
    return session.scalar(select(ProgrammingJob.id).where(ProgrammingJob.station_id == station.id,
                                                          ProgrammingJob.status == JobStatus.QUEUED)
                          .order_by(ProgrammingJob.started_at, ProgrammingJob.id).limit(1))


def take(session: Session, station: Station, job_id: int, *, transport_so_pin: str,
         pin_limit: int) -> protocol.Job | None:
    """The agent takes the queued job (one winner); what it needs to program the key."""
    job = session.get(ProgrammingJob, job_id)
    if job is None or not update_if(session, job, ProgrammingJob.status == JobStatus.QUEUED,
                                    ProgrammingJob.station_id == station.id,
                                    status=JobStatus.RUNNING, taken_at=utcnow()):
        return None
    token, order = job.token, job.order
    candidates = ([job.so_pin] if job.resume else []) + [token.so_pin, transport_so_pin]
    current = list(dict.fromkeys(pin for pin in candidates if pin))
    certificate = jobs.attempt_certificate(session, job)
    key_type = station_key_type(order.product.profile)
    if key_type is None:
        interrupt(session, job, station, "refused", f"the profile of {order.product.code} allows no key type the "
                                                    f"station makes ({', '.join(protocol.KeyType)})")
        return None
    return protocol.Job(
        job_id=job.public_id, order_number=order.number, media_serial=job.media_serial, token_label=order.number,
        key_type=key_type, key_id=job.key_id,
        subject=[[oid, value] for oid, value in profiles.subject_attributes(order)],
        user_pin=order.certificate_password, so_pin=job.so_pin, current_so_pins=current,
        challenge=job.challenge,
        pin_tries_left=max(0, pin_limit - 1 - max(token.wrong_so_pins, token.wrong_user_pins)),
        resume=job.resume, wipe=job.wipe,
        certificate_pem=certificates.to_pem(certificate.der) if certificate else None,
        chain_pem=authority.chain_pem(certificate.issuer) if certificate else [])


def next_wipe(session: Session, station: Station) -> int | None:
    return session.scalar(select(KeyReturn.id).where(KeyReturn.station_id == station.id,
                                                     KeyReturn.status == ReturnStatus.QUEUED)
                          .order_by(KeyReturn.received_at, KeyReturn.id).limit(1))


def take_wipe(session: Session, station: Station, return_id: int, *, transport_so_pin: str,
              pin_limit: int) -> protocol.Wipe | None:
    """The agent takes the returned key's wipe (one winner); the SO PINs it may need."""
    returned = session.get(KeyReturn, return_id)
    if returned is None or not update_if(session, returned, KeyReturn.status == ReturnStatus.QUEUED,
                                         KeyReturn.station_id == station.id,
                                         status=ReturnStatus.RUNNING, taken_at=utcnow()):
        return None
    token = returned.token
    return protocol.Wipe(
        wipe_id=returned.public_id, media_serial=token.serial,
        current_so_pins=list(dict.fromkeys(pin for pin in (token.so_pin, transport_so_pin) if pin)),
        transport_so_pin=transport_so_pin,
        pin_tries_left=max(0, pin_limit - 1 - max(token.wrong_so_pins, token.wrong_user_pins)))


def station_key_type(profile) -> protocol.KeyType | None:
    """The first of the profile's key types the station makes (RSA-2048 for a product without one)."""
    if profile is None:
        return protocol.KeyType.RSA_2048
    return next((protocol.KeyType(t) for t in profiles.key_types(profile) if t in set(protocol.KeyType)), None)


# --- during the job -----------------------------------------------------------------------------------


def job_at(session: Session, station: Station, public_id: str, *, lock: bool = False) -> ProgrammingJob:
    """The job running at `station`, else NotThisStations; read only (no lock) unless `lock`."""
    query = select(ProgrammingJob).where(ProgrammingJob.public_id == public_id)
    job = session.scalars(query.with_for_update() if lock else query).first()
    if job is None or job.station_id != station.id or job.status is not JobStatus.RUNNING:
        raise NotThisStations(public_id)
    return job


def running_job(session: Session, station: Station, public_id: str) -> ProgrammingJob:
    """The job running at `station`, locked for a change; the station is seen alive."""
    job = job_at(session, station, public_id, lock=True)
    station.last_seen_at = utcnow()
    return job


def _step(session: Session, job: ProgrammingJob, step: str, detail: dict | None = None) -> None:
    session.add(ProgrammingStep(job=job, attempt=job.attempt, step=step, detail=detail or None))
    job.step = step


def count_wrong_pins(token: Token, wrong_pins: list[dict]) -> None:
    for wrong in wrong_pins[:32]:
        if wrong.get("pin") == protocol.PinKind.SO:
            token.wrong_so_pins += 1
        else:
            token.wrong_user_pins += 1


def report(session: Session, station: Station, job: ProgrammingJob, report: protocol.StepReport) -> None:
    """A step done: shown on the job page; the key's counters and sealed SO PIN follow it."""
    count_wrong_pins(job.token, report.wrong_pins)
    token = job.token
    if report.step is protocol.Step.TOKEN_INITIALISED:
        token.resets += 1
        token.wrong_so_pins = 0
    elif report.step is protocol.Step.SO_PIN_SET:
        token.so_pin = job.so_pin
        token.wrong_so_pins = 0
    elif report.step is protocol.Step.USER_PIN_SET:
        token.wrong_user_pins = 0
    _step(session, job, report.step, _detail(report.detail))


def _detail(detail: dict) -> dict:
    """What of an agent's step detail is kept: short scalar values only."""
    return {str(k)[:40]: v if isinstance(v, (bool, int, float)) else str(v)[:200]
            for k, v in list(detail.items())[:10]}


def certificate_for(session: Session, job: ProgrammingJob, public_key: bytes) -> Certificate | None:
    """The attempt's certificate when it certifies `public_key` (a replay: the same key asks again);
    None when there is none. When there is one for another key (the key it was made for is gone),
    NeedsWithdrawal: that certificate is revoked and the job goes on as its next attempt."""
    certificate = jobs.attempt_certificate(session, job)
    if certificate is None:
        return None
    if x509.load_der_x509_certificate(certificate.der).public_key().public_bytes(*_SPKI) == public_key:
        return certificate
    raise NeedsWithdrawal(certificate.serial_number)


class NeedsWithdrawal(Exception):
    def __init__(self, serial_number: str):
        super().__init__(serial_number)
        self.serial_number = serial_number


def issued(answer: Issued | Certificate) -> protocol.CertificateAnswer:
    if isinstance(answer, Certificate):
        pem, chain = certificates.to_pem(answer.der), authority.chain_pem(answer.issuer)
    else:
        pem, chain = answer.certificate_pem, answer.chain_pem
    return protocol.CertificateAnswer(certificate_pem=pem, chain_pem=chain)


def next_attempt(session: Session, job: ProgrammingJob, withdrawn: str, station: Station) -> None:
    record(session, actor(station), "job.attempt", order=job.order, target=f"job:{job.public_id}",
           after={"withdrawn": withdrawn, "attempt": job.attempt + 1})
    job.attempt += 1


def finish(session: Session, station: Station, job: ProgrammingJob, done: protocol.FinishRequest, *,
           card_prints_pin: bool) -> None:
    """The key holds the certificate and its private key signs: the job is done, the key programmed,
    its password card numbered (fulfillment.cards). On the applicant's own key mailed in (a renewal or
    information change), the earlier certificate is to be superseded (by the worker: it calls the
    signing service)."""
    certificate = jobs.attempt_certificate(session, job)
    try:
        read_back = x509.load_pem_x509_certificate(done.certificate_pem.encode())
        signature = bytes.fromhex(done.signature)
    except ValueError:
        raise Refused("verification_failed", "the read-back certificate or the signature is malformed") from None
    if certificate is None or read_back.public_bytes(serialization.Encoding.DER) != certificate.der:
        raise Refused("verification_failed", "the key holds another certificate than the one issued for this job")
    if not certificates.signs(read_back.public_key(), signature, bytes.fromhex(job.challenge)):
        raise Refused("verification_failed", "the key's signature of the challenge does not verify")
    _step(session, job, protocol.Step.VERIFIED)
    who = actor(station)
    job.status, job.finished_at = JobStatus.DONE, utcnow()
    token = job.token
    token.enrolments += 1
    token.wrong_user_pins = token.wrong_so_pins = 0
    token.move_to(TokenState.PROGRAMMED, who, note=f"certificate {certificate.serial_number}")
    stock.use_key(session, token, job.order, who)  # one blank key off the shelf, if it came from there
    certificate.media_serial = token.serial
    job.order.move_to(OrderStatus.PROGRAMMED, who, note=f"key {token.serial}, certificate {certificate.serial_number}")
    card = cards.number_card(session, job.order, certificate, who, prints_pin=card_prints_pin)
    record(session, who, "job.done", order=job.order, target=f"job:{job.public_id}",
           after={"serial": token.serial, "certificate": certificate.serial_number, "attempt": job.attempt,
                  "password_card": card})
    if job.order.business_type in ON_THE_SAME_KEY:
        if job.order.business_type is BusinessType.RENEWAL:
            token.renewals += 1
        work.enqueue(session, SUPERSEDE_CERTIFICATE, job.order.id)


def interrupt(session: Session, job: ProgrammingJob, station: Station, code: str, message: str,
              step: str | None = None) -> None:
    job.status = JobStatus.INTERRUPTED
    job.interruption, job.interruption_message = code[:40], message[:120]
    _step(session, job, "interrupted", {"error": code, "message": message[:200], "failed_step": step or ""})
    record(session, actor(station), "job.interrupted", order=job.order, target=f"job:{job.public_id}",
           after={"error": code, "step": step or job.step})


def fail(session: Session, station: Station, job: ProgrammingJob, failure: protocol.FailureReport) -> None:
    count_wrong_pins(job.token, failure.wrong_pins)
    code = failure.error if failure.error in protocol.FAILURES else "token_error"
    interrupt(session, job, station, code, failure.message or protocol.FAILURES[code],
              failure.step.value if failure.step else None)


# --- a returned key's wipe ------------------------------------------------------------------------------


def wipe_at(session: Session, station: Station, public_id: str) -> KeyReturn:
    """The wipe handed to `station`, locked (NotThisStations when it was not, or was handed out again);
    the station is seen alive."""
    returned = session.scalars(select(KeyReturn).where(KeyReturn.public_id == public_id).with_for_update()).first()
    if returned is None or returned.station_id != station.id or returned.status is ReturnStatus.QUEUED:
        raise NotThisStations(public_id)
    station.last_seen_at = utcnow()
    return returned


def wipe_done(session: Session, station: Station, returned: KeyReturn, done: protocol.WipeDone) -> None:
    """The key is wiped: blank again (station.returns.wiped); a repeated report changes nothing."""
    if returned.status is ReturnStatus.RUNNING:
        count_wrong_pins(returned.token, done.wrong_pins)
        returns.wiped(session, returned, actor(station))


def wipe_failed(session: Session, station: Station, returned: KeyReturn, failure: protocol.FailureReport) -> None:
    if returned.status is ReturnStatus.RUNNING:
        count_wrong_pins(returned.token, failure.wrong_pins)
        code = failure.error if failure.error in protocol.FAILURES else "token_error"
        returns.failed(session, returned, code, failure.message or protocol.FAILURES[code], actor(station))


# --- a locked key's unlock ------------------------------------------------------------------------------


def next_unlock(session: Session, station: Station) -> int | None:
    return session.scalar(select(KeyUnlock.id).where(KeyUnlock.station_id == station.id,
                                                     KeyUnlock.status == UnlockStatus.QUEUED)
                          .order_by(KeyUnlock.received_at, KeyUnlock.id).limit(1))


def take_unlock(session: Session, station: Station, unlock_id: int, *, pin_limit: int) -> protocol.Unlock | None:
    """The agent takes the locked key's unlock (one winner): the SO PINs it may have and the new PINs.
    Only wrong SO PINs count against the tries: the user PIN is the one that locked."""
    unlock = session.get(KeyUnlock, unlock_id)
    if unlock is None or not update_if(session, unlock, KeyUnlock.status == UnlockStatus.QUEUED,
                                       KeyUnlock.station_id == station.id,
                                       status=UnlockStatus.RUNNING, taken_at=utcnow()):
        return None
    token = unlock.token
    return protocol.Unlock(
        unlock_id=unlock.public_id, media_serial=token.serial, user_pin=unlock.user_pin, so_pin=unlock.so_pin,
        current_so_pins=list(dict.fromkeys(pin for pin in (token.so_pin, unlock.so_pin) if pin)),
        pin_tries_left=max(0, pin_limit - 1 - token.wrong_so_pins))


def unlock_at(session: Session, station: Station, public_id: str) -> KeyUnlock:
    """The unlock handed to `station`, locked (NotThisStations when it was not, or was handed out again);
    the station is seen alive."""
    unlock = session.scalars(select(KeyUnlock).where(KeyUnlock.public_id == public_id).with_for_update()).first()
    if unlock is None or unlock.station_id != station.id or unlock.status is UnlockStatus.QUEUED:
        raise NotThisStations(public_id)
    station.last_seen_at = utcnow()
    return unlock


def unlock_done(session: Session, station: Station, unlock: KeyUnlock, done: protocol.UnlockDone) -> None:
    """The key is unlocked (station.unlocks.unlocked); a repeated report changes nothing."""
    if unlock.status is UnlockStatus.RUNNING:
        count_wrong_pins(unlock.token, done.wrong_pins)
        unlocks.unlocked(session, unlock, actor(station))


def unlock_failed(session: Session, station: Station, unlock: KeyUnlock, failure: protocol.FailureReport) -> None:
    if unlock.status is UnlockStatus.RUNNING:
        count_wrong_pins(unlock.token, failure.wrong_pins)
        code = failure.error if failure.error in protocol.FAILURES else "token_error"
        unlocks.failed(session, unlock, code, failure.message or protocol.FAILURES[code], actor(station))


def stale_jobs(session: Session, now: dt.datetime, stale_seconds: int) -> list[ProgrammingJob]:
    return [job for job in session.scalars(select(ProgrammingJob).where(ProgrammingJob.status.in_(
        (JobStatus.QUEUED, JobStatus.RUNNING)))) if jobs.is_interrupted(job, now, stale_seconds)]


def next_in_batch(session: Session, job: ProgrammingJob, station: Station) -> ProgrammingJob | None:
    """Batch mode: the next order of the queue, claimed for the same person and started on the same
    station with the next blank key plugged in there; None when either runs out."""
    used = set(session.scalars(select(ProgrammingJob.media_serial).where(ProgrammingJob.station_id == station.id,
                                                                         ProgrammingJob.media_serial.is_not(None))))
    blanks = [t["serial"] for t in station.tokens_seen or [] if t.get("blank") and t["serial"] not in used]
    for order in queue.waiting_orders(session, limit=20):
        if not blanks:
            return None
        try:
            with session.begin_nested():
                following = jobs.new_job(session, order, job.claimed_by)
                jobs.start(session, following, station, blanks[0], job.claimed_by, batch=True)
        except UserError:
            continue
        return following
    return None

