"""agent.wiping.run on SoftHSM2 keys, against a back office in the test process: a programmed key
sent back is wiped (nothing left on it, private objects included, and the transport SO PIN back),
so that it is programmed again like a blank key; each failure leaves the key as it was."""
from __future__ import annotations

import shutil

import pytest

from agent import programming, wiping
from agent.programming import Outcome
from agent.tokens import UserPinNotSet, WrongPin
from protocol.station import Wipe
from tests.agent.conftest import TRANSPORT_SO_PIN


def programmed_key(keys, backoffice, make_job):
    """A blank key programmed by a job (its own SO PIN, a key pair, its certificate and chain): the job."""
    job = make_job(keys.blank())
    assert programming.run(job, keys.station, backoffice) is Outcome.VERIFIED
    backoffice.events.clear()
    return job


def wipe_for(job, **fields) -> Wipe:
    return Wipe(**{"wipe_id": "W1", "media_serial": job.media_serial,
                   "current_so_pins": [job.so_pin, TRANSPORT_SO_PIN], "transport_so_pin": TRANSPORT_SO_PIN,
                   "pin_tries_left": 9, **fields})


def objects_seen_by_so(keys, serial: str) -> int:
    token = keys.station.token(serial)
    keys.station.close_sessions(token)
    with token.open(rw=True, so_pin=TRANSPORT_SO_PIN) as session:
        return sum(1 for _obj in session.get_objects())


def test_a_programmed_key_is_wiped_to_a_blank_key_with_the_transport_so_pin(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    assert wiping.run(wipe_for(job), keys.station, backoffice) is Outcome.VERIFIED
    [(kind, wipe_id, done)] = backoffice.events
    assert (kind, wipe_id, done.wrong_pins) == ("wiped", "W1", [])  # the SO PIN on file opened it

    serial = job.media_serial
    keys.station.check_so_pin(serial, TRANSPORT_SO_PIN)  # the transport SO PIN is back
    with pytest.raises(WrongPin):
        keys.station.check_so_pin(serial, job.so_pin)  # the job's is gone
    with pytest.raises(UserPinNotSet):  # no user PIN, as a key from the supplier
        with keys.station.user_session(serial, job.user_pin):
            pass
    assert objects_seen_by_so(keys, serial) == 0
    keys.station.refresh()
    [seen] = [token for token in keys.station.present() if token.serial == serial]
    assert seen.blank and seen.label == ""  # the station offers it as a blank key again

    again = make_job(serial, current_so_pins=[TRANSPORT_SO_PIN])  # programmed again like a shelf key
    assert programming.run(again, keys.station, backoffice) is Outcome.VERIFIED


def test_the_emptiness_check_sees_private_objects(keys, backoffice, make_job):
    """objects_after_init counts what only a user login shows: on a programmed key it finds the key pair
    (its private key too) and the certificates, and leaves the key initialised and empty."""
    job = programmed_key(keys, backoffice, make_job)
    assert keys.station.objects_after_init(job.media_serial, job.so_pin, "") == 5  # 2 keys, 3 certificates
    with pytest.raises(UserPinNotSet):
        with keys.station.user_session(job.media_serial, job.user_pin):
            pass


def test_a_key_wiped_already_is_wiped_again_counting_the_wrong_so_pin(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    assert wiping.run(wipe_for(job), keys.station, backoffice) is Outcome.VERIFIED
    backoffice.events.clear()
    assert wiping.run(wipe_for(job), keys.station, backoffice) is Outcome.VERIFIED
    [(kind, _id, done)] = backoffice.events
    assert kind == "wiped" and done.wrong_pins == [{"pin": "so"}]
    keys.station.check_so_pin(job.media_serial, TRANSPORT_SO_PIN)


def test_a_key_of_an_unknown_so_pin_is_left_as_it_is(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    wipe = wipe_for(job, current_so_pins=["not-this", "nor-this"])
    assert wiping.run(wipe, keys.station, backoffice) is Outcome.FAILED
    [(kind, _id, failure)] = backoffice.events
    assert kind == "wipe_failed" and failure.error == "so_pin_unknown"
    assert failure.wrong_pins == [{"pin": "so"}, {"pin": "so"}]
    keys.station.check_so_pin(job.media_serial, job.so_pin)  # untouched
    with keys.station.user_session(job.media_serial, job.user_pin) as key:
        assert len(key.certificates()) == 3


def test_no_pin_is_tried_when_a_wrong_one_would_lock_the_key(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    assert wiping.run(wipe_for(job, pin_tries_left=1), keys.station, backoffice) is Outcome.FAILED
    [(_kind, _id, failure)] = backoffice.events
    assert failure.error == "pin_locked" and failure.wrong_pins == []
    keys.station.check_so_pin(job.media_serial, job.so_pin)


def test_a_key_not_plugged_in_fails_the_wipe(keys, backoffice, make_job):
    job = programmed_key(keys, backoffice, make_job)
    [folder] = list(keys.folder.iterdir())
    shutil.move(folder, keys.folder.parent / "pulled")
    keys.station.refresh()
    assert wiping.run(wipe_for(job), keys.station, backoffice) is Outcome.FAILED
    [(kind, _id, failure)] = backoffice.events
    assert (kind, failure.error) == ("wipe_failed", "token_not_found")
