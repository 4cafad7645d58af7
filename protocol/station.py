"""The station protocol: what the back office and a station agent say to each other.

The agent (agent/) runs on the station PC where the USB keys are plugged in and only calls out:
it long-polls the back office for work and reports each step, over HTTP with JSON bodies,
authenticated by its station credential (`Authorization: Bearer <credential>`). This module is the
one thing the two sides share; it uses the standard library only.

    POST {API}/poll        PollRequest  -> PollAnswer   (waits up to `wait` seconds for a job)
    POST {API}/jobs/<id>/steps          StepReports -> {"ok": true}
    POST {API}/jobs/<id>/certificate    CertificateRequest -> CertificateAnswer
    POST {API}/jobs/<id>/finish         FinishRequest -> {"ok": true}
    POST {API}/jobs/<id>/failure        FailureReport -> {"ok": true}
    POST {API}/wipes/<id>/done          WipeDone -> {"ok": true}
    POST {API}/wipes/<id>/failure       FailureReport -> {"ok": true}
    POST {API}/unlocks/<id>/done        UnlockDone -> {"ok": true}
    POST {API}/unlocks/<id>/failure     FailureReport -> {"ok": true}

A poll is answered with a job to program, or a key to wipe (`wipe`: a key sent back after its
certificate was revoked), or a key to unlock (`unlock`: a key locked by wrong user PINs, mailed in),
or neither. An unlock is reported as a wipe is. A wipe has no steps: it is quick, and it is reported once,
done (verified empty) or failed; a repeated report changes nothing.

Step reports go as they are done, several in one call when they come quickly (a key's PINs take
milliseconds), and the reports not sent yet ride along with the next call that waits for an answer
(`reports` of the certificate request, the finish and the failure), recorded before it: the back
office always sees a job's steps in order, and the station does not pay a round trip per step.

Errors are JSON `{"error": code, "message": text}` with HTTP 401 (credential unknown, rotated or
revoked), 409 (the job is no longer this station's to run: stop it), 422 (a refusal: `error` names
the rule) or 503 (the signing service cannot be reached: the job is interrupted, resume later).
"""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field

API = "/station/api/v1"
POLL_WAIT_SECONDS = 20  # the longest the back office holds a poll open
CREDENTIAL_PREFIX = "st1"  # credentials read st1.<station id>.<secret>


class Step(enum.StrEnum):
    """The steps of programming a key, in order; each is reported as it is done."""

    CLAIMED = "claimed"  # the agent took the job
    DETECTED = "detected"  # the token was found by its serial
    TOKEN_INITIALISED = "token_initialised"  # C_InitToken with the SO PIN the token had
    SO_PIN_SET = "so_pin_set"  # C_SetPIN as SO to the job's fresh SO PIN
    USER_PIN_SET = "user_pin_set"  # C_InitPIN with the certificate password
    GENERATING = "generating"  # key pair generation started (it takes a while for RSA)
    KEY_GENERATED = "key_generated"
    REQUEST_SIGNED = "request_signed"  # a PKCS#10 request signed on the token
    CERTIFICATE_ISSUED = "certificate_issued"  # the back office answered with the certificate
    CERTIFICATE_WRITTEN = "certificate_written"
    CHAIN_WRITTEN = "chain_written"
    VERIFIED = "verified"  # read back, and a challenge signed on the token checked


STEPS = list(Step)


class KeyType(enum.StrEnum):
    RSA_2048 = "rsa2048"
    EC_P256 = "ec_p256"


class PinKind(enum.StrEnum):
    USER = "user"
    SO = "so"


@dataclass(frozen=True)
class TokenSeen:
    """A token the agent sees in its slots."""

    serial: str  # the media number (介质号)
    label: str
    model: str  # the token's model string (CK_TOKEN_INFO.model)
    blank: bool  # no objects a public session can see and the transport SO PIN untried: see agent.tokens


@dataclass(frozen=True)
class PollRequest:
    tokens: list[TokenSeen]
    # The job the agent is running, if any: a job the back office believes running on this station
    # that the agent does not name was cut off (the agent was restarted) and becomes interrupted.
    running_job: str | None = None
    wait: float = POLL_WAIT_SECONDS


