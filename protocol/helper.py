"""The key helper protocol: what the back office and an applicant's key helper say to each other.

The key helper (agent.helper, the `ukey-helper` command) is the station agent's token code on the
applicant's own PC, for the after-sale services done with the key plugged in there: renewal (证书更新),
unlock (证书解锁) and information change (信息变更). Like the station agent it only calls out: it
long-polls the back office over HTTP with JSON bodies and never listens.

It is paired to one page of the public form by a one-time code the page shows (`PAIRING_CODE_DIGITS`
digits, valid `PAIRING_MINUTES` minutes, used once); pairing answers a credential for that page's
session only (`Authorization: Bearer <credential>`), which ends with it.

    POST {API}/pair                  PairRequest -> PairAnswer      (no credential: the code is it)
    POST {API}/poll                  HelperPoll -> HelperPollAnswer  (waits up to `wait` seconds)
    POST {API}/tasks/<id>/steps      {"reports": [HelperReport]} -> {"ok": true}
    POST {API}/tasks/<id>/login      LoginProof -> {"ok": true}
    POST {API}/tasks/<id>/certificate  protocol.station.CertificateRequest -> CertificateAnswer
    POST {API}/tasks/<id>/finish     protocol.station.FinishRequest -> {"ok": true}
    POST {API}/tasks/<id>/unlocked   protocol.station.UnlockDone -> {"ok": true}
    POST {API}/tasks/<id>/failure    HelperFailure -> {"ok": true}

A poll is answered with the session's next task, or none yet (the applicant is still filling in a
form, or paying), or `over` (the session ended: done, cancelled or expired; the helper exits):

- `login` (key login): the user PIN (the key password) is typed into the helper, never into the
  page; the helper logs in and the key pair of the certificate named signs the challenge. The
  back office checks the signature with the certificate it issued.
- `renew`: a new key pair on the same key, a certification request signed on it, the certificate
  written with its chain and checked (read back, the challenge signed with the new key), and only
  then the old key pair and certificate deleted. Used by renewal and information change alike.
  The key password is not changed.
- `unlock`: the new user PIN (6–16 characters) is typed into the helper twice; an SO login with
  the single-use SO PIN the task carries, C_InitPIN with the new user PIN, C_SetPIN to the task's
  new SO PIN at once, and a user login with the new PIN checked (as the station's unlock).

Errors are JSON `{"error": code, "message": text}` with HTTP 401 (credential unknown or its session
over), 409 (the task is no longer this helper's), 422 (a refusal: `error` names the rule, e.g.
`code_unknown` for a pairing code that is wrong, used or expired, `wrong_pin`) or 503 (the signing
service cannot be reached: try again later).
"""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field

from protocol.station import CertificateAnswer, CertificateRequest, FinishRequest, KeyType, UnlockDone

__all__ = ["API", "CertificateAnswer", "CertificateRequest", "FinishRequest", "UnlockDone"]

API = "/helper/api/v1"
POLL_WAIT_SECONDS = 20  # the longest the back office holds a poll open
PAIRING_CODE_DIGITS = 8  # shown as 1234-5678
PAIRING_MINUTES = 10
CREDENTIAL_PREFIX = "kh1"  # credentials read kh1.<session id>.<secret>
USER_PIN_MIN, USER_PIN_MAX = 6, 16  # the key password's length (the seed: 6-16 characters)


class TaskKind(enum.StrEnum):
    LOGIN = "login"
    RENEW = "renew"
    UNLOCK = "unlock"


class HelperStep(enum.StrEnum):
    """The steps the helper reports as it does them; the page shows each."""

    LOGGED_IN = "logged_in"  # the key password opened the key
    KEY_GENERATED = "key_generated"  # the new key pair, on the key
    REQUEST_SIGNED = "request_signed"  # a PKCS#10 request signed with it on the key
    CERTIFICATE_ISSUED = "certificate_issued"  # the back office answered with the certificate
    CERTIFICATE_WRITTEN = "certificate_written"
    CHAIN_WRITTEN = "chain_written"
    VERIFIED = "verified"  # read back, and a challenge signed with the new key checked
    OLD_KEY_DELETED = "old_key_deleted"  # the old key pair and certificate gone from the key
    USER_PIN_RESET = "user_pin_reset"  # C_InitPIN with the new key password
    SO_PIN_ROTATED = "so_pin_rotated"  # C_SetPIN: the SO PIN used is spent


@dataclass(frozen=True)
class KeyOnPc:
    """A key the helper sees plugged in, with the certificates anyone can read on it (no login)."""

    serial: str  # the media number (介质号)
    label: str
    model: str
    user_pin_locked: bool  # CKF_USER_PIN_LOCKED: too many wrong key passwords
    certificates: list[str] = field(default_factory=list)  # PEM, end-entity ones only


