"""A key sent back after its certificate was revoked, wiped (protocol.station.Wipe) so it can be
programmed again: C_InitToken with the SO PIN it has (everything on it erased, the user PIN unset),
its SO PIN set back to the transport SO PIN the shelf's blank keys carry (C_SetPIN as SO), then
checked empty as a user sees it (agent.tokens.Station.objects_after_init, which initialises it once
more with the transport SO PIN, so the key ends as it came from the supplier). Reported once: done,
or failed with a code of protocol.station.FAILURES.

The SO PINs are tried as a job tries them (agent.programming): each wrong one is counted against
`pin_tries_left` and listed in the report's `wrong_pins`, and none is tried when a wrong one would
lock a real key. Running it again on a key wiped already finds the transport SO PIN and ends the same.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable

from agent.backoffice import BackOffice, BackOfficeError, CredentialRefused, JobTaken
from agent.programming import Failed, Outcome
from agent.tokens import PinLocked, Station, TokenError, WrongPin
from protocol.station import FailureReport, PinKind, Wipe, WipeDone

WIPED_LABEL = ""  # a wiped key carries no label, as a blank one from the supplier


def run(wipe: Wipe, station: Station, backoffice: BackOffice, *,
        log: Callable[[str], None] = lambda line: None) -> Outcome:
    """Wipe the key and report how it went (VERIFIED: wiped and checked empty). CredentialRefused
    goes through (the agent stops)."""
    return run_once(f"wipe {wipe.wipe_id}", lambda wrong_pins: _wipe(wipe, station, wrong_pins),
                    lambda wrong_pins: backoffice.wiped(wipe.wipe_id, WipeDone(wrong_pins=wrong_pins)),
                    lambda report: backoffice.wipe_failed(wipe.wipe_id, report), log)


def run_once(name: str, work: Callable[[list[dict]], None], done: Callable[[list[dict]], None],
             failed: Callable[[FailureReport], None], log: Callable[[str], None]) -> Outcome:
    """A task reported once (a wipe, an unlock): `work(wrong_pins)` on the key, then `done(wrong_pins)`,
    or `failed(report)` with a code of protocol.station.FAILURES. CredentialRefused goes through."""
    wrong_pins: list[dict] = []
    try:
        work(wrong_pins)
        done(wrong_pins)
        return Outcome.VERIFIED
    except JobTaken:
        log(f"{name}: taken away by the back office")
        return Outcome.TAKEN
    except CredentialRefused:
        raise
    except Failed as exc:
        failure = exc
    except WrongPin as exc:  # a PIN that had just worked was refused
        wrong_pins.append({"pin": exc.kind.value})
        failure = Failed("token_error", str(exc))
    except PinLocked as exc:
        failure = Failed("pin_locked", str(exc))
    except TokenError as exc:
        failure = Failed(exc.code, str(exc))
    except BackOfficeError as exc:
        failure = Failed("refused", str(exc))
    except Exception as exc:  # a bug, or a task the agent cannot read: it fails, the agent goes on
        log(traceback.format_exc())
        failure = Failed("token_error", f"the agent failed: {exc!r}")
    log(f"{name}: failed: {failure.code}: {failure}")
    try:
        failed(FailureReport(error=failure.code, message=str(failure), wrong_pins=wrong_pins))
    except CredentialRefused:
        raise
    except BackOfficeError as exc:
        log(f"{name}: the failure report was refused: {exc}")
    return Outcome.FAILED


def opening_so_pin(current_so_pins: list[str], tries_left: int, wrong_pins: list[dict], opens) -> str:
    """The first SO PIN on file that `opens(pin)` the key (a wipe's C_InitToken, an unlock's SO login);
    each wrong one is counted in `wrong_pins`, and none is tried when a wrong one would lock the key."""
    candidates = list(dict.fromkeys(current_so_pins))
    for pin in candidates:
        if tries_left <= 1:
            raise Failed("pin_locked", f"{tries_left} SO PIN tries left: the key would lock at the next wrong PIN, "
                                       "none is tried")
        try:
            opens(pin)
        except WrongPin:
            wrong_pins.append({"pin": PinKind.SO.value})
            tries_left -= 1
            continue
        return pin
    raise Failed("so_pin_unknown", f"none of the {len(candidates)} SO PINs on file opens the key")


def _wipe(wipe: Wipe, station: Station, wrong_pins: list[dict]) -> None:
    serial, transport = wipe.media_serial, wipe.transport_so_pin
    station.token(serial)  # TokenNotFound before any PIN is tried
    so_pin = opening_so_pin(wipe.current_so_pins, wipe.pin_tries_left, wrong_pins,
                            lambda pin: station.init_token(serial, pin, WIPED_LABEL))
    if so_pin != transport:
        station.set_so_pin(serial, so_pin, transport)
    left = station.objects_after_init(serial, transport, WIPED_LABEL)
    if left:
        raise Failed("token_error", f"{left} objects are still on the key after C_InitToken")
