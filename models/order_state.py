"""Order statuses and the one state machine every status change goes through."""
from __future__ import annotations

import enum


class BusinessType(enum.StrEnum):
    NEW = "new"
    RENEWAL = "renewal"
    UNLOCK = "unlock"
    REPLACEMENT = "replacement"
    INFO_CHANGE = "info_change"
    REVOCATION = "revocation"


class CertKind(enum.StrEnum):
    UNIT = "unit"
    PERSONAL = "personal"

    @property
    def order_letter(self) -> str:
        return "U" if self is CertKind.UNIT else "P"


class OrderStatus(enum.StrEnum):
    AWAITING_MATERIALS = "awaiting_materials"
    AWAITING_SIGNATURE = "awaiting_signature"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"  # waiting for review
    IN_REVIEW = "in_review"
    MORE_MATERIALS_NEEDED = "more_materials_needed"
    APPROVED = "approved"
    REJECTED = "rejected"
    PROGRAMMING = "programming"  # a station job took it
    PROGRAMMED = "programmed"  # the key is programmed and verified, to be shipped
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_MATERIALS: frozenset({S.AWAITING_SIGNATURE, S.CANCELLED}),
    # A re-opened upload (a material replaced before signing) goes back a step.
    S.AWAITING_SIGNATURE: frozenset({S.AWAITING_PAYMENT, S.AWAITING_MATERIALS, S.CANCELLED}),
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    # An order that needs no review (a renewal: the key login identified it) is approved once paid.
    S.PAID: frozenset({S.IN_REVIEW, S.APPROVED}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.MORE_MATERIALS_NEEDED, S.PAID}),
    # Materials asked for and not sent within the request's days: cancelled (review.material_deadlines).
    S.MORE_MATERIALS_NEEDED: frozenset({S.IN_REVIEW, S.PAID, S.CANCELLED}),
    # A key to program goes to the station; an approval with nothing to ship (a revocation) is
    # done once its effect is (models.business).
    S.APPROVED: frozenset({S.PROGRAMMING, S.COMPLETED}),
    # A job wiped and given up puts the order back in the station's queue.
    S.PROGRAMMING: frozenset({S.PROGRAMMED, S.APPROVED}),
    # A key programmed at the applicant's PC (the key helper) has nothing to ship.
    S.PROGRAMMED: frozenset({S.SHIPPED, S.PROGRAMMING, S.COMPLETED}),
    # A parcel returned or undeliverable: the key waits to be shipped again.
    S.SHIPPED: frozenset({S.COMPLETED, S.PROGRAMMED}),
    S.REJECTED: frozenset(),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Statuses in which the applicant may still change what they submitted.
APPLICANT_EDITABLE = frozenset({S.AWAITING_MATERIALS, S.AWAITING_SIGNATURE})
UNPAID = frozenset({S.AWAITING_MATERIALS, S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT})
# Statuses an order never leaves: everything else is an open order.
CLOSED = frozenset(status for status, onward in TRANSITIONS.items() if not onward)


class IllegalTransition(Exception):
    def __init__(self, current: OrderStatus, target: OrderStatus):
        super().__init__(f"an order cannot go from {current} to {target}")
        self.current = current
        self.target = target


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
