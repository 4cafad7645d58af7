"""The key helper's token work (agent.renewing, agent.unlocking.run_helper, agent.tokens.keys_on_pc)
on SoftHSM2 keys programmed by the station with a real certificate, against a back office in the
test process: the keys listed without a login, the key login's proof, the renewal (the new key pair
and certificate on the key, the old ones gone only once the new one verifies, resumed from wherever
it was cut off) and the unlock with a key password typed on the PC."""
from __future__ import annotations

import os
from dataclasses import replace

import pytest
from cryptography import x509

from agent import renewing, unlocking
from agent.backoffice import Refused
from agent.programming import Outcome
from agent.renewing import KeyPasswords
from agent.tokens import WrongPin
from protocol.helper import HelperStep, LoginTask, RenewTask, Task, TaskKind, UnlockTask
from protocol.station import KeyType
from tests.agent.conftest import Cut, pem
from tests.agent.helper_backoffice import FakeHelperBackOffice, check_signature
from tests.agent.test_wiping import programmed_key

RENEWAL_STEPS = [HelperStep.LOGGED_IN, HelperStep.KEY_GENERATED, HelperStep.REQUEST_SIGNED,
                 HelperStep.CERTIFICATE_ISSUED, HelperStep.CERTIFICATE_WRITTEN, HelperStep.CHAIN_WRITTEN,
                 HelperStep.VERIFIED, HelperStep.OLD_KEY_DELETED]


@pytest.fixture
def programmed(keys, backoffice, make_job):
    """A key programmed at the station: (the job, its certificate)."""
    job = programmed_key(keys, backoffice, make_job)
    return job, backoffice.issued[job.job_id]


@pytest.fixture
def helper_backoffice(ca, programmed) -> FakeHelperBackOffice:
    fake = FakeHelperBackOffice(ca)
    certificate = programmed[1]
    fake.certificates[format(certificate.serial_number, "x")] = certificate
    return fake


def typed(*pins: str):
    """ask(prompt) answering with `pins` in turn (EOFError after), and the prompts it was given."""
    prompts, left = [], list(pins)

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        if not left:
            raise EOFError
        return left.pop(0)

    return ask, prompts


def renew_task(job, certificate, **fields) -> Task:
    renew = RenewTask(media_serial=job.media_serial, certificate_serial=format(certificate.serial_number, "x"),
                      key_type=KeyType.EC_P256, key_id=os.urandom(16).hex(),
                      subject=[["2.5.4.6", "CN"], ["2.5.4.3", "郑州测试有限公司 (renewed)"]],
                      challenge=os.urandom(32).hex(), pin_tries_left=9)
    return Task(task_id="T-renew", kind=TaskKind.RENEW, renew=replace(renew, **fields))


def on_key(keys, job) -> tuple[list, list[bytes]]:
    """The key pairs and the certificates (DER) on the key, logged in with its (unchanged) password."""
    with keys.station.user_session(job.media_serial, job.user_pin) as key:
        return key.key_pairs(), [c.der for c in key.certificates()]


