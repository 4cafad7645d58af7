"""Revocation (证书吊销) asked for by the organisation: its valid certificates after the credit code
and the SMS code, the request form, the SMS signature, and the revocation review queue."""
from __future__ import annotations

import datetime as dt
from itertools import count

import pytest
from sqlalchemy import func, select

from models import (
    AuditEntry,
    BusinessType,
    CertificateStatus,
    CheckOutcome,
    IdentityMethod,
    Order,
    OrderStatus,
    ReviewQueue,
    RevocationReason,
    SmsCode,
    StaffRole,
)
from public import revocation
from review import identity
from tests import factories
from tests.conftest import sms_code_in
from tests.public.test_order_query import AGENT_ID, ask

LEGAL_REP_ID = "11010519491231002X"
_serials = count(1)


def issue(db_session, order: Order, *, status=CertificateStatus.VALID, days_left: int = 300,
          media_serial: str | None = "UK0001") -> str:
    """A certificate of the order, as the register keeps it; its serial."""
    serial = f"{next(_serials):032x}"
    factories.registered_certificate(db_session, order, serial, days_left=days_left, days_held=365 - days_left,
                                     status=status, media_serial=media_serial)
    return serial


def certified_order(app, db_session) -> tuple[str, str, str, str]:
    """An organisation's order with a valid certificate, committed: (credit code, agent phone, order
    number, serial)."""
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    serial = issue(db_session, order)
    facts = order.organisation.credit_code, order.agent.phone, order.number, serial
    db_session.commit()
    return facts


def enter_query_code(browser, db_session, latest_sms, id_number: str, phone: str, **ask_args):
    """The order query asked and its SMS code entered in `browser`."""
    a_minute_later(db_session)
    browser.get("/query?lang=en")
    assert ask(browser, id_number, phone, **ask_args).headers["Location"].endswith("/query/verify")
    response = browser.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
    assert response.status_code == 302
    return browser


@pytest.fixture
def organisation(app, db_session):
    return certified_order(app, db_session)


@pytest.fixture
def verify(client, db_session, latest_sms):
    """verify(id_number, phone, browser=client, **ask args): the order query's SMS code entered."""

    def enter(id_number: str, phone: str, browser=None, **ask_args):
        return enter_query_code(browser or client, db_session, latest_sms, id_number, phone, **ask_args)

    return enter


def a_minute_later(db_session) -> None:
    """The codes sent so far were sent long enough ago for the phone to get another."""
    for code in db_session.scalars(select(SmsCode)):
        code.created_at -= dt.timedelta(minutes=2)
    db_session.commit()


def request_data(**overrides) -> dict:
    data = {"reason": str(int(RevocationReason.CESSATION_OF_OPERATION)), "note": "单位已注销",
            "legal_rep_name": "张伟", "legal_rep_id_type": "resident_id", "legal_rep_id_number": LEGAL_REP_ID,
            "legal_rep_phone": "13800138000", "consent": "y", "understood": "y"}
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def revocations(db_session) -> list[Order]:
    db_session.expire_all()
    return list(db_session.scalars(select(Order).where(Order.business_type == BusinessType.REVOCATION)
                                   .order_by(Order.id)))


def submitted(client, serial: str, **overrides) -> str:
    response = client.post(f"/revocation/{serial}", data=request_data(**overrides))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def test_the_list_needs_the_sms_code(client, organisation):
    credit_code, phone, _, serial = organisation
    response = client.get("/revocation")
    assert response.status_code == 302 and response.headers["Location"].endswith("/query?for=revocation")
    ask(client, credit_code, phone)  # the code is sent, not entered
    assert client.get("/revocation").headers["Location"].endswith("/query?for=revocation")
    assert client.get(f"/revocation/{serial}").headers["Location"].endswith("/query?for=revocation")
    assert client.post(f"/revocation/{serial}", data=request_data()).headers["Location"].endswith(
        "/query?for=revocation")


def test_an_id_number_identity_is_told_to_query_by_credit_code(client, organisation, verify):
    _, phone, _, serial = organisation
    verify(AGENT_ID, phone, id_type="resident_id")
    page = client.get("/revocation?lang=en").get_data(as_text=True)
    assert "query with the organisation's unified social credit code" in page
    assert 'href="/query?for=revocation"' in page and serial not in page
    assert client.get(f"/revocation/{serial}").headers["Location"].endswith("/revocation")


def test_only_the_organisations_valid_certificates_are_listed(app, client, db_session, organisation, verify):
    credit_code, phone, number, valid = organisation
    order = db_session.scalars(select(Order).where(Order.number == number)).one()
    revoked = issue(db_session, order, status=CertificateStatus.REVOKED)
    older = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], credit_code=credit_code, agent_phone=phone)
    expired = issue(db_session, older, days_left=-1)
    stranger = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    strangers = issue(db_session, stranger)
    db_session.commit()
    verify(credit_code, phone)
    response = client.get("/revocation?lang=en")
    page = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    row = page.split(f'id="certificate-{valid}"')[1].split("</tr>")[0]
    assert number in row and "UK0001" in row and "1-year unit certificate" in row
    assert f'href="/revocation/{valid}"' in row
    for hidden in (expired, revoked, strangers):
        assert hidden not in page
    assert client.get(f"/revocation/{strangers}").status_code == 404


