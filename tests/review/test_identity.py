"""Identity checks: the sandbox verifier's answers, the signed HTTP adapter, and the rows kept."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from models import AgentIdentityMethod, CheckOutcome, IdentityCheck, IdentityMethod, Order
from review.identity import (
    HttpVerifier,
    SandboxVerifier,
    VerificationResult,
    latest_checks,
    verify_order,
)
from tests.fake_service import signed_json_service

KEY = "verifier-key-for-tests"
PERSON = {"name": "张伟", "id_number": "11010519491231002X"}
ACCOUNT = {"account_name": "郑州信源测试科技有限公司", "bank_name": "中国工商银行郑州分行"}


@pytest.fixture
def order(db_session, order_number) -> Order:
    return db_session.scalars(select(Order).filter_by(number=order_number)).one()


@pytest.mark.parametrize(("method", "facts", "outcome", "detail"), [
    ("legal_rep_phone", {**PERSON, "phone": "13800138000"}, CheckOutcome.PASSED, "real-name record"),
    ("agent_phone", {**PERSON, "phone": "13800130000"}, CheckOutcome.FAILED,
     "Name and ID number do not match the phone's real-name record"),
    ("legal_rep_phone", {**PERSON, "phone": "13800139999"}, CheckOutcome.PENDING, "carrier has not answered"),
    ("legal_rep_phone", {**PERSON, "phone": "13800138888"}, CheckOutcome.ERROR, "service is unavailable"),
    ("legal_rep_bank_card", {**PERSON, "phone": "13800138000", "bank_card_number": "6222020000"},
     CheckOutcome.FAILED, "bank card's record"),
    ("agent_bank_card", {**PERSON, "phone": "13800130000", "bank_card_number": "6222021234"},
     CheckOutcome.FAILED, "reserved with the bank"),
    ("agent_bank_card", {**PERSON, "phone": "13800138000", "bank_card_number": "6222029999"},
     CheckOutcome.PENDING, "bank has not answered"),
    ("corporate_transfer", {**ACCOUNT, "account_number": "6222021234567890123"}, CheckOutcome.PASSED,
     "transfer arrived"),
    ("corporate_transfer", {**ACCOUNT, "account_number": "6222021234560000"}, CheckOutcome.FAILED,
     "transfer was returned"),
])
def test_sandbox_answers_like_the_service(method, facts, outcome, detail):
    result = SandboxVerifier().check(method, **facts)
    assert result.outcome == outcome and detail in result.detail
    assert result.ref if outcome != CheckOutcome.ERROR else not result.ref


def test_a_check_needs_a_known_method_and_its_facts():
    with pytest.raises(ValueError, match="unknown"):
        SandboxVerifier().check("face_scan", **PERSON)
    with pytest.raises(ValueError, match="bank_card_number"):
        SandboxVerifier().check("agent_bank_card", **PERSON, phone="13800138000")


def test_verify_order_runs_the_organisation_and_agent_checks(db_session, order, monkeypatch):
    monkeypatch.setattr(db_session, "commit", lambda: pytest.fail("verify_order must not commit"))
    checks = verify_order(db_session, order, SandboxVerifier())
    assert [(c.method, c.outcome) for c in checks] == [("legal_rep_phone", CheckOutcome.PASSED),
                                                         ("agent_phone", CheckOutcome.PASSED)]
    assert all(c.id and c.order_id == order.id and c.provider_ref.startswith("sbx-") for c in checks)


def test_verify_order_follows_the_chosen_methods(db_session, order):
    order.identity_method = IdentityMethod.CORPORATE_TRANSFER
    order.account_number = "6222021234560000"
    order.agent_identity_method = AgentIdentityMethod.BANK_CARD
    order.agent.bank_card_number = "6217001234569999"
    transfer, agent = verify_order(db_session, order, SandboxVerifier())
    assert (transfer.method, transfer.outcome) == ("corporate_transfer", CheckOutcome.FAILED)
    assert (agent.method, agent.outcome) == ("agent_bank_card", CheckOutcome.PENDING)


def test_a_missing_number_fails_without_asking_the_service(db_session, order):
    class Refuses:
        def check(self, method, **facts):
            pytest.fail("the verifier should not be asked")

    order.identity_method = IdentityMethod.LEGAL_REP_BANK_CARD
    order.legal_rep.bank_card_number = None
    order.agent.phone = None
    legal_rep, agent = verify_order(db_session, order, Refuses())
    assert (legal_rep.outcome, legal_rep.detail) == (CheckOutcome.FAILED, "The order has no bank card number.")
    assert (agent.outcome, agent.detail) == (CheckOutcome.FAILED, "The order has no phone number.")


def test_details_never_keep_full_numbers(db_session, order):
    class Chatty:
        def check(self, method, **facts):
            return VerificationResult(CheckOutcome.FAILED, f"{facts['phone']} / {facts['id_number']} mismatch", "r1")

    checks = verify_order(db_session, order, Chatty())
    for check in checks:
        assert order.legal_rep.phone not in check.detail and order.agent.phone not in check.detail
        assert order.legal_rep.id_number not in check.detail and "****" in check.detail


def test_latest_checks_keeps_the_newest_per_method(db_session, order):
    verify_order(db_session, order, SandboxVerifier())
    order.legal_rep.phone = "13800139999"
    first_pending = verify_order(db_session, order, SandboxVerifier())
    order.legal_rep.phone = "13800130000"
    newest = verify_order(db_session, order, SandboxVerifier())
    assert latest_checks(db_session, order) == newest
    assert [c.outcome for c in latest_checks(db_session, order)] == [CheckOutcome.FAILED, CheckOutcome.PASSED]
    assert first_pending[0] not in latest_checks(db_session, order)
    assert len(db_session.scalars(select(IdentityCheck).filter_by(order_id=order.id)).all()) == 6


def _verifier(request: dict) -> dict:
    """Answers like the verification service would."""
    if request["phone"].endswith("7777"):
        return {"outcome": "maybe"}
    if request["phone"].endswith("0000"):
        return {"outcome": "failed", "id": "V2", "detail": f"{request['phone']} 实名信息不一致"}
    return {"outcome": "passed", "id": "V1", "detail": "一致"}


@pytest.fixture
def service():
    with signed_json_service(KEY, _verifier, "/verify") as (url, received):
        yield url, received


def test_http_verifier_posts_signed_json(service):
    service_url, received = service
    result = HttpVerifier(service_url, KEY).check("legal_rep_phone", **PERSON, phone="13800138000")
    assert result == VerificationResult(CheckOutcome.PASSED, "一致", "V1")
    assert received == [{"method": "legal_rep_phone", **PERSON, "phone": "13800138000"}]


def test_http_verifier_answers_are_stored_masked(db_session, order, service):
    service_url, _ = service
    order.legal_rep.phone = "13800130000"
    legal_rep, agent = verify_order(db_session, order, HttpVerifier(service_url, KEY))
    assert (legal_rep.outcome, legal_rep.provider_ref, legal_rep.detail) == (
        CheckOutcome.FAILED, "V2", "1380***0000 实名信息不一致")
    assert agent.outcome == CheckOutcome.PASSED


@pytest.mark.parametrize("trouble", ["bad key", "no outcome", "unreachable"])
def test_http_verifier_trouble_is_an_error_result(service, trouble):
    url, key, phone = service[0], KEY, "13800138000"
    if trouble == "bad key":
        key = "wrong-key"
    elif trouble == "no outcome":
        phone = "13800137777"
    else:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}/verify"
    result = HttpVerifier(url, key, timeout=2).check("agent_phone", **PERSON, phone=phone)
    assert result.outcome == CheckOutcome.ERROR and result.ref == ""
