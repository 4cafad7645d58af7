"""A key locked by wrong user PINs, unlocked: an SO login with the SO PIN it has, C_InitPIN with the
new user PIN, C_SetPIN as SO to the new SO PIN at once (the SO PIN used for the unlock is never used
again), and a user login with the new user PIN checked. Nothing on the key is erased: its key pair and
certificates stay.

Two ways in, one core (`unlock_key`): at the station for a key mailed in (protocol.station.Unlock,
the new user PIN from the back office; reported once, as a wipe is: agent.wiping.run_once), and in
the key helper on the applicant's PC (protocol.helper.UnlockTask, the new user PIN typed there;
reported step by step and failed as the helper's other tasks: agent.renewing.HelperRun).

The SO PINs are tried as a wipe tries them: each wrong one is counted against `pin_tries_left` and
listed in the report's `wrong_pins`, and none is tried when a wrong one would lock a real key. A run
cut off after C_SetPIN finds the new SO PIN on the key next time and ends the same.
"""
from __future__ import annotations

from collections.abc import Callable

from agent.backoffice import BackOffice, HelperBackOffice
from agent.programming import Outcome
from agent.renewing import HelperRun, KeyPasswords
from agent.tokens import Station
from agent.wiping import opening_so_pin, run_once
from protocol.helper import HelperStep, Task
from protocol.station import Unlock, UnlockDone


def run(unlock: Unlock, station: Station, backoffice: BackOffice, *,
        log: Callable[[str], None] = lambda line: None) -> Outcome:
    """Unlock the key and report how it went (VERIFIED: the new user PIN logs in)."""
    return run_once(f"unlock {unlock.unlock_id}",
                    lambda wrong_pins: unlock_key(station, unlock.media_serial, unlock.current_so_pins,
                                                  unlock.pin_tries_left, wrong_pins, unlock.user_pin, unlock.so_pin),
                    lambda wrong_pins: backoffice.unlocked(unlock.unlock_id, UnlockDone(wrong_pins=wrong_pins)),
                    lambda report: backoffice.unlock_failed(unlock.unlock_id, report), log)


def run_helper(task: Task, station: Station, backoffice: HelperBackOffice, user_pin: str, *,
               passwords: KeyPasswords | None = None, log: Callable[[str], None] = lambda line: None) -> Outcome:
    """The key helper's unlock task, with the new key password `user_pin` typed by the applicant;
    USER_PIN_RESET and SO_PIN_ROTATED reported as done, then `unlocked`. The new password is held in
    `passwords` for the rest of the session."""
    order = task.unlock
    assert order is not None

    def work(helper_run: HelperRun) -> None:
        def reached(step: HelperStep, **detail) -> None:
            helper_run.report(step, **detail)
            helper_run.doing = _NEXT.get(step)

        helper_run.doing = HelperStep.USER_PIN_RESET
        unlock_key(station, order.media_serial, order.current_so_pins, order.pin_tries_left, helper_run.wrong_pins,
                   user_pin, order.so_pin, reached=reached)
        if passwords is not None:
            passwords.held[order.media_serial] = user_pin
        backoffice.unlocked(task.task_id, UnlockDone(wrong_pins=helper_run.take_wrong_pins()))

    return HelperRun(task.task_id, backoffice, log).run(work)


_NEXT = {HelperStep.USER_PIN_RESET: HelperStep.SO_PIN_ROTATED}


def unlock_key(station: Station, serial: str, current_so_pins: list[str], tries_left: int, wrong_pins: list[dict],
               user_pin: str, new_so_pin: str, *, reached: Callable[..., None] = lambda step, **detail: None) -> None:
    """The unlock on the key `serial`: the SO PIN that opens it (of `current_so_pins`, each wrong one
    counted in `wrong_pins`), C_InitPIN with `user_pin`, C_SetPIN to `new_so_pin`, a user login
    checked. `reached(step, **detail)` is told USER_PIN_RESET and SO_PIN_ROTATED as they are done."""
    station.token(serial)  # TokenNotFound before any PIN is tried
    so_pin = opening_so_pin(current_so_pins, tries_left, wrong_pins, lambda pin: station.check_so_pin(serial, pin))
    station.init_user_pin(serial, so_pin, user_pin)
    reached(HelperStep.USER_PIN_RESET)
    if so_pin != new_so_pin:
        station.set_so_pin(serial, so_pin, new_so_pin)
        reached(HelperStep.SO_PIN_ROTATED)
    else:
        reached(HelperStep.SO_PIN_ROTATED, skipped=True, reason="the key has the new SO PIN already")
    with station.user_session(serial, user_pin):
        pass
