"""A key locked by wrong user PINs and mailed in, unlocked at the station (protocol.station.Unlock):
an SO login with the SO PIN it has, C_InitPIN with the new user PIN, C_SetPIN as SO to the new SO
PIN at once (the SO PIN used for the unlock is never used again), and a user login with the new user
PIN checked. Nothing on the key is erased: its key pair and certificates stay. Reported once, as a
wipe is (agent.wiping.run_once).

The SO PINs are tried as a wipe tries them: each wrong one is counted against `pin_tries_left` and
listed in the report's `wrong_pins`, and none is tried when a wrong one would lock a real key. A run
cut off after C_SetPIN finds the new SO PIN on the key next time and ends the same.
"""
from __future__ import annotations

from collections.abc import Callable

from agent.backoffice import BackOffice
from agent.programming import Outcome
from agent.tokens import Station
from agent.wiping import opening_so_pin, run_once
from protocol.station import Unlock, UnlockDone


def run(unlock: Unlock, station: Station, backoffice: BackOffice, *,
        log: Callable[[str], None] = lambda line: None) -> Outcome:
    """Unlock the key and report how it went (VERIFIED: the new user PIN logs in)."""
    return run_once(f"unlock {unlock.unlock_id}", lambda wrong_pins: _unlock(unlock, station, wrong_pins),
                    lambda wrong_pins: backoffice.unlocked(unlock.unlock_id, UnlockDone(wrong_pins=wrong_pins)),
                    lambda report: backoffice.unlock_failed(unlock.unlock_id, report), log)


def _unlock(unlock: Unlock, station: Station, wrong_pins: list[dict]) -> None:
    serial = unlock.media_serial
    station.token(serial)  # TokenNotFound before any PIN is tried
    so_pin = opening_so_pin(unlock.current_so_pins, unlock.pin_tries_left, wrong_pins,
                            lambda pin: station.check_so_pin(serial, pin))
    station.init_user_pin(serial, so_pin, unlock.user_pin)
    if so_pin != unlock.so_pin:
        station.set_so_pin(serial, so_pin, unlock.so_pin)
    with station.user_session(serial, unlock.user_pin):
        pass
