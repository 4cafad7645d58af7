"""agent.programming.run on SoftHSM2 keys, against a back office in the test process: a fresh run,
runs resumed from each state a cut-off run leaves, wipe, and each failure."""
from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from asn1crypto import csr as asn1_csr
from cryptography import x509

from agent import programming
from agent.backoffice import JobTaken, Refused, SigningUnavailable
from agent.programming import Outcome
from agent.tokens import WrongPin
from protocol.station import STEPS, Step
from tests.agent.conftest import TRANSPORT_SO_PIN, Cut, pem

ALL_BUT_VERIFIED = [step for step in STEPS if step is not Step.VERIFIED]


def run(job, keys, backoffice) -> Outcome:
    return programming.run(job, keys.station, backoffice)


def token_state(keys, job) -> tuple[list, list[bytes]]:
    """The key pairs and the certificates (DER) on the job's token."""
    with keys.station.user_session(job.media_serial, job.user_pin) as key:
        return key.key_pairs(), [c.der for c in key.certificates()]


def assert_programmed(keys, backoffice, job) -> None:
    """The token holds one key pair, its certificate (as finished) and the chain; the PINs are the job's."""
    [finished] = [event[2] for event in backoffice.events if event[0] == "finish" and event[1] == job.job_id]
    certificate = x509.load_pem_x509_certificate(finished.certificate_pem.encode())
    pairs, certificates = token_state(keys, job)
    assert len(pairs) == 1 and pairs[0].key_id == bytes.fromhex(job.key_id) and pairs[0].has_private
    ders = {c.public_bytes(_der()) for c in (certificate, backoffice.ca.issuing, backoffice.ca.root)}
    assert set(certificates) == ders and len(certificates) == 3
    keys.station.check_so_pin(job.media_serial, job.so_pin)
    assert keys.station.token(job.media_serial).label == job.token_label


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def test_a_fresh_run_programs_a_blank_key_and_reports_every_step_in_order(keys, backoffice, make_job):
    job = make_job(keys.blank())
    assert run(job, keys, backoffice) is Outcome.VERIFIED
    assert backoffice.steps() == ALL_BUT_VERIFIED and backoffice.skipped() == []
    assert backoffice.calls("certificate") == 1 and backoffice.failures() == [] and backoffice.wrong_pins() == []
    assert_programmed(keys, backoffice, job)
    with pytest.raises(WrongPin):  # the transport SO PIN is gone
        keys.station.check_so_pin(job.media_serial, TRANSPORT_SO_PIN)
    [request] = [event[2] for event in backoffice.events if event[0] == "certificate"]
    csr = x509.load_pem_x509_csr(request.csr_pem.encode())
    assert csr.is_signature_valid  # and it carries the job's subject, in its order, the country printable
    assert [(a.oid.dotted_string, a.value) for a in csr.subject] == [tuple(pair) for pair in job.subject]
    rdns = asn1_csr.CertificationRequest.load(csr.public_bytes(_der()))["certification_request_info"]["subject"].chosen
    assert [rdn[0]["value"].name for rdn in rdns] == ["printable_string", "utf8_string", "utf8_string"]


# A run cut off after each of these steps leaves the token in one of the states a resume must handle.
CUT_AFTER = {
    Step.TOKEN_INITIALISED: "initialised, the SO PIN not changed",
    Step.SO_PIN_SET: "the SO PIN changed, no user PIN",
    Step.KEY_GENERATED: "a key pair without a certificate",
    Step.CERTIFICATE_ISSUED: "a certificate issued, not written",
    Step.CHAIN_WRITTEN: "all written, not verified",
}