def der(certificate: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return certificate.public_bytes(Encoding.DER)


def assert_renewed(keys, job, old: x509.Certificate, new: x509.Certificate, task: Task, ca) -> None:
    pairs, certificates = on_key(keys, job)
    assert [(pair.key_id, pair.has_private) for pair in pairs] == [(bytes.fromhex(task.renew.key_id), True)]
    assert sorted(certificates) == sorted([der(new), der(ca.issuing), der(ca.root)])
    assert der(old) not in certificates


# --- listing and login ---------------------------------------------------------------------------


def test_the_keys_are_listed_with_their_own_certificate_and_no_password(keys, programmed):
    job, certificate = programmed
    blank = keys.blank()
    listed = {key.serial: key for key in keys.station.keys_on_pc()}
    assert listed[job.media_serial].certificates == [pem(certificate)]  # not the two CA certificates
    assert listed[job.media_serial].user_pin_locked is False and listed[job.media_serial].model == "SoftHSM v2"
    assert listed[blank].certificates == []


def test_the_login_proof_verifies_with_the_certificate_and_a_wrong_password_raises(keys, programmed):
    job, certificate = programmed
    challenge = os.urandom(32)
    signature = renewing.sign_with_certificate(keys.station, job.media_serial, job.user_pin,
                                               format(certificate.serial_number, "X"), challenge)
    check_signature(certificate, challenge.hex(), signature.hex())
    with pytest.raises(WrongPin):
        renewing.sign_with_certificate(keys.station, job.media_serial, "wrong-pin", format(certificate.serial_number,
                                                                                          "x"), challenge)


def login_task(job, certificate, tries: int = 9) -> Task:
    return Task(task_id="T-login", kind=TaskKind.LOGIN, login=LoginTask(
        media_serial=job.media_serial, certificate_serial=format(certificate.serial_number, "x"),
        challenge=os.urandom(32).hex(), pin_tries_left=tries))


def test_a_key_login_counts_the_wrong_passwords_and_holds_the_right_one(keys, programmed, helper_backoffice):
    job, certificate = programmed
    task = login_task(job, certificate)
    helper_backoffice.tasks[task.task_id] = task
    ask, prompts = typed("wrong-one", job.user_pin)
    passwords = KeyPasswords(ask)
    assert renewing.login(task, keys.station, helper_backoffice, passwords) is Outcome.VERIFIED
    [(kind, _id, proof)] = helper_backoffice.events
    assert kind == "login" and proof.wrong_pins == [{"pin": "user"}]  # the proof itself was checked
    assert "Wrong key password (8 tries left)" in prompts[1]
    assert job.user_pin not in " ".join(prompts)

    # The renewal that follows does not ask again.
    renew = renew_task(job, certificate)
    helper_backoffice.tasks[renew.task_id] = renew
    assert renewing.run(renew, keys.station, helper_backoffice, passwords) is Outcome.VERIFIED
    assert len(prompts) == 2


def test_no_password_is_asked_when_a_wrong_one_would_lock_the_key(keys, programmed, helper_backoffice):
    job, certificate = programmed
    task = login_task(job, certificate, tries=2)
    helper_backoffice.tasks[task.task_id] = task
    ask, prompts = typed("wrong-one", job.user_pin)
    assert renewing.login(task, keys.station, helper_backoffice, KeyPasswords(ask)) is Outcome.FAILED
    [failure] = helper_backoffice.failures()
    assert (failure.error, failure.step, failure.wrong_pins) == ("wrong_pin", HelperStep.LOGGED_IN, [{"pin": "user"}])
    assert len(prompts) == 1


# --- the renewal ---------------------------------------------------------------------------------


def test_a_renewal_puts_a_new_key_pair_and_certificate_on_the_key_and_then_deletes_the_old(
        keys, programmed, helper_backoffice, ca):
    job, old = programmed
    task = renew_task(job, old)
    helper_backoffice.tasks[task.task_id] = task
    ask, _prompts = typed(job.user_pin)
    assert renewing.run(task, keys.station, helper_backoffice, KeyPasswords(ask)) is Outcome.VERIFIED

    assert helper_backoffice.steps() == RENEWAL_STEPS and helper_backoffice.skipped() == []
    kinds = helper_backoffice.kinds()
    assert kinds.index("finish") < len(kinds) - 1 and kinds[-1] == "step"  # the old key goes after the finish
    new = helper_backoffice.issued[task.task_id]
    assert new.subject.rfc4514_string() == "CN=郑州测试有限公司 (renewed),C=CN"
    assert_renewed(keys, job, old, new, task, ca)  # and the key password is the same
    [listed] = [key for key in keys.station.keys_on_pc() if key.serial == job.media_serial]
    assert listed.certificates == [pem(new)]


# Where a renewal is cut off (the helper killed): after the step's report, or once `finish` was answered.
CUT_AT = [HelperStep.KEY_GENERATED, HelperStep.CERTIFICATE_ISSUED, HelperStep.CERTIFICATE_WRITTEN,
          HelperStep.CHAIN_WRITTEN, HelperStep.VERIFIED, "finish"]


@pytest.mark.parametrize("cut_at", CUT_AT, ids=[str(step) for step in CUT_AT])
def test_a_renewal_cut_off_goes_on_when_run_again(keys, programmed, helper_backoffice, ca, cut_at):
    job, old = programmed
    task = renew_task(job, old)
    helper_backoffice.tasks[task.task_id] = task

    def cut():
        raise Cut(cut_at)

    if cut_at == "finish":
        helper_backoffice.on_finish = cut
    else:
        helper_backoffice.on_step[cut_at] = cut
    with pytest.raises(Cut):
        renewing.run(task, keys.station, helper_backoffice, KeyPasswords(typed(job.user_pin)[0]))
    assert der(old) in on_key(keys, job)[1]  # whatever was done, the old certificate is still there
    helper_backoffice.on_step.clear()
    helper_backoffice.on_finish = None
    issued = helper_backoffice.issued.get(task.task_id)
    again = replace(task, renew=replace(task.renew, certificate_pem=pem(issued) if issued else None,
                                        chain_pem=ca.chain_pem if issued else []))
    helper_backoffice.tasks[task.task_id] = again
    helper_backoffice.events.clear()

    assert renewing.run(again, keys.station, helper_backoffice, KeyPasswords(typed(job.user_pin)[0])) \
        is Outcome.VERIFIED
    assert helper_backoffice.steps() == RENEWAL_STEPS and helper_backoffice.failures() == []
    new = helper_backoffice.issued[task.task_id]
    assert (issued is None) == (helper_backoffice.calls("certificate") == 1)  # issued once in all
    if cut_at in (HelperStep.CHAIN_WRITTEN, HelperStep.VERIFIED, "finish"):
        assert HelperStep.CERTIFICATE_WRITTEN in helper_backoffice.skipped()  # not written twice
    assert_renewed(keys, job, old, new, task, ca)


def test_a_renewal_run_again_after_the_old_key_went_skips_that_step(keys, programmed, helper_backoffice, ca):
    job, old = programmed
    task = renew_task(job, old)
    helper_backoffice.tasks[task.task_id] = task
    assert renewing.run(task, keys.station, helper_backoffice, KeyPasswords(typed(job.user_pin)[0])) \
        is Outcome.VERIFIED
    again = replace(task, renew=replace(task.renew, certificate_pem=pem(helper_backoffice.issued[task.task_id]),
                                        chain_pem=ca.chain_pem))
    helper_backoffice.tasks[task.task_id] = again
    helper_backoffice.events.clear()
    assert renewing.run(again, keys.station, helper_backoffice, KeyPasswords(typed(job.user_pin)[0])) \
        is Outcome.VERIFIED
    assert helper_backoffice.skipped() == RENEWAL_STEPS[1:3 + 1] + [HelperStep.CERTIFICATE_WRITTEN,
                                                                   HelperStep.OLD_KEY_DELETED]
    assert_renewed(keys, job, old, helper_backoffice.issued[task.task_id], task, ca)


def test_the_old_key_stays_when_the_back_office_does_not_accept_the_new_one(keys, programmed, helper_backoffice):
    job, old = programmed
    task = renew_task(job, old)
    helper_backoffice.tasks[task.task_id] = task
    helper_backoffice.finish_error = Refused("signature_invalid", "the challenge does not verify")
    assert renewing.run(task, keys.station, helper_backoffice, KeyPasswords(typed(job.user_pin)[0])) is Outcome.FAILED
    [failure] = helper_backoffice.failures()
    assert (failure.error, failure.step) == ("refused", HelperStep.VERIFIED)
    pairs, certificates = on_key(keys, job)
    assert der(old) in certificates and len(pairs) == 2  # the old pair and the new one, both kept
    assert HelperStep.OLD_KEY_DELETED not in helper_backoffice.steps()


def test_a_certificate_issued_for_a_key_pair_no_longer_there_fails_and_keeps_the_old(
        keys, programmed, helper_backoffice, ca):
    job, old = programmed
    task = renew_task(job, old)
    helper_backoffice.tasks[task.task_id] = task
    helper_backoffice.on_step[HelperStep.CERTIFICATE_ISSUED] = lambda: (_ for _ in ()).throw(Cut())
    with pytest.raises(Cut):
        renewing.run(task, keys.station, helper_backoffice, KeyPasswords(typed(job.user_pin)[0]))
    with keys.station.user_session(job.media_serial, job.user_pin) as key:
        assert key.delete_key_pair(bytes.fromhex(task.renew.key_id)) == 2  # the new pair lost
    again = replace(task, renew=replace(task.renew, certificate_pem=pem(helper_backoffice.issued[task.task_id]),
                                        chain_pem=ca.chain_pem))
    helper_backoffice.on_step.clear()
    helper_backoffice.events.clear()
    assert renewing.run(again, keys.station, helper_backoffice, KeyPasswords(typed(job.user_pin)[0])) \
        is Outcome.FAILED
    [failure] = helper_backoffice.failures()
    assert (failure.error, failure.step) == ("token_error", HelperStep.KEY_GENERATED)
    assert helper_backoffice.calls("certificate") == 0
    pairs, certificates = on_key(keys, job)
    assert der(old) in certificates and len(pairs) == 1


# --- the unlock ----------------------------------------------------------------------------------


def test_a_locked_key_is_unlocked_with_a_password_typed_on_the_pc(keys, programmed, helper_backoffice):
    job, _certificate = programmed
    new_so_pin = "so-rotated-1"
    task = Task(task_id="T-unlock", kind=TaskKind.UNLOCK, unlock=UnlockTask(
        media_serial=job.media_serial, so_pin=new_so_pin, current_so_pins=[job.so_pin, new_so_pin], pin_tries_left=9))
    passwords = KeyPasswords(typed()[0])
    assert unlocking.run_helper(task, keys.station, helper_backoffice, "new-pass-1", passwords=passwords) \
        is Outcome.VERIFIED
    assert helper_backoffice.steps() == [HelperStep.USER_PIN_RESET, HelperStep.SO_PIN_ROTATED]
    assert helper_backoffice.kinds()[-1] == "unlocked"
    with keys.station.user_session(job.media_serial, "new-pass-1") as key:
        assert len(key.certificates()) == 3
    keys.station.check_so_pin(job.media_serial, new_so_pin)
    with pytest.raises(WrongPin):
        keys.station.check_so_pin(job.media_serial, job.so_pin)
    assert passwords.held == {job.media_serial: "new-pass-1"}  # a renewal after it asks nothing