@dataclass(frozen=True)
class PairRequest:
    code: str  # the digits the page shows; a dash or spaces are ignored
    keys: list[KeyOnPc]
    helper_version: str = ""


@dataclass(frozen=True)
class PairAnswer:
    credential: str
    session_id: str
    purpose: str  # renewal, unlock or info_change: what the helper says it is there for


@dataclass(frozen=True)
class HelperPoll:
    keys: list[KeyOnPc]
    running_task: str | None = None  # a task the helper is still working on
    wait: float = POLL_WAIT_SECONDS


@dataclass(frozen=True)
class LoginTask:
    media_serial: str
    certificate_serial: str  # hex: the certificate whose key pair signs the challenge
    challenge: str  # hex
    pin_tries_left: int  # wrong key passwords the helper may still take before the key would lock


@dataclass(frozen=True)
class RenewTask:
    media_serial: str
    certificate_serial: str  # hex: the certificate being replaced; its key pair goes once the new one verifies
    key_type: KeyType
    key_id: str  # hex: CKA_ID of the new key pair and certificate
    subject: list[list[str]]  # as protocol.station.Job.subject
    challenge: str  # hex: signed with the new key at the end
    pin_tries_left: int  # as a login's (asked for again only when the helper no longer holds it)
    # The certificate the back office holds for this task already (a cut-off run resumed): the new
    # key pair matching it is kept, and the helper goes on from writing it.
    certificate_pem: str | None = None
    chain_pem: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UnlockTask:
    media_serial: str
    so_pin: str  # the new SO PIN to rotate to at once
    # SO PINs the key may have now, most likely first (the one on file; the new one after a cut-off run).
    current_so_pins: list[str]
    pin_tries_left: int  # SO PIN logins the helper may still get wrong before the key would lock


@dataclass(frozen=True)
class Task:
    task_id: str
    kind: TaskKind
    login: LoginTask | None = None
    renew: RenewTask | None = None
    unlock: UnlockTask | None = None


@dataclass(frozen=True)
class HelperPollAnswer:
    task: Task | None
    over: bool = False  # the session ended: the helper says `message` and exits
    message: str = ""


@dataclass(frozen=True)
class HelperReport:
    step: HelperStep
    detail: dict = field(default_factory=dict)
    wrong_pins: list[dict] = field(default_factory=list)  # as protocol.station.StepReport


@dataclass(frozen=True)
class LoginProof:
    signature: str  # hex: the challenge signed (RSA PKCS#1 v1.5 or ECDSA, SHA-256, DER)
    wrong_pins: list[dict] = field(default_factory=list)  # key passwords typed wrong before the right one


@dataclass(frozen=True)
class HelperFailure:
    error: str  # a code of FAILURES
    message: str
    step: HelperStep | None = None
    wrong_pins: list[dict] = field(default_factory=list)


FAILURES = {
    "token_not_found": "The key is not plugged in.",
    "token_pulled": "The key was pulled out before the helper was done.",
    "wrong_pin": "The key password is wrong.",
    "pin_locked": "The key is locked by wrong key passwords: unlock it first.",
    "so_pin_unknown": "The key's SO PIN is not the one on file.",
    "cancelled": "The applicant stopped the helper.",
    "token_error": "The key answered with an error.",
    "refused": "The back office refused the step.",
    "signing_unavailable": "The signing service cannot be reached: try again later.",
}


def to_json(message) -> dict:
    return asdict(message)


def key_from_json(data: dict) -> KeyOnPc:
    return KeyOnPc(serial=str(data["serial"]), label=str(data.get("label", "")), model=str(data.get("model", "")),
                   user_pin_locked=bool(data.get("user_pin_locked")),
                   certificates=[str(pem) for pem in data.get("certificates", [])])


def task_from_json(data: dict) -> Task:
    renew = data.get("renew")
    return Task(task_id=data["task_id"], kind=TaskKind(data["kind"]),
                login=LoginTask(**data["login"]) if data.get("login") else None,
                renew=RenewTask(**{**renew, "key_type": KeyType(renew["key_type"])}) if renew else None,
                unlock=UnlockTask(**data["unlock"]) if data.get("unlock") else None)


def poll_answer_from_json(data: dict) -> HelperPollAnswer:
    task = data.get("task")
    return HelperPollAnswer(task=task_from_json(task) if task else None, over=bool(data.get("over")),
                            message=str(data.get("message", "")))


def report_from_json(data: dict) -> HelperReport:
    return HelperReport(step=HelperStep(data["step"]), detail=dict(data.get("detail") or {}),
                        wrong_pins=list(data.get("wrong_pins") or []))