@pytest.mark.parametrize("cut_after", list(CUT_AFTER), ids=[str(step) for step in CUT_AFTER])
def test_a_run_cut_off_is_resumed_from_the_state_it_left(keys, backoffice, make_job, cut_after):
    job = make_job(keys.blank())

    def cut():
        raise Cut(cut_after)

    backoffice.on_step[cut_after] = cut
    with pytest.raises(Cut):
        run(job, keys, backoffice)
    backoffice.on_step.clear()
    issued = backoffice.issued.get(job.job_id)
    # The back office hands the job out again, with the certificate it holds for it, if any.
    resumed = replace(job, resume=True, certificate_pem=pem(issued) if issued else None,
                      chain_pem=backoffice.ca.chain_pem if issued else [])
    backoffice.events.clear()

    assert run(resumed, keys, backoffice) is Outcome.VERIFIED
    assert backoffice.steps() == ALL_BUT_VERIFIED and backoffice.failures() == []
    assert_programmed(keys, backoffice, resumed)
    first = backoffice.reports()[2]  # TOKEN_INITIALISED
    if cut_after is Step.TOKEN_INITIALISED:
        # no user PIN yet (not a wrong try); the job's SO PIN is tried first and is wrong
        assert first.wrong_pins == [{"pin": "so"}] and backoffice.skipped() == []
    elif cut_after is Step.SO_PIN_SET:
        assert first.wrong_pins == [] and backoffice.skipped() == [Step.SO_PIN_SET]
    else:  # the user PIN works: the PINs were set
        assert backoffice.wrong_pins() == []
        assert backoffice.skipped()[:3] == [Step.TOKEN_INITIALISED, Step.SO_PIN_SET, Step.USER_PIN_SET]
    if issued is not None:  # its key pair kept: no new key, no new request
        assert backoffice.calls("certificate") == 0
        assert set(backoffice.skipped()) >= {Step.GENERATING, Step.KEY_GENERATED, Step.REQUEST_SIGNED,
                                             Step.CERTIFICATE_ISSUED}
        assert backoffice.finished()[0].certificate_pem == pem(issued)
    else:
        assert backoffice.calls("certificate") == 1


def test_a_resume_with_a_wrong_user_pin_counts_it_and_starts_afresh(keys, backoffice, make_job):
    job = make_job(keys.blank())
    assert run(job, keys, backoffice) is Outcome.VERIFIED
    backoffice.events.clear()
    again = make_job(job.media_serial, user_pin="another-pin", resume=True, current_so_pins=[job.so_pin],
                     pin_tries_left=5)
    assert run(again, keys, backoffice) is Outcome.VERIFIED
    assert backoffice.reports()[2].wrong_pins == [{"pin": "user"}, {"pin": "so"}]  # the user PIN, then its SO PIN
    assert_programmed(keys, backoffice, again)


def test_a_resume_whose_certificate_key_is_gone_makes_a_new_key(keys, backoffice, make_job, ca):
    job = make_job(keys.blank())
    assert run(job, keys, backoffice) is Outcome.VERIFIED
    other = ca.issue(backoffice.events[[e[0] for e in backoffice.events].index("certificate")][2].csr_pem)
    with keys.station.user_session(job.media_serial, job.user_pin) as key:
        key.clear_except(None)
    backoffice.events.clear()
    resumed = replace(job, resume=True, certificate_pem=pem(other), chain_pem=ca.chain_pem)
    assert run(resumed, keys, backoffice) is Outcome.VERIFIED
    assert backoffice.calls("certificate") == 1 and Step.GENERATING not in backoffice.skipped()
    assert_programmed(keys, backoffice, resumed)


def test_wipe_starts_afresh_on_a_programmed_key(keys, backoffice, make_job):
    job = make_job(keys.blank())
    assert run(job, keys, backoffice) is Outcome.VERIFIED
    old_pairs, _ = token_state(keys, job)
    backoffice.events.clear()
    wipe = make_job(job.media_serial, wipe=True, resume=True, current_so_pins=[TRANSPORT_SO_PIN, job.so_pin])
    assert run(wipe, keys, backoffice) is Outcome.VERIFIED
    assert backoffice.steps() == ALL_BUT_VERIFIED and backoffice.skipped() == []
    assert_programmed(keys, backoffice, wipe)
    [pair], _ = token_state(keys, wipe)
    assert pair.public_key.dump() != old_pairs[0].public_key.dump()


