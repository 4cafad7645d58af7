"""Every status change goes through the one state machine."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import Order, OrderStatus
from models.order_state import TRANSITIONS, IllegalTransition, check_transition

S = OrderStatus
HAPPY_PATH = [S.AWAITING_MATERIALS, S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT, S.PAID,
              S.IN_REVIEW, S.APPROVED, S.PROGRAMMING, S.PROGRAMMED, S.SHIPPED, S.COMPLETED]


def test_happy_path_is_allowed_and_stamped():
    order = Order(status=S.AWAITING_MATERIALS)
    for target in HAPPY_PATH[1:]:
        order.move_to(target, actor="test")
    assert order.status == S.COMPLETED
    assert order.signed_at and order.paid_at and order.completed_at
    assert [e.after["status"] for e in order.audit_entries] == [str(s) for s in HAPPY_PATH[1:]]


@pytest.mark.parametrize("current,target", [
    (S.AWAITING_MATERIALS, S.AWAITING_PAYMENT),  # no skipping the signature
    (S.AWAITING_PAYMENT, S.IN_REVIEW),  # no review before payment
    (S.PAID, S.CANCELLED),  # a paid order is refunded, not cancelled
    (S.REJECTED, S.APPROVED),
    (S.CANCELLED, S.AWAITING_PAYMENT),
    (S.COMPLETED, S.PROGRAMMING),
])
def test_illegal_transitions_are_refused_and_leave_the_order_alone(current, target):
    order = Order(status=current)
    with pytest.raises(IllegalTransition):
        order.move_to(target, actor="test")
    assert order.status == current and order.audit_entries == []


def test_only_unpaid_orders_and_those_whose_materials_never_came_can_be_cancelled():
    cancellable = {s for s, targets in TRANSITIONS.items() if S.CANCELLED in targets}
    assert cancellable == {S.AWAITING_MATERIALS, S.AWAITING_SIGNATURE, S.AWAITING_PAYMENT, S.MORE_MATERIALS_NEEDED}


def test_every_status_is_reachable_from_the_start():
    seen, frontier = {S.AWAITING_MATERIALS}, [S.AWAITING_MATERIALS]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(S)


@given(st.lists(st.sampled_from(list(S)), max_size=30))
def test_any_sequence_of_requests_keeps_the_order_on_the_graph(requests):
    order = Order(status=S.AWAITING_MATERIALS)
    for target in requests:
        before = order.status
        try:
            order.move_to(target, actor="test")
        except IllegalTransition:
            assert order.status == before
        else:
            check_transition(before, target)
            assert order.status == target