def test_privilege_withdrawn_is_not_the_applicants_to_give(client, organisation, verify, db_session):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    page = client.get(f"/revocation/{serial}?lang=en").get_data(as_text=True)
    assert "Key compromise" not in page  # plain words, the RFC name beside them
    assert "private key leaked (key compromise)" in page and "cessation of operation" in page
    assert 'value="9"' not in page and 'value="2"' not in page
    response = client.post(f"/revocation/{serial}?lang=en", data=request_data(reason="9"))
    assert response.status_code == 200 and 'data-error-for="reason"' in response.get_data(as_text=True)
    assert revocations(db_session) == []


def test_the_form_checks_every_field_and_keeps_what_was_typed(client, organisation, verify, db_session):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    wrong_check_digit = LEGAL_REP_ID[:-1] + "3"
    response = client.post(f"/revocation/{serial}?lang=en", data=request_data(
        reason=None, legal_rep_id_number=wrong_check_digit, legal_rep_phone="1380013800", consent=None,
        note="钥匙丢在出租车上"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("reason", "legal_rep_id_number", "legal_rep_phone", "consent"):
        assert f'data-error-for="{field}"' in page, field
    assert "check" in page.split('data-error-for="legal_rep_id_number">')[1][:200].lower()
    assert wrong_check_digit in page and "钥匙丢在出租车上" in page and "1380013800" in page
    assert revocations(db_session) == []


def test_the_form_starts_with_the_legal_representative_on_file_but_not_the_numbers(client, organisation, verify):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    page = client.get(f"/revocation/{serial}").get_data(as_text=True)
    assert 'value="张伟"' in page and LEGAL_REP_ID not in page


def test_a_request_copies_the_certificates_order_and_is_free(client, db_session, organisation, verify):
    credit_code, phone, number, serial = organisation
    verify(credit_code, phone)
    created = submitted(client, serial)
    [order] = revocations(db_session)
    earlier = db_session.scalars(select(Order).where(Order.number == number)).one()
    assert created == order.number != number
    assert order.status is OrderStatus.AWAITING_MATERIALS and order.price_cents == 0
    assert order.previous_order_id == earlier.id and order.certificate.serial_number == serial
    assert order.revocation_reason == RevocationReason.CESSATION_OF_OPERATION and order.revocation_note == "单位已注销"
    assert order.identity_method is IdentityMethod.LEGAL_REP_PHONE and order.channel_id == earlier.channel_id
    assert order.organisation.credit_code == credit_code and order.organisation_id != earlier.organisation_id
    assert order.agent.phone == phone and order.agent.id_number == earlier.agent.id_number
    assert order.legal_rep.id_number == LEGAL_REP_ID and order.legal_rep.phone == "13800138000"
    assert (order.account_number, order.mailing_address) == (earlier.account_number, earlier.mailing_address)
    assert order.product_id == earlier.product_id


def test_signing_puts_the_request_in_the_revocation_queue_once(client, db_session, organisation, verify, latest_sms):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    number = submitted(client, serial)
    confirm = client.get(f"/revocation/orders/{number}?lang=en").get_data(as_text=True)
    assert "Return to edit" in confirm and "单位已注销" in confirm and "0.00" in confirm
    assert client.get(f"/apply/{number}").headers["Location"].endswith(f"/revocation/orders/{number}")
    assert client.get(f"/apply/{number}/materials").headers["Location"].endswith(f"/apply/{number}")
    response = client.post(f"/apply/{number}/materials/done")
    assert response.headers["Location"].endswith(f"/apply/{number}/signature")
    signature = client.get(f"/apply/{number}/signature").get_data(as_text=True)
    assert "申请吊销" in signature
    a_minute_later(db_session)
    client.post(f"/apply/{number}/signature/code")
    response = client.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(latest_sms(phone))})
    assert response.headers["Location"].endswith(f"/apply/{number}/done")
    [order] = revocations(db_session)
    assert order.status is OrderStatus.PAID and order.queue is ReviewQueue.REVOCATION
    assert order.sla_started_at is not None and order.sla_due_at > order.sla_started_at
    paid = db_session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id,
                                                       AuditEntry.action == "order.status")).all()
    assert [e.after["status"] for e in paid] == ["awaiting_signature", "awaiting_payment", "paid"]
    done = client.get(f"/apply/{number}/done?lang=en").get_data(as_text=True)
    assert "two reviewers confirm a revocation" in done and "SMS and e-mail" in done
    assert "Sending the key back" in done and "Pay now" not in done
    # a second signature changes nothing
    client.post(f"/apply/{number}/signature", data={"sms_code": "123456"})
    assert revocations(db_session)[0].status is OrderStatus.PAID