def test_a_key_not_plugged_in_fails_the_job(keys, backoffice, make_job):
    keys.blank()
    assert run(make_job("0123456789abcdef"), keys, backoffice) is Outcome.FAILED
    [failure] = backoffice.failures()
    assert (failure.error, failure.step) == ("token_not_found", Step.DETECTED)
    assert backoffice.steps() == [Step.CLAIMED]


def test_a_key_of_an_unknown_so_pin_is_left_alone_and_each_wrong_try_reported(keys, backoffice, make_job):
    serial = keys.blank(so_pin="the-applicants-own")
    job = make_job(serial, current_so_pins=[TRANSPORT_SO_PIN, "on-file"])
    assert run(job, keys, backoffice) is Outcome.FAILED
    [failure] = backoffice.failures()
    assert (failure.error, failure.step) == ("so_pin_unknown", Step.TOKEN_INITIALISED)
    assert failure.wrong_pins == [{"pin": "so"}, {"pin": "so"}]
    keys.station.check_so_pin(serial, "the-applicants-own")
    assert [t.blank for t in keys.station.present()] == [True]  # nothing was erased


@pytest.mark.parametrize(("tries_left", "wrong"), [(3, 2), (2, 1), (1, 0)])
def test_no_pin_is_tried_when_a_wrong_one_would_lock_the_key(keys, backoffice, make_job, tries_left, wrong):
    serial = keys.blank()
    job = make_job(serial, current_so_pins=["wrong-1", "wrong-2", TRANSPORT_SO_PIN], pin_tries_left=tries_left)
    assert run(job, keys, backoffice) is Outcome.FAILED
    [failure] = backoffice.failures()
    assert (failure.error, failure.step) == ("pin_locked", Step.TOKEN_INITIALISED)
    assert failure.wrong_pins == [{"pin": "so"}] * wrong


def test_the_last_try_before_the_limit_may_be_the_right_pin(keys, backoffice, make_job):
    job = make_job(keys.blank(), current_so_pins=["wrong-1", TRANSPORT_SO_PIN], pin_tries_left=3)
    assert run(job, keys, backoffice) is Outcome.VERIFIED
    assert backoffice.reports()[2].wrong_pins == [{"pin": "so"}]


def test_a_key_pulled_mid_run_fails_the_job(keys, backoffice, make_job):
    job = make_job(keys.blank())

    def pull():
        shutil.move(keys.folder, keys.folder.with_name("pulled"))
        keys.folder.mkdir()

    backoffice.on_step[Step.KEY_GENERATED] = pull
    assert run(job, keys, backoffice) is Outcome.FAILED
    [failure] = backoffice.failures()
    assert (failure.error, failure.step) == ("token_pulled", Step.REQUEST_SIGNED)


@pytest.mark.parametrize(("error", "code"), [(SigningUnavailable("down"), "signing_unavailable"),
                                             (Refused("subject_mismatch", "not the reviewed subject"), "refused")])
def test_a_certificate_refused_or_unavailable_fails_the_job(keys, backoffice, make_job, error, code):
    backoffice.certificate_error = error
    assert run(make_job(keys.blank()), keys, backoffice) is Outcome.FAILED
    [failure] = backoffice.failures()
    assert (failure.error, failure.step) == (code, Step.CERTIFICATE_ISSUED)


def test_a_job_taken_away_stops_quietly(keys, backoffice, make_job):
    backoffice.certificate_error = JobTaken("wiped by staff")
    assert run(make_job(keys.blank()), keys, backoffice) is Outcome.TAKEN
    assert backoffice.failures() == [] and backoffice.finished() == []


def test_one_rsa_2048_job(keys, backoffice, make_job):
    from protocol.station import KeyType

    job = make_job(keys.blank(), key_type=KeyType.RSA_2048)
    assert run(job, keys, backoffice) is Outcome.VERIFIED
    assert_programmed(keys, backoffice, job)
    certificate = x509.load_pem_x509_certificate(backoffice.finished()[0].certificate_pem.encode())
    assert certificate.public_key().key_size == 2048
