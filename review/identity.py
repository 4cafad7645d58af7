"""Identity verification for reviewers: the real-name, bank card and corporate transfer checks.

The verifier is an external service; a sandbox that answers like it is the default.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Protocol

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AgentIdentityMethod, CheckOutcome, IdentityCheck, IdentityMethod, Order, Person
from models.sealed import mask_numbers_in
from notifications.http import ServiceUnavailable, SignedJsonService
from web import services
from web.errors import N_
from web.services import Implementation

log = logging.getLogger(__name__)

# The facts each check needs, as the verifier takes them.
METHOD_FACTS: dict[str, tuple[str, ...]] = {
    # The 0.01-yuan transfer reached the account, and the account is the organisation's.
    "corporate_transfer": ("account_name", "account_number", "bank_name"),
    # Three elements: the phone's real-name record matches name and ID number.
    "legal_rep_phone": ("name", "id_number", "phone"),
    "agent_phone": ("name", "id_number", "phone"),
    # Four elements: the card, its holder's name and ID number, and the phone reserved with the bank.
    "legal_rep_bank_card": ("name", "id_number", "bank_card_number", "phone"),
    "agent_bank_card": ("name", "id_number", "bank_card_number", "phone"),
}

# A detail is one or more of these sentences (joined by DETAIL_SEPARATOR), so the review screen
# shows it in the reviewer's language; a real verifier's own words are shown as they come.
DETAIL_SEPARATOR = "; "
_MISSING = {"account_name": N_("The order has no account name."),
            "account_number": N_("The order has no account number."),
            "bank_name": N_("The order has no bank."),
            "name": N_("The order has no name."),
            "id_number": N_("The order has no ID number."),
            "phone": N_("The order has no phone number."),
            "bank_card_number": N_("The order has no bank card number.")}


@dataclass(frozen=True)
class VerificationResult:
    outcome: CheckOutcome
    detail: str
    ref: str  # the verifier's reference; empty when it could not be reached


class IdentityVerifier(Protocol):
    def check(self, method: str, **facts: str) -> VerificationResult:
        """Run one check (a key of METHOD_FACTS) on the facts it needs."""


def _require_facts(method: str, facts: dict[str, str]) -> None:
    if method not in METHOD_FACTS:
        raise ValueError(f"unknown identity check {method!r}")
    missing = set(METHOD_FACTS[method]) - facts.keys()
    if missing:
        raise ValueError(f"{method} needs {', '.join(sorted(missing))}")


# What the sandbox answers, like the real service: by kind of check, and for a failure by
# the number that did not match.
_KIND = {"corporate_transfer": "transfer", "legal_rep_phone": "phone", "agent_phone": "phone",
         "legal_rep_bank_card": "card", "agent_bank_card": "card"}
_PASSED = {
    "transfer": N_("The 0.01-yuan transfer arrived; the account matches the organisation."),
    "phone": N_("Name, ID number and phone match the carrier's real-name record."),
    "card": N_("Name, ID number, card and reserved phone match the bank's record."),
}
_PENDING = {
    "transfer": N_("The 0.01-yuan transfer has not arrived yet."),
    "phone": N_("The carrier has not answered yet."),
    "card": N_("The bank has not answered yet."),
}
_FAILED = {
    ("transfer", "account_number"): N_("The 0.01-yuan transfer was returned: account frozen, or name and number "
                                       "differ."),
    ("phone", "phone"): N_("Name and ID number do not match the phone's real-name record."),
    ("card", "bank_card_number"): N_("Name and ID number do not match the bank card's record."),
    ("card", "phone"): N_("The phone is not the one reserved with the bank for this card."),
}
_UNAVAILABLE = N_("The verification service is unavailable; try again later.")


class SandboxVerifier:
    """Answers like the real service, deterministically by the last digits of the numbers
    checked: 0000 fails with the reason the service would give, 9999 is still pending,
    8888 means the service is unavailable; anything else passes."""

    def check(self, method: str, **facts: str) -> VerificationResult:
        _require_facts(method, facts)
        kind = _KIND[method]
        numbers = {name: facts[name] for name in ("account_number", "bank_card_number", "phone") if name in facts}
        endings = {number[-4:] for number in numbers.values()}
        ref = "sbx-" + secrets.token_hex(8)
        if "8888" in endings:
            return VerificationResult(CheckOutcome.ERROR, _UNAVAILABLE, "")
        for name, number in numbers.items():
            if number.endswith("0000"):
                return VerificationResult(CheckOutcome.FAILED, _FAILED[kind, name], ref)
        if "9999" in endings:
            return VerificationResult(CheckOutcome.PENDING, _PENDING[kind], ref)
        return VerificationResult(CheckOutcome.PASSED, _PASSED[kind], ref)


class HttpVerifier:
    """Posts JSON to the verification service, signed with HMAC-SHA256 of the body.

    An unreachable or confused service gives an ERROR result (try again), never an exception.
    """

    def __init__(self, url: str, key: str, timeout: float = 10.0):
        self.service = SignedJsonService(
            url, key, timeout, missing="the HTTP identity verifier needs IDENTITY_HTTP_URL and IDENTITY_HTTP_KEY")

    def check(self, method: str, **facts: str) -> VerificationResult:
        _require_facts(method, facts)
        try:
            answer = self.service.post({"method": method, **facts})
        except ServiceUnavailable as exc:
            log.warning("identity verifier unavailable: %s", exc)
            return VerificationResult(CheckOutcome.ERROR, _UNAVAILABLE, "")
        try:
            outcome = CheckOutcome(answer["outcome"])
        except (KeyError, TypeError, ValueError):
            return VerificationResult(CheckOutcome.ERROR, N_("The verification service gave no outcome."), "")
        return VerificationResult(outcome, str(answer.get("detail", "")), str(answer.get("id", "")))


def register(app: Flask) -> None:
    """IDENTITY_VERIFIER chooses: `sandbox` (the default) approves every identity without asking
    anyone, so production refuses it; `http` needs the service's URL and key."""
    services.register(app, IdentityVerifier, "IDENTITY_VERIFIER", {
        "http": Implementation(lambda config: HttpVerifier(config["IDENTITY_HTTP_URL"], config["IDENTITY_HTTP_KEY"]),
                               needs=("IDENTITY_HTTP_URL", "IDENTITY_HTTP_KEY")),
        "sandbox": Implementation(lambda config: SandboxVerifier(), sandbox=True),
    })


