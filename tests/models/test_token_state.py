"""The USB key's life: one transition table, checked and audited in Token.move_to."""
from __future__ import annotations

import itertools

import pytest

from models import Token, TokenState
from models.token_state import TOKEN_TRANSITIONS, IllegalTokenTransition, check_token_transition

T = TokenState


def test_the_life_of_a_key_is_allowed():
    path = [T.BLANK, T.BOUND, T.PROGRAMMED, T.SHIPPED, T.ACTIVE, T.LOCKED, T.ACTIVE, T.LOST, T.REVOKED]
    for current, target in itertools.pairwise(path):
        check_token_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [
    (T.BLANK, T.PROGRAMMED),  # never programmed without being bound to an order
    (T.BLANK, T.SHIPPED),
    (T.REVOKED, T.BOUND),  # a revoked key is never used again
    (T.LOST, T.ACTIVE),
    (T.DAMAGED, T.BOUND),
])
def test_illegal_moves_are_refused_and_leave_the_key_alone(db_session, current, target):
    token = Token(serial="S-illegal", model="m", state=current)
    db_session.add(token)
    with pytest.raises(IllegalTokenTransition):
        token.move_to(target, "test")
    assert token.state is current


def test_every_state_has_its_row_and_a_revoked_key_only_goes_back_to_blank():
    assert set(TOKEN_TRANSITIONS) == set(TokenState)
    assert TOKEN_TRANSITIONS[T.REVOKED] == frozenset({T.BLANK})  # wiped once it came back
    assert all(T.REVOKED in TOKEN_TRANSITIONS[s] for s in (T.PROGRAMMED, T.ACTIVE, T.LOCKED, T.LOST, T.DAMAGED))


def test_a_move_is_audited(db_session):
    from models import AuditEntry

    token = Token(serial="S-audited", model="m")
    db_session.add(token)
    db_session.flush()
    token.move_to(T.BOUND, "staff:test", note="job J1")
    db_session.flush()
    entry = db_session.query(AuditEntry).filter_by(target="token:S-audited").one()
    assert (entry.action, entry.before, entry.after, entry.note) == (
        "token.state", {"state": "blank"}, {"state": "bound"}, "job J1")
