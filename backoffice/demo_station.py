"""The station's work on the demo orders whose key was programmed: the stations that programmed them
(registered as admin registers one, station.credentials), and for each order its programming job,
done, with the steps its agent reported, and the key (token) it wrote, in the state the order's later
steps left it (shipped, then in use once delivered). The job's and the key's audit entries go into the
order's history where the real operations record them; the certificate takes the key's serial and
the moment the job's attempt was issued it. demo_data puts the rows in."""
from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.demo_certificates import KEY_TYPE
from backoffice.demo_plans import Plan, S
from models import JobStatus, MediaModel, Staff, StaffRole, Station, Token, TokenState
from protocol.station import STEPS, Step
from station import credentials

# Who programmed the demo keys, and their shares: station-1 is the station of make run's agent.
STATIONS = (("station-1", 0.6), ("station-2", 0.4))
REGISTERED_BY = "admin"  # the demo admin registers them, as `flask station credential` prefers
CLAIMED_BEFORE = (20, 600)  # seconds from claiming an order to starting its job on a station
TAKEN_AFTER = (0.2, 3.0)  # seconds from the start to the agent taking the job (its long poll)
CHAIN = 2  # the issuing CA's certificate and the root's, written to the key
# The key's state once its order reached each status (a key bound when its job started).
KEY_STATES = {S.PROGRAMMED: TokenState.PROGRAMMED, S.SHIPPED: TokenState.SHIPPED, S.COMPLETED: TokenState.ACTIVE}
_SIGNED_BEFORE_REPORT = dt.timedelta(milliseconds=80)  # the signing service signs, then the agent reports
# Each step's share of the programming time the plan gives (demo_plans): initialising the key and
# generating its key pair take longest on a real UKEY.
_WEIGHTS = {Step.CLAIMED: 0.2, Step.DETECTED: 0.5, Step.TOKEN_INITIALISED: 6, Step.SO_PIN_SET: 2,
            Step.USER_PIN_SET: 2, Step.GENERATING: 0.3, Step.KEY_GENERATED: 5, Step.REQUEST_SIGNED: 1,
            Step.CERTIFICATE_ISSUED: 1.5, Step.CERTIFICATE_WRITTEN: 2, Step.CHAIN_WRITTEN: 2, Step.VERIFIED: 1}


@dataclass
class Job:
    """A programmed plan's job before it becomes rows: its station, key and times."""

    public_id: str
    station: tuple[int, str] | None  # id, name
    serial: str
    claimed_at: dt.datetime
    started_at: dt.datetime
    taken_at: dt.datetime
    step_times: dict[Step, dt.datetime]
    certificate: str | None = None  # the serial number of the certificate it wrote
    card: str | None = None
    ids: tuple[int, int] = (0, 0)  # the job's and the key's

    @property
    def signing_job_id(self) -> str:
        return f"{self.public_id}-1"  # the first attempt (models.ProgrammingJob.signing_job_id)

    @property
    def finished_at(self) -> dt.datetime:
        return self.step_times[Step.VERIFIED]

    @property
    def issued_at(self) -> dt.datetime:
        """When the signing service made the certificate: just before the agent reported it."""
        return self.step_times[Step.CERTIFICATE_ISSUED] - _SIGNED_BEFORE_REPORT