def test_return_to_edit_changes_the_same_order(client, db_session, organisation, verify):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    number = submitted(client, serial)
    page = client.get(f"/revocation/{serial}").get_data(as_text=True)
    assert "单位已注销" in page and LEGAL_REP_ID in page  # what this browser typed
    assert submitted(client, serial, reason=str(int(RevocationReason.KEY_COMPROMISE)), note="") == number
    [order] = revocations(db_session)
    assert order.revocation_reason == RevocationReason.KEY_COMPROMISE and order.revocation_note is None


def test_a_second_revocation_is_refused_while_one_is_open(app, client, db_session, organisation, verify):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    number = submitted(client, serial)
    other = verify(credit_code, phone, browser=app.test_client())
    row = other.get("/revocation?lang=en").get_data(as_text=True).split(f'id="certificate-{serial}"')[1]
    assert f"Revocation asked for: order {number}" in row.split("</tr>")[0]
    response = other.post(f"/revocation/{serial}", data=request_data())
    assert response.headers["Location"].endswith("/revocation")
    assert "can no longer be revoked online" in other.get("/revocation?lang=en").get_data(as_text=True)
    assert len(revocations(db_session)) == 1
    order = revocations(db_session)[0]
    order.move_to(OrderStatus.CANCELLED, "applicant:test")
    db_session.commit()
    assert revocation.may_revoke(db_session, order.certificate)


def test_two_requests_at_once_make_one_order(db_session, organisation, monkeypatch):
    *_, serial = organisation
    certificate = revocation.certificate_by_serial(db_session, serial)
    data = {**request_data(), "reason": int(RevocationReason.KEY_COMPROMISE)}
    revocation.request_revocation(db_session, certificate, data, actor="applicant:one", applicant_secret="one")
    monkeypatch.setattr(revocation, "may_revoke", lambda *_: True)  # both read before either wrote
    with pytest.raises(revocation.NotRevocable):
        revocation.request_revocation(db_session, certificate, data, actor="applicant:two", applicant_secret="two")
    assert db_session.scalar(select(func.count()).select_from(Order).where(
        Order.business_type == BusinessType.REVOCATION)) == 1


def test_an_expired_or_revoked_certificate_may_not_be_revoked(db_session, organisation):
    *_, serial = organisation
    certificate = revocation.certificate_by_serial(db_session, serial)
    assert revocation.may_revoke(db_session, certificate)
    assert not revocation.may_revoke(db_session, certificate, now=certificate.not_after)
    certificate.status = CertificateStatus.REVOKED
    assert not revocation.may_revoke(db_session, certificate)


def test_the_reviewers_identity_check_runs_on_the_legal_representative(client, db_session, organisation, verify):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    submitted(client, serial)
    [order] = revocations(db_session)
    checks = identity.verify_order(db_session, order, identity.SandboxVerifier())
    assert [(c.method, c.outcome) for c in checks] == [("legal_rep_phone", CheckOutcome.PASSED),
                                                       ("agent_phone", CheckOutcome.PASSED)]
    order.legal_rep.phone = "13800130000"  # the sandbox's "does not match the real-name record"
    failed = identity.verify_order(db_session, order, identity.SandboxVerifier())[0]
    assert failed.method == "legal_rep_phone" and failed.outcome is CheckOutcome.FAILED


def test_the_reviewer_runs_the_check_from_the_console(app, client, db_session, organisation, verify, latest_sms,
                                                       login_as):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    number = submitted(client, serial)
    client.post(f"/apply/{number}/materials/done")
    a_minute_later(db_session)
    client.post(f"/apply/{number}/signature/code")
    client.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(latest_sms(phone))})
    login_as(StaffRole.SENIOR_REVIEWER)
    assert client.post(f"/console/orders/{number}/claim").status_code == 302
    client.post(f"/console/orders/{number}/verify")
    [order] = revocations(db_session)
    assert {c.method: c.outcome for c in identity.latest_checks(db_session, order)} == {
        "legal_rep_phone": CheckOutcome.PASSED, "agent_phone": CheckOutcome.PASSED}


def test_posts_need_the_csrf_token(make_app, db_session, organisation):
    *_, serial = organisation
    browser = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert browser.post(f"/revocation/{serial}", data=request_data()).status_code == 400


def test_the_form_is_rate_limited_per_ip(rate_limited_app, db_session):
    browser = rate_limited_app.test_client()
    statuses = [browser.post(f"/revocation/{'ab' * 16}").status_code for _ in range(21)]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429


def test_the_note_refuses_control_characters(client, organisation, verify, db_session):
    credit_code, phone, _, serial = organisation
    verify(credit_code, phone)
    page = client.post(f"/revocation/{serial}", data=request_data(note="丢失\x00")).get_data(as_text=True)
    assert "control or invisible characters" in page.split('data-error-for="note">')[1][:100]
    assert revocations(db_session) == []



def test_after_fifteen_minutes_the_query_is_asked_for_again(client, organisation, verify):
    credit_code, phone, _, _ = organisation
    verify(credit_code, phone)
    with client.session_transaction() as session:
        session["order_query"] = {**session["order_query"], "expires_at": 0}
    response = client.get("/revocation?lang=en")
    assert response.headers["Location"].endswith("/query?for=revocation")
    assert "Fifteen minutes have passed" in client.get("/query").get_data(as_text=True)
