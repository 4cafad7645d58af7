"""agent.unlocking.run on SoftHSM2 keys, against a back office in the test process: a programmed key
locked by wrong user PINs (as the product counts them: SoftHSM2 itself never locks) is unlocked with
its SO PIN: a new user PIN, a new SO PIN at once, and its key pair and certificates still there."""
from __future__ import annotations

import pytest

from agent import unlocking
from agent.programming import Outcome
from agent.tokens import WrongPin
from protocol.station import PinKind, Unlock
from tests.agent.test_wiping import programmed_key

PIN_LIMIT = 10  # the app's STATION_PIN_LIMIT: real keys lock after 10 wrong PINs
NEW_USER_PIN, NEW_SO_PIN = "87654321", "13572468"


def lock(keys, serial: str) -> list[dict]:
    """The applicant's wrong key passwords, up to the lock: what the agent reports for each."""
    wrong_pins = []
    for _ in range(PIN_LIMIT):
        with pytest.raises(WrongPin) as wrong:
            with keys.station.user_session(serial, "00000000"):
                pass
        wrong_pins.append({"pin": wrong.value.kind.value})
    return wrong_pins


def unlock_for(job, **fields) -> Unlock:
    return Unlock(**{"unlock_id": "U1", "media_serial": job.media_serial, "user_pin": NEW_USER_PIN,
                     "so_pin": NEW_SO_PIN, "current_so_pins": [job.so_pin, NEW_SO_PIN], "pin_tries_left": 9,
                     **fields})


def key_objects(keys, serial: str, user_pin: str) -> tuple[int, int]:
    with keys.station.user_session(serial, user_pin) as key:
        return len(key.key_pairs()), len(key.certificates())


def test_a_locked_key_is_unlocked_with_a_new_user_pin_and_a_new_so_pin(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    serial = job.media_serial
    before = key_objects(keys, serial, job.user_pin)
    assert lock(keys, serial) == [{"pin": PinKind.USER.value}] * PIN_LIMIT  # locked, as the product counts

    assert unlocking.run(unlock_for(job), keys.station, backoffice) is Outcome.VERIFIED
    [(kind, unlock_id, done)] = backoffice.events
    assert (kind, unlock_id, done.wrong_pins) == ("unlocked", "U1", [])  # the SO PIN on file opened it

    with pytest.raises(WrongPin):  # the old user PIN is gone
        with keys.station.user_session(serial, job.user_pin):
            pass
    assert key_objects(keys, serial, NEW_USER_PIN) == before == (1, 3)  # its key pair, certificate and chain
    with pytest.raises(WrongPin):  # the SO PIN of the unlock is used once only
        keys.station.check_so_pin(serial, job.so_pin)
    keys.station.check_so_pin(serial, NEW_SO_PIN)


def test_an_unlock_run_again_finds_the_new_so_pin_and_ends_the_same(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    assert unlocking.run(unlock_for(job), keys.station, backoffice) is Outcome.VERIFIED
    backoffice.events.clear()
    assert unlocking.run(unlock_for(job), keys.station, backoffice) is Outcome.VERIFIED
    [(kind, _id, done)] = backoffice.events
    assert kind == "unlocked" and done.wrong_pins == [{"pin": "so"}]  # the old one, tried first, counted
    keys.station.check_so_pin(job.media_serial, NEW_SO_PIN)
    assert key_objects(keys, job.media_serial, NEW_USER_PIN) == (1, 3)


def test_a_key_of_an_unknown_so_pin_stays_locked(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    unlock = unlock_for(job, current_so_pins=["11111111", "22222222"])
    assert unlocking.run(unlock, keys.station, backoffice) is Outcome.FAILED
    [(kind, _id, report)] = backoffice.events
    assert kind == "unlock_failed" and report.error == "so_pin_unknown"
    assert report.wrong_pins == [{"pin": "so"}, {"pin": "so"}]
    assert key_objects(keys, job.media_serial, job.user_pin) == (1, 3)  # nothing changed
    keys.station.check_so_pin(job.media_serial, job.so_pin)


def test_no_so_pin_is_tried_when_a_wrong_one_would_lock_the_key(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    assert unlocking.run(unlock_for(job, pin_tries_left=1), keys.station, backoffice) is Outcome.FAILED
    [(kind, _id, report)] = backoffice.events
    assert kind == "unlock_failed" and report.error == "pin_locked" and report.wrong_pins == []


def test_a_key_not_plugged_in_fails_without_a_pin_tried(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    assert unlocking.run(unlock_for(job, media_serial="NOSUCHKEY"), keys.station, backoffice) is Outcome.FAILED
    [(kind, _id, report)] = backoffice.events
    assert kind == "unlock_failed" and report.error == "token_not_found" and report.wrong_pins == []