def checks_for(order: Order) -> list[tuple[str, dict[str, str | None]]]:
    """The checks that apply to an order: the organisation's chosen method, then the agent's; a personal
    certificate's holder (in the agent's place) has only their own (the agent's checks of their facts)."""
    if order.agent_identity_method == AgentIdentityMethod.BANK_CARD:
        agent = ("agent_bank_card", _person_facts(order.agent, bank_card=True))
    else:
        agent = ("agent_phone", _person_facts(order.agent, bank_card=False))
    if order.personal:
        return [agent]
    if order.identity_method == IdentityMethod.CORPORATE_TRANSFER:
        organisation = ("corporate_transfer", {"account_name": order.account_name,
                                               "account_number": order.account_number,
                                               "bank_name": order.bank_name})
    elif order.identity_method == IdentityMethod.LEGAL_REP_BANK_CARD:
        organisation = ("legal_rep_bank_card", _person_facts(order.legal_rep, bank_card=True))
    else:
        organisation = ("legal_rep_phone", _person_facts(order.legal_rep, bank_card=False))
    return [organisation, agent]


def _person_facts(person: Person, *, bank_card: bool) -> dict[str, str | None]:
    facts = {"name": person.name, "id_number": person.id_number, "phone": person.phone}
    if bank_card:
        facts["bank_card_number"] = person.bank_card_number
    return facts


def verify_order(session: Session, order: Order, verifier: IdentityVerifier) -> list[IdentityCheck]:
    """Run the checks that apply to the order and record one row per check; flushes, never commits."""
    checks = []
    for method, facts in checks_for(order):
        missing = [_MISSING[name] for name, value in facts.items() if not value]
        if missing:
            # Asking the service with a blank would only cost a call; the answer is known.
            result = VerificationResult(CheckOutcome.FAILED, DETAIL_SEPARATOR.join(missing), "")
        else:
            result = verifier.check(method, **facts)
        checks.append(IdentityCheck(
            order_id=order.id,
            method=method,
            outcome=result.outcome,
            # What the service says may quote a number back; only masked numbers are kept.
            detail=mask_numbers_in(result.detail)[:255] or None,
            provider_ref=result.ref[:40] or None,
        ))
    session.add_all(checks)
    session.flush()
    return checks


def latest_checks(session: Session, order: Order) -> list[IdentityCheck]:
    """The newest result of each check run on the order."""
    newest = (
        select(func.max(IdentityCheck.id))
        .where(IdentityCheck.order_id == order.id)
        .group_by(IdentityCheck.method)
    )
    return list(session.scalars(select(IdentityCheck).where(IdentityCheck.id.in_(newest)).order_by(IdentityCheck.id)))
