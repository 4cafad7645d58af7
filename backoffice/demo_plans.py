"""Demo applications before they are rows: where each one stands today (a scenario), the
statuses it went through and when (its timeline), and who moved it into each status."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from backoffice.config import Defaults
from models import BusinessType, OrderStatus, ReviewQueue, RevocationReason
from models.order_state import CertKind
from public.operations import signature_consent, signature_note

DAY = 86400
S = OrderStatus


@dataclass(frozen=True)
class Scenario:
    """One way an application stands today: the statuses it went through and since when."""

    share: float
    path: tuple[OrderStatus, ...]  # the statuses after awaiting_materials, in order
    business_type: BusinessType = BusinessType.NEW
    queue: ReviewQueue | None = None
    age_days: tuple[float, float] = (0, 4.5)  # how long ago it was paid (created, if never paid): most within SLA
    window_days: float = 3  # the later steps all happen within this many days
    claimed: float = 0.0  # the share of those waiting in a queue that a reviewer holds


_PAY = (S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT, S.PAID)
_REVIEW = (*_PAY, S.IN_REVIEW)
_DONE = (*_REVIEW, S.APPROVED, S.PROGRAMMING, S.PROGRAMMED, S.SHIPPED, S.COMPLETED)
_TODAY = (0, 0.9)  # unpaid orders are cancelled after 24 hours, so the open ones are recent
# The first one takes the rounding remainder: the new queue holds at least 40 % of the orders, PERSONAL_SHARE
# of its share waiting in the personal queue instead.
SCENARIOS = (
    Scenario(0.47, _PAY, queue=ReviewQueue.NEW, claimed=0.3),
    Scenario(0.04, (*_REVIEW, S.MORE_MATERIALS_NEEDED), queue=ReviewQueue.NEW),
    Scenario(0.03, (*_REVIEW, S.MORE_MATERIALS_NEEDED, S.PAID), queue=ReviewQueue.RESUBMITTED),
    Scenario(0.05, _PAY, BusinessType.REPLACEMENT, ReviewQueue.REPLACEMENT, claimed=0.25),
    Scenario(0.04, _PAY, BusinessType.INFO_CHANGE, ReviewQueue.INFO_CHANGE, claimed=0.25),
    Scenario(0.03, _PAY, BusinessType.REVOCATION, ReviewQueue.REVOCATION, claimed=0.25),
    Scenario(0.03, (), age_days=_TODAY),
    Scenario(0.02, (S.AWAITING_SIGNATURE,), age_days=_TODAY),
    Scenario(0.03, (S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT), age_days=_TODAY),
    Scenario(0.02, (S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT, S.CANCELLED), age_days=(2, 60), window_days=1),
    Scenario(0.05, (*_REVIEW, S.APPROVED), age_days=(1, 8)),
    Scenario(0.04, (*_REVIEW, S.REJECTED), age_days=(1, 60)),
    Scenario(0.07, _DONE, age_days=(10, 300), window_days=14),
    # Keys of the last weeks: the station keeps up with the desk, as the dashboard's 30 days show.
    Scenario(0.06, _DONE, age_days=(5, 28), window_days=10),
    # Keys of about a year ago: their one-year certificates expire within the month (renewal reminders due).
    Scenario(0.02, _DONE, age_days=(335, 355)),
)
# The share of applications for a personal certificate (个人数字证书), in every scenario; an after-sale
# order is of the kind of the order it continues.
PERSONAL_SHARE = 0.1
# Seconds from the previous step to this one, for the steps before payment.
_PROGRAMMING = dt.timedelta(minutes=3)
_GAPS = {S.AWAITING_SIGNATURE: (300, DAY), S.AWAITING_PAYMENT: (60, 6 * 3600), S.PAID: (60, 20 * 3600)}
# Who moves an order into each status, and the note the real operation writes.
STEPS = {
    S.AWAITING_SIGNATURE: ("applicant", None),
    S.AWAITING_PAYMENT: ("applicant", signature_note(signature_consent(Defaults.CA_NAME))),
    S.PAID: ("system", None),  # the payment; after more materials, the applicant's upload
    S.IN_REVIEW: ("reviewer", "claimed"),
    S.MORE_MATERIALS_NEEDED: ("reviewer", None),  # the note names the documents asked for
    S.APPROVED: ("reviewer", None),
    S.REJECTED: ("reviewer", None),  # the note gives the reason
    S.PROGRAMMING: ("station", None),
    S.PROGRAMMED: ("station", None),
    S.SHIPPED: ("station", None),
    S.COMPLETED: ("system", None),
    S.CANCELLED: ("system", "unpaid for 24 hours"),
}


@dataclass
class Plan:
    """One application before it becomes rows."""

    scenario: Scenario
    events: list[tuple[OrderStatus, dt.datetime]]  # starts with (awaiting_materials, created_at)
    channel_id: int
    product_id: int
    cert_kind: CertKind
    number: str = ""
    previous: Plan | None = None  # the earlier order an after-sale order continues (link_after_sale)
    reason: RevocationReason | None = None  # the reason its certificate is to be revoked with

    def __post_init__(self):
        self.created_at = self.events[0][1]
        self.status, self.updated_at = self.events[-1]
        self.first = {status: at for status, at in reversed(self.events)}  # when it first reached each status
        self.resubmitted = self.status == S.PAID and S.MORE_MATERIALS_NEEDED in self.first


def timeline(rng: random.Random, scenario: Scenario, path: tuple[OrderStatus, ...],
              now: dt.datetime) -> list[tuple[OrderStatus, dt.datetime]]:
    statuses = (S.AWAITING_MATERIALS, *path)
    anchor = statuses.index(S.PAID) if S.PAID in statuses else 0
    times: list[dt.datetime] = [now] * len(statuses)
    times[anchor] = now - dt.timedelta(seconds=rng.uniform(*scenario.age_days) * DAY)
    for i in range(anchor - 1, -1, -1):
        times[i] = times[i + 1] - dt.timedelta(seconds=rng.uniform(*_GAPS[statuses[i + 1]]))
    room = min((now - times[anchor]).total_seconds(), scenario.window_days * DAY)
    # A key is programmed minutes after the station takes it: one step, drawn once.
    drawn = [status for status in statuses[anchor + 1:] if status is not S.PROGRAMMED]
    later = iter(sorted(rng.uniform(0, room) for _ in drawn))
    for i in range(anchor + 1, len(statuses)):
        times[i] = times[i - 1] + _PROGRAMMING if statuses[i] is S.PROGRAMMED else \
            max(times[anchor] + dt.timedelta(seconds=next(later)), times[i - 1])  # never before the step before
    if statuses[-1] == S.CANCELLED:
        times[-1] = times[0] + dt.timedelta(seconds=DAY + rng.uniform(0, 900))
    return list(zip(statuses, times, strict=True))


def scenario_counts(n: int) -> list[int]:
    counts = [int(s.share * n) for s in SCENARIOS]
    counts[0] += n - sum(counts)
    return counts


# The after-sale orders of the demo continue an earlier completed order of their organisation, and
# name the certificate of its key; a replacement's key was lost or damaged, a revocation gives a reason.
CONTINUING = (BusinessType.REPLACEMENT, BusinessType.INFO_CHANGE, BusinessType.REVOCATION)
R = RevocationReason
REASONS = {
    BusinessType.REPLACEMENT: ((R.KEY_COMPROMISE, 0.7), (R.SUPERSEDED, 0.3)),  # lost, damaged
    BusinessType.REVOCATION: ((R.CESSATION_OF_OPERATION, 0.4), (R.AFFILIATION_CHANGED, 0.3), (R.KEY_COMPROMISE, 0.2),
                              (R.PRIVILEGE_WITHDRAWN, 0.1)),
}


def link_after_sale(rng: random.Random, plans: list[Plan]) -> None:
    """Each after-sale plan (plans in creation order) continues a plan completed before it was created
    that no other continues, on that plan's channel and product; without one left it stays alone."""
    completed = sorted((p for p in plans if S.COMPLETED in p.first), key=lambda p: p.first[S.COMPLETED])
    ready: list[Plan] = []  # completed before the plan at hand was created, not continued yet
    following = 0
    for plan in plans:
        while following < len(completed) and completed[following].first[S.COMPLETED] < plan.created_at:
            ready.append(completed[following])
            following += 1
        business_type = plan.scenario.business_type
        if business_type not in CONTINUING or not ready:
            continue
        taken = int(rng.random() * len(ready))
        ready[taken], ready[-1] = ready[-1], ready[taken]
        plan.previous = earlier = ready.pop()
        plan.channel_id, plan.product_id, plan.cert_kind = earlier.channel_id, earlier.product_id, earlier.cert_kind
        if business_type in REASONS:
            codes, weights = zip(*REASONS[business_type], strict=True)
            plan.reason = rng.choices(codes, weights)[0]