class Jobs:
    """Jobs and keys for the plans whose key was programmed. Station and serial draws come from their
    own generator, so the rest of the demo stays the same; serials no key has yet."""

    def __init__(self, session: Session, rng: random.Random, job_ids: list[int], token_ids: list[int],
                 station_staff_known: bool):
        self.random, self.uniform = rng.random, rng.uniform
        self.getrandbits, self.choices = rng.getrandbits, rng.choices
        self.ids = iter(zip(job_ids, token_ids, strict=True))
        self.taken = set(session.scalars(select(Token.serial)))
        self.models = dict(session.execute(select(MediaModel.id, MediaModel.code)).all())
        self.stations = _stations(session) if station_staff_known else []
        self.missing = "no station staff to program them" if not station_staff_known else \
            None if self.stations else "no station, and no admin to register one"
        self.last_seen: dict[int, dt.datetime] = {}
        self.skipped = 0

    def plan(self, plan: Plan) -> Job:
        """The job of a plan that reached PROGRAMMED: started when the order went to programming,
        verified when it was programmed."""
        started, finished = plan.first[S.PROGRAMMING], plan.first[S.PROGRAMMED]
        station = self._pick() if self.stations else None
        claimed = max(plan.first[S.APPROVED], started - dt.timedelta(seconds=self.uniform(*CLAIMED_BEFORE)))
        taken = started + dt.timedelta(seconds=self.uniform(*TAKEN_AFTER))
        return Job(public_id="J" + secrets.token_hex(5).upper(), station=station, serial=self._serial(),
                   claimed_at=claimed, started_at=started, taken_at=taken,
                   step_times=self._step_times(taken, finished))

    def _pick(self) -> tuple[int, str]:
        """A station by its share; (id, name)."""
        stations, weights = zip(*self.stations, strict=True)
        station = self.choices(stations, weights)[0]
        return station.id, station.name

    def _serial(self) -> str:
        """A media number (介质号) no key has: 16 hex digits, as the demo keys' vendor prints them."""
        serial = f"{self.getrandbits(64):016X}"
        while serial in self.taken:
            serial = f"{self.getrandbits(64):016X}"
        self.taken.add(serial)
        return serial

    def _step_times(self, taken: dt.datetime, finished: dt.datetime) -> dict[Step, dt.datetime]:
        """Each step reported after the one before, the last (verified) at `finished`."""
        weights = [_WEIGHTS[step] * (0.5 + self.random()) for step in STEPS]
        span, done, times = (finished - taken) / sum(weights), 0.0, {}
        for step, weight in zip(STEPS, weights, strict=True):
            done += weight
            times[step] = taken + span * done
        times[Step.VERIFIED] = finished
        return times

    def done(self, job: Job, certificate: dict | None, card: str | None) -> bool:
        """Whether the job is made (its certificate is there, and a station and staff to program it):
        it takes the certificate's serial and the card's number; counted when it is not."""
        if certificate is None or self.missing:
            self.skipped += 1
            return False
        job.certificate, job.card, job.ids = certificate["serial_number"], card, next(self.ids)
        return True

    def around(self, job: Job, status: S, entry: dict) -> list[dict]:
        """The order's change into `status` (its audit entry, made right here) with what the station
        did then, in the order the real operations record it (station.jobs.start, station.agent_work.
        finish, fulfillment.shipping.ship and confirm_delivery)."""
        if status is S.PROGRAMMING:
            entry["note"] = f"job {job.public_id} at {job.station[1]}"
            started = {"station": job.station[1], "serial": job.serial, "attempt": 1}
            return [self._entry(job, entry, "job.claimed", at=job.claimed_at),
                    self._key(job, entry, TokenState.BLANK, TokenState.BOUND, f"job {job.public_id}"),
                    self._entry(job, entry, "job.started", after=started), entry]
        if status is S.PROGRAMMED:
            entry["actor"] = f"station:{job.station[1]}"
            entry["note"] = f"key {job.serial}, certificate {job.certificate}"
            done = {"serial": job.serial, "certificate": job.certificate, "attempt": 1, "password_card": job.card}
            return [self._key(job, entry, TokenState.BOUND, TokenState.PROGRAMMED, f"certificate {job.certificate}"),
                    entry, self._entry(job, entry, "job.done", after=done)]
        if status is S.SHIPPED:
            return [entry, self._key(job, entry, TokenState.PROGRAMMED, TokenState.SHIPPED, entry["note"])]
        if status is S.COMPLETED:
            return [entry, self._key(job, entry, TokenState.SHIPPED, TokenState.ACTIVE, "delivered")]
        return [entry]

    @staticmethod
    def _entry(job: Job, order_entry: dict, action: str, *, at: dt.datetime | None = None,
               after: dict | None = None) -> dict:
        return {**order_entry, "at": at or order_entry["at"], "action": action, "target": f"job:{job.public_id}",
                "before": None, "after": after, "note": None}

    @staticmethod
    def _key(job: Job, order_entry: dict, before: TokenState, after: TokenState, note: str | None) -> dict:
        return {**order_entry, "action": "token.state", "target": f"token:{job.serial}",
                "before": {"state": str(before)}, "after": {"state": str(after)}, "note": note}

    def rows(self, job: Job, plan: Plan, order: dict, staff_id: int) -> tuple[dict, dict, list[dict]]:
        """The key's row, the job's and its steps' (as station.agent_work leaves them for a blank key
        programmed at the first attempt), the key in the state the order's later steps left it."""
        job_id, token_id = job.ids
        so_pin = secrets.token_hex(8)  # the job's, set on the key (Step.SO_PIN_SET)
        model = self.models.get(order["media_model_id"], "UKEY")
        token = {"id": token_id, "serial": job.serial, "model": model, "media_model_id": order["media_model_id"],
                 "state": KEY_STATES[plan.status], "order_id": order["id"], "so_pin": so_pin, "wrong_user_pins": 0,
                 "wrong_so_pins": 0, "resets": 1, "enrolments": 1, "renewals": 0,
                 "first_seen_at": job.started_at, "updated_at": plan.updated_at}
        row = {"id": job_id, "public_id": job.public_id, "order_id": order["id"], "status": JobStatus.DONE,
               "claimed_by_id": staff_id, "claimed_at": job.claimed_at, "station_id": job.station[0],
               "token_id": token_id, "media_serial": job.serial, "attempt": 1, "step": str(Step.VERIFIED),
               "resume": False, "wipe": False, "batch": False, "so_pin": so_pin, "key_id": secrets.token_hex(8),
               "challenge": secrets.token_hex(32), "started_at": job.started_at, "taken_at": job.taken_at,
               "finished_at": job.finished_at, "updated_at": job.finished_at, "interruption": None,
               "interruption_message": None}
        seconds = (job.step_times[Step.KEY_GENERATED] - job.step_times[Step.GENERATING]).total_seconds()
        details = {Step.CLAIMED: {"resume": False, "wipe": False}, Step.DETECTED: {"label": model, "model": model},
                   Step.TOKEN_INITIALISED: {"so_pin_was_jobs": False, "so_pin_index": 0},  # the transport SO PIN
                   Step.GENERATING: {"key_type": KEY_TYPE},
                   Step.KEY_GENERATED: {"key_type": KEY_TYPE, "seconds": round(seconds, 3)},
                   Step.CERTIFICATE_ISSUED: {"serial": format(int(job.certificate, 16), "x")},
                   Step.CHAIN_WRITTEN: {"certificates": CHAIN}}
        steps = [{"job_id": job_id, "attempt": 1, "step": str(step), "at": at, "detail": details.get(step)}
                 for step, at in job.step_times.items()]
        station_id = job.station[0]
        self.last_seen[station_id] = max(self.last_seen.get(station_id, job.finished_at), job.finished_at)
        return token, row, steps

    def close(self) -> None:
        """The stations' agents were last seen at their last job, unless they were seen since."""
        for station, _ in self.stations:
            seen = self.last_seen.get(station.id)
            if seen is not None and (station.last_seen_at is None or station.last_seen_at < seen):
                station.last_seen_at = seen


def _stations(session: Session) -> list[tuple[Station, float]]:
    """The demo stations with their shares: those missing registered by an admin (their agents get
    credentials of their own with `flask station credential NAME`, or on the Stations page); none
    without an admin."""
    found = {s.name: s for s in session.scalars(select(Station).where(Station.name.in_([n for n, _ in STATIONS])))}
    admin = session.scalars(select(Staff).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True))
                            .order_by(Staff.username != REGISTERED_BY, Staff.id)).first()
    for name, _ in STATIONS:
        if name not in found and admin is not None:
            found[name] = credentials.register(session, name, admin)[0]
    return [(found[name], weight) for name, weight in STATIONS if name in found]
