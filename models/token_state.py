"""The USB key's (token's) life, as one transition table beside the order's (models.order_state).

A key comes blank from the vendor (transport SO PIN, no objects), is bound to one order when the
station starts programming it, programmed once its certificate is written and verified, then
shipped and in use (active). Keys get lost, damaged or locked (too many wrong PINs), and a key whose
certificate is revoked is revoked. Wiping a job puts its key back to blank; a key that comes back
(returned, damaged, renewed or unlocked at the station) is bound again. A revoked key sent back is
blank again once the station's agent has wiped it and checked it empty (station.returns).
"""
from __future__ import annotations

import enum
import secrets


class TokenState(enum.StrEnum):
    BLANK = "blank"
    BOUND = "bound"
    PROGRAMMED = "programmed"
    SHIPPED = "shipped"
    ACTIVE = "active"
    LOST = "lost"
    DAMAGED = "damaged"
    LOCKED = "locked"
    REVOKED = "revoked"


T = TokenState
TOKEN_TRANSITIONS: dict[TokenState, frozenset[TokenState]] = {
    T.BLANK: frozenset({T.BOUND, T.DAMAGED}),
    T.BOUND: frozenset({T.PROGRAMMED, T.BLANK, T.DAMAGED, T.LOCKED}),
    T.PROGRAMMED: frozenset({T.SHIPPED, T.BOUND, T.DAMAGED, T.LOCKED, T.REVOKED}),
    T.SHIPPED: frozenset({T.ACTIVE, T.PROGRAMMED, T.BOUND, T.LOST, T.DAMAGED}),
    T.ACTIVE: frozenset({T.BOUND, T.LOCKED, T.LOST, T.DAMAGED, T.REVOKED}),
    T.LOCKED: frozenset({T.ACTIVE, T.BOUND, T.DAMAGED, T.REVOKED}),
    T.LOST: frozenset({T.REVOKED}),
    T.DAMAGED: frozenset({T.REVOKED}),
    # Only through a verified wipe of a key sent back (station.returns.wiped): C_InitToken erased it,
    # its SO PIN is the transport one again and a login sees nothing on it.
    T.REVOKED: frozenset({T.BLANK}),
}

# A key in one of these states belongs to its order: no other order's job may take it.
HELD = frozenset({T.BOUND, T.PROGRAMMED, T.SHIPPED, T.ACTIVE, T.LOCKED})


class IllegalTokenTransition(Exception):
    def __init__(self, current: TokenState, target: TokenState):
        super().__init__(f"a key cannot go from {current} to {target}")
        self.current = current
        self.target = target


def check_token_transition(current: TokenState, target: TokenState) -> None:
    if target not in TOKEN_TRANSITIONS[current]:
        raise IllegalTokenTransition(current, target)


def new_pin() -> str:
    """A key password or SO PIN the back office makes: 8 random digits, as UKEY PIN pads expect."""
    return "".join(secrets.choice("0123456789") for _ in range(8))