@dataclass(frozen=True)
class Job:
    """A job handed to the agent: program the token `media_serial` for `order_number`.

    A job may come back after an interruption (`resume`): the token is then in any state a killed
    step left it in, and the agent works out where to go on (see agent.programming). `wipe` asks for
    a fresh start (C_InitToken erases everything). `certificate_pem` is the certificate the back
    office holds for this job already, if any: its key pair on the token is kept, any other deleted.
    """

    job_id: str
    order_number: str
    media_serial: str
    token_label: str
    key_type: KeyType
    key_id: str  # hex: CKA_ID of the key pair and the certificate
    # The request's subject, as the signing service will check it against the reviewed data:
    # [dotted OID, value] pairs, most significant first, one attribute per RDN, the country
    # (2.5.4.6) a PrintableString and the rest UTF8String.
    subject: list[list[str]]
    user_pin: str  # the certificate password made at approval
    so_pin: str  # the fresh SO PIN this job sets (the back office holds it sealed)
    # SO PINs the token may have now, most likely first: the transport SO PIN of a blank key, the
    # job's own after a cut-off run, or the one on file for a key we programmed before.
    current_so_pins: list[str]
    challenge: str  # hex: signed on the token at the end, checked by the back office
    pin_tries_left: int  # wrong PIN logins the agent may still drive before the token would lock
    resume: bool = False
    wipe: bool = False
    certificate_pem: str | None = None
    chain_pem: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Wipe:
    """A key sent back to wipe: C_InitToken with the SO PIN it has (everything on it erased), its SO
    PIN set back to `transport_so_pin` (what the shelf's blank keys carry), and checked empty."""

    wipe_id: str
    media_serial: str
    # SO PINs the key may have now, most likely first: the one on file, then the transport SO PIN.
    current_so_pins: list[str]
    transport_so_pin: str
    pin_tries_left: int  # as a job's


@dataclass(frozen=True)
class WipeDone:
    """The key is wiped: its SO PIN is the transport one and a login sees no object on it."""

    wrong_pins: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Unlock:
    """A key locked by wrong user PINs, unlocked: an SO login with the SO PIN it has, C_InitPIN with
    `user_pin` (the new user PIN), C_SetPIN as SO to `so_pin` (the new SO PIN) at once, and a user
    login with the new user PIN checked. Its key pair and certificates stay."""

    unlock_id: str
    media_serial: str
    user_pin: str
    so_pin: str
    # SO PINs the key may have now, most likely first: the one on file, then `so_pin` (a run cut off
    # after C_SetPIN).
    current_so_pins: list[str]
    pin_tries_left: int  # SO PIN logins the agent may still get wrong before the key would lock


@dataclass(frozen=True)
class UnlockDone:
    """The key is unlocked: its user PIN and SO PIN are the new ones and a user login works."""

    wrong_pins: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class PollAnswer:
    job: Job | None
    station: str
    wipe: Wipe | None = None
    unlock: Unlock | None = None


@dataclass(frozen=True)
class StepReport:
    step: Step
    detail: dict = field(default_factory=dict)
    # Wrong PIN logins the agent drove since its last report, e.g. [{"pin": "so"}].
    wrong_pins: list[dict] = field(default_factory=list)


MAX_REPORTS = 32  # in one call


@dataclass(frozen=True)
class StepReports:
    reports: list[StepReport]


@dataclass(frozen=True)
class CertificateRequest:
    csr_pem: str
    reports: list[StepReport] = field(default_factory=list)


@dataclass(frozen=True)
class CertificateAnswer:
    certificate_pem: str
    chain_pem: list[str]  # the issuing CA's certificate, then the root's


@dataclass(frozen=True)
class FinishRequest:
    certificate_pem: str  # as read back from the token
    signature: str  # hex: the challenge signed on the token (RSA PKCS#1 v1.5 or ECDSA, SHA-256, DER)
    reports: list[StepReport] = field(default_factory=list)


@dataclass(frozen=True)
class FailureReport:
    error: str  # a code: token_not_found, token_pulled, so_pin_unknown, pin_locked, token_error, ...
    message: str
    step: Step | None = None  # the step that failed
    wrong_pins: list[dict] = field(default_factory=list)
    reports: list[StepReport] = field(default_factory=list)


FAILURES = {
    "token_not_found": "The key is not plugged in at the station.",
    "token_pulled": "The key was pulled out while it was being programmed.",
    "so_pin_unknown": "The key's SO PIN is not the transport SO PIN nor one on file: the applicant's own key "
                      "is taken only with its SO PIN.",
    "pin_locked": "The key would lock at the next wrong PIN: it is not tried again.",
    "token_error": "The key answered with an error.",
    "signing_unavailable": "The signing service cannot be reached.",
    "refused": "The back office refused the step.",
}


def to_json(message) -> dict:
    return asdict(message)


def job_from_json(data: dict) -> Job:
    return Job(**{**data, "key_type": KeyType(data["key_type"])})


def poll_answer_from_json(data: dict) -> PollAnswer:
    job, wipe, unlock = data.get("job"), data.get("wipe"), data.get("unlock")
    return PollAnswer(job=job_from_json(job) if job else None, station=data["station"],
                      wipe=Wipe(**wipe) if wipe else None, unlock=Unlock(**unlock) if unlock else None)


def poll_request_from_json(data: dict) -> PollRequest:
    return PollRequest(tokens=[TokenSeen(**token) for token in data.get("tokens", [])],
                       running_job=data.get("running_job"), wait=float(data.get("wait", POLL_WAIT_SECONDS)))
