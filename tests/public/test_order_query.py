"""The order query (订单查询): nothing without the agent's SMS code, then the ID's orders."""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import select

from documents.storage import Purpose
from models import (
    AuditEntry,
    BusinessType,
    Certificate,
    CertificateStatus,
    Channel,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Order,
    OrderStatus,
    SmsCode,
)
from models.base import utcnow
from public import operations as public_operations
from public import order_query
from public.validators import resident_id_check_char
from tests import factories
from tests.conftest import sms_code_in, solve_captcha

AGENT_ID = "110105199003071239"  # the agent of every application made from APPLICATION_EXAMPLE
AGENT_ID_MASKED = "1101**********1239"
LEGAL_REP_ID = "11010519491231002X"
ACCOUNT = "6222021234567890123"
_invoice_serials = count(1)


def resident_id(body17: str) -> str:
    return body17 + resident_id_check_char(body17)


OTHER_PERSON_ID = resident_id("11010519850101123")


@pytest.fixture
def paid(app, db_session):
    """paid(**application overrides) -> (order number, credit code, agent phone), committed."""

    def make(**overrides):
        order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], **overrides)
        facts = order.number, order.organisation.credit_code, order.agent.phone
        db_session.commit()
        return facts

    return make


def unsigned_order(db_session, status: OrderStatus, **overrides) -> tuple[str, str, str]:
    """An order started in some other browser, stopped at one of the applicant's steps."""
    channel = db_session.scalars(select(Channel).filter_by(code="direct")).one()
    order = public_operations.submit_application(
        db_session, channel, factories.application(**overrides), actor="applicant:test", applicant_secret="elsewhere")
    for step in (OrderStatus.AWAITING_SIGNATURE, OrderStatus.AWAITING_PAYMENT):
        if order.status == status:
            break
        order.move_to(step, "applicant:test")
    facts = order.number, order.organisation.credit_code, order.agent.phone
    db_session.commit()
    return facts


def add_invoice(db_session, upload_folder: str, number: str, *, kind=InvoiceKind.BLUE, status=InvoiceStatus.ISSUED,
                original: Invoice | None = None) -> int:
    order = db_session.scalars(select(Order).where(Order.number == number)).one()
    serial = next(_invoice_serials)
    invoice = Invoice(
        order_id=order.id, kind=kind, status=status, issuer="test", number=f"2641{serial:016d}", year=2026,
        sequence=serial, original=original, issued_at=utcnow(), buyer_name=order.organisation.name,
        buyer_taxpayer_id=order.invoice_taxpayer_id, item_name="*信息技术服务*数字证书服务费",
        tax_rate=Decimal("0.06"), amount_cents=28302, tax_cents=1698, total_cents=30000,
        verify_url="https://inv-veri.example.cn/",
        pdf_name=factories.folder_store(upload_folder).save(Purpose.INVOICE,
                                                             b"%PDF-1.4 invoice " + str(serial).encode()),
    )
    db_session.add(invoice)
    db_session.flush()
    invoice_id = invoice.id
    db_session.commit()
    return invoice_id


def ask(client, id_number: str, phone: str = "13800009999", *, cert_kind="unit", id_type="credit_code",
        captcha=None):
    solved = solve_captcha(client, "/query")
    return client.post("/query", data={"cert_kind": cert_kind, "id_type": id_type, "id_number": id_number,
                                       "agent_phone": phone, **solved, "captcha": captcha or solved["captcha"]})


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.fixture
def verified(client, latest_sms):
    """verified(id_number, phone, browser=client, **ask args): query, enter the code the agent got;
    returns the results page."""

    def verify(id_number: str, phone: str, browser=None, **kwargs):
        browser = browser or client
        browser.get("/query?lang=en")
        assert ask(browser, id_number, phone, **kwargs).headers["Location"].endswith("/query/verify")
        response = browser.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
        assert response.headers["Location"].endswith("/query/results"), response.get_data(as_text=True)[:800]
        return browser.get("/query/results")

    return verify


def test_query_page_asks_for_certificate_type_id_and_captcha(client):
    page = client.get("/query?lang=en").get_data(as_text=True)
    for expected in ('name="cert_kind"', 'name="id_type"', 'name="id_number"', 'name="captcha"',
                     "Unified social credit code", "Resident ID card", "Passport", "Personal certificate"):
        assert expected in page, expected


def test_nothing_is_shown_without_the_sms_code(client, paid, db_session):
    number, credit_code, phone = paid()
    response = ask(client, credit_code, phone)
    assert response.status_code == 302 and response.headers["Location"].endswith("/query/verify")
    page = client.get("/query/verify").get_data(as_text=True)
    assert number not in page and 'name="sms_code"' in page
    assert client.get("/query/results").headers["Location"].endswith("/query")
    code = db_session.scalars(select(SmsCode).where(SmsCode.purpose == "order_query")).one()
    assert code.phone == phone


def test_the_session_keeps_no_id_number_in_clear(client, paid, latest_sms):
    _, credit_code, phone = paid()
    ask(client, credit_code, phone)
    client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
    with client.session_transaction() as session:
        stored = json.dumps(dict(session))
        assert session["order_query"]["digest"]
    assert credit_code not in stored
    with client.session_transaction() as session:
        session.clear()
    ask(client, AGENT_ID, id_type="resident_id")
    with client.session_transaction() as session:
        assert AGENT_ID not in json.dumps(dict(session))


def _normalised(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page)


def test_an_id_without_orders_gets_the_same_answer(app, paid, db_session):
    _, credit_code, phone = paid()
    unknown = factories.credit_code(999_001)
    pages = []
    for typed in (credit_code, unknown, credit_code):  # the third is refused: a code went out a moment ago
        browser = app.test_client()
        browser.get("/query?lang=en")
        response = ask(browser, typed, phone)
        assert response.status_code == 302 and response.headers["Location"].endswith("/query/verify")
        page = browser.get("/query/verify").get_data(as_text=True)
        pages.append(_normalised(page).replace(typed[:4], "####").replace(typed[-4:], "####"))
    assert pages[0] == pages[1] == pages[2]
    assert "orders for this ID, a code has been sent to it by SMS" in pages[0]
    codes = db_session.scalars(select(SmsCode.phone).where(SmsCode.purpose == "order_query")).all()
    assert codes == [phone]
    # and entering a code for the unknown ID reads exactly like a wrong code for a real one
    errors = []
    for typed in (unknown, credit_code):
        browser = app.test_client()
        ask(browser, typed, phone)
        page = browser.post("/query/verify", data={"sms_code": "123456"}).get_data(as_text=True)
        errors.append(re.search(r'data-error-for="sms_code">([^<]*)<', page).group(1))
    assert errors[0] == errors[1]


def test_a_wrong_code_shows_an_error_and_no_data(client, paid, latest_sms):
    number, credit_code, phone = paid()
    ask(client, credit_code, phone)
    code = sms_code_in(latest_sms(phone))
    response = client.post("/query/verify", data={"sms_code": wrong(code)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-error-for="sms_code"' in page and number not in page
    assert client.get("/query/results").status_code == 302


def test_wrong_tries_are_limited(client, paid, latest_sms, app):
    _, credit_code, phone = paid()
    ask(client, credit_code, phone)
    code = sms_code_in(latest_sms(phone))
    for _ in range(app.config["SMS_CODE_MAX_ATTEMPTS"]):
        client.post("/query/verify", data={"sms_code": wrong(code)})
    page = client.post("/query/verify", data={"sms_code": code}).get_data(as_text=True)
    assert 'data-error-for="sms_code"' in page
    assert client.get("/query/results").status_code == 302


def test_the_right_code_shows_the_orders_with_masked_numbers_only(paid, verified):
    number, credit_code, phone = paid()
    response = verified(credit_code, phone)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    unfinished = page.split('id="unfinished-orders"')[1].split('id="history-orders"')[0]
    assert number in unfinished
    assert "Paid, waiting for review" in unfinished and "Not issued" in unfinished
    assert "By SMS to the legal representative" in unfinished  # identity method: legal_rep_phone
    assert "郑州市" in unfinished and "花园路1号" in unfinished  # mailing: city name and address
    assert "—" in unfinished  # no media number yet
    assert AGENT_ID_MASKED in page
    for secret in (AGENT_ID, LEGAL_REP_ID, ACCOUNT, credit_code, phone):
        assert secret not in page, secret
    assert "Continue" not in unfinished  # paid: nothing left for the applicant to do


def test_query_by_the_agents_id_finds_the_orders_they_handled(client, paid, db_session, verified):
    first, _, _ = paid(agent_phone="13700000002")
    second, _, second_phone = paid(agent_phone="13700000002")
    by_legal_rep_only, _, _ = paid(legal_rep_id_number=AGENT_ID, agent_id_number=OTHER_PERSON_ID,
                                   agent_phone="13700000002")
    with_another_phone, _, _ = paid()
    page = verified(AGENT_ID, second_phone, id_type="resident_id").get_data(as_text=True)
    assert first in page and second in page and by_legal_rep_only not in page and with_another_phone not in page


def test_certificate_type_is_part_of_the_id(client, paid, db_session):
    paid()
    response = ask(client, AGENT_ID, cert_kind="personal", id_type="resident_id")
    assert response.status_code == 302  # the same answer ...
    assert db_session.scalars(select(SmsCode)).all() == []  # ... but the unit orders do not match
    page = ask(client, factories.credit_code(5), cert_kind="personal").get_data(as_text=True)
    assert 'data-error-for="id_type"' in page


@pytest.mark.parametrize(("id_type", "typed"), [
    ("resident_id", "110105199003071238"),  # wrong check digit
    ("credit_code", "91350100M000100Y44"),  # wrong check character
    ("home_return_permit", "X1234"),
])
def test_invalid_id_numbers_are_refused_and_kept(client, db_session, id_type, typed):
    response = ask(client, typed, id_type=id_type)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-error-for="id_number"' in page
    assert f'value="{typed}"' in page
    assert db_session.scalars(select(SmsCode)).all() == []


def test_a_wrong_captcha_sends_nothing(client, paid, db_session):
    _, credit_code, _ = paid()
    page = ask(client, credit_code, captcha="0000").get_data(as_text=True)
    assert 'data-error-for="captcha"' in page and f'value="{credit_code}"' in page
    assert db_session.scalars(select(SmsCode)).all() == []


def test_invoice_status_and_downloads(app, client, paid, db_session, verified):
    number, credit_code, phone = paid()
    folder = app.config["UPLOAD_FOLDER"]
    blue = add_invoice(db_session, folder, number, status=InvoiceStatus.REVERSED)
    red = add_invoice(db_session, folder, number, kind=InvoiceKind.RED, original=db_session.get(Invoice, blue))
    voided = add_invoice(db_session, folder, number, status=InvoiceStatus.VOIDED)
    page = verified(credit_code, phone).get_data(as_text=True)
    assert "Reversed by a red invoice" in page
    assert f"/query/invoices/{blue}" in page and f"/query/invoices/{red}" in page
    assert f"/query/invoices/{voided}" not in page
    assert "Download Blue invoice" in page and "Download Red invoice" in page
    response = client.get(f"/query/invoices/{red}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    invoice_number = db_session.get(Invoice, red).number
    assert response.headers["Content-Disposition"] == f'attachment; filename="invoice-{invoice_number}.pdf"'
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"/query/invoices/{voided}").status_code == 404


def test_invoice_of_another_id_or_without_verification_is_404(app, client, paid, db_session, verified):
    number, credit_code, phone = paid()
    mine = add_invoice(db_session, app.config["UPLOAD_FOLDER"], number)
    other_number, _, _ = paid()
    theirs = add_invoice(db_session, app.config["UPLOAD_FOLDER"], other_number)
    assert client.get(f"/query/invoices/{mine}").status_code == 404  # not verified yet
    verified(credit_code, phone)
    assert client.get(f"/query/invoices/{mine}").status_code == 200
    assert client.get(f"/query/invoices/{theirs}").status_code == 404
    assert client.get("/query/invoices/999999").status_code == 404
    assert app.test_client().get(f"/query/invoices/{mine}").status_code == 404


def test_history_lists_finished_orders(client, paid, db_session, verified):
    phone = "13700000001"
    number, _, _ = paid(agent_id_number=OTHER_PERSON_ID, agent_phone=phone)
    order = db_session.scalars(select(Order).where(Order.number == number)).one()
    for status in (OrderStatus.IN_REVIEW, OrderStatus.APPROVED, OrderStatus.PROGRAMMING, OrderStatus.PROGRAMMED,
                   OrderStatus.SHIPPED, OrderStatus.COMPLETED):
        order.move_to(status, "staff:test")
    order.completed_at = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    order.created_at = dt.datetime(2026, 2, 27, 1, 5, tzinfo=dt.UTC)
    db_session.commit()
    cancelled, _, _ = unsigned_order(db_session, OrderStatus.AWAITING_PAYMENT, agent_id_number=OTHER_PERSON_ID,
                                     agent_phone=phone)
    order = db_session.scalars(select(Order).where(Order.number == cancelled)).one()
    order.move_to(OrderStatus.CANCELLED, "system")
    db_session.commit()
    page = verified(OTHER_PERSON_ID, phone, id_type="resident_id").get_data(as_text=True)
    history = page.split('id="history-orders"')[1]
    assert number in history and cancelled in history
    assert "2026-02-27 09:05" in history and "2026-03-02 00:30" in history  # Beijing time
    assert "Shipped" in history and "Not shipped" in history
    assert "No unfinished orders." in page


def test_the_verified_mark_expires(client, paid, verified):
    number, credit_code, phone = paid()
    assert number in verified(credit_code, phone).get_data(as_text=True)
    with client.session_transaction() as session:
        mark = session["order_query"]
        assert mark["expires_at"] - time.time() == pytest.approx(15 * 60, abs=5)
        mark["expires_at"] = int(time.time()) - 1
        session["order_query"] = mark
    response = client.get("/query/results")
    assert response.status_code == 302 and response.headers["Location"].endswith("/query")
    assert number not in client.get("/query").get_data(as_text=True)
    assert client.post(f"/query/orders/{number}/continue").headers["Location"].endswith("/query")


def test_mark_reading_is_pure_and_time_bound(app):
    with app.app_context():
        identity = order_query.QueryIdentity.of("unit", "credit_code", "91350100M000100Y43", "13912345678")
        now = utcnow()
        mark = order_query.session_mark(identity, now=now)
        assert "91350100M000100Y43" not in json.dumps(mark) and "13912345678" not in json.dumps(mark)
        assert order_query.identity_from(mark, now=now + dt.timedelta(minutes=14)) == identity
        assert order_query.identity_from(mark, now=now + dt.timedelta(minutes=15)) is None
        assert order_query.identity_from({**mark, "credit_code": "bm9wZQ=="}, now=now) is None
        assert order_query.identity_from(None, now=now) is None


@pytest.mark.parametrize(("status", "target"), [
    (OrderStatus.AWAITING_MATERIALS, "/materials"),
    (OrderStatus.AWAITING_SIGNATURE, "/signature"),
    (OrderStatus.AWAITING_PAYMENT, "/pay"),
])
def test_continue_binds_the_order_to_this_browser(app, client, db_session, verified, status, target):
    number, credit_code, phone = unsigned_order(db_session, status)
    page = verified(credit_code, phone).get_data(as_text=True)
    assert "Continue" in page.split('id="history-orders"')[0]
    assert client.get(f"/apply/{number}/materials").status_code == 404  # not this browser's order yet
    response = client.post(f"/query/orders/{number}/continue")
    assert response.status_code == 302 and response.headers["Location"] == f"/apply/{number}{target}"
    assert client.get(f"/apply/{number}").status_code == 200
    order = db_session.scalars(select(Order).where(Order.number == number)).one()
    assert order.applicant_session_hash != public_operations.session_hash("elsewhere")
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id,
                                                          AuditEntry.action == "order.rebound")).all()
    assert [(e.actor, e.before) for e in entries] == [
        ("applicant:query", {"applicant_session": public_operations.session_hash("elsewhere")[:12]})]


def test_the_browser_that_started_the_order_loses_it(app, client, apply, db_session, latest_sms):
    response = apply()
    number = response.headers["Location"].rsplit("/", 1)[-1]
    credit_code = db_session.scalars(select(Order).where(Order.number == number)).one().organisation.credit_code
    assert client.get(f"/apply/{number}").status_code == 200
    other = app.test_client()
    other.get("/query?lang=en")
    ask(other, credit_code, "13912345678")
    code = sms_code_in(latest_sms("13912345678"))
    other.post("/query/verify", data={"sms_code": code})
    assert other.post(f"/query/orders/{number}/continue").headers["Location"].endswith("/materials")
    assert other.get(f"/apply/{number}/materials").status_code == 200
    assert client.get(f"/apply/{number}").status_code == 404


def test_continue_refuses_other_ids_and_finished_steps(client, paid, db_session, verified):
    number, credit_code, phone = paid()
    stranger, _, _ = unsigned_order(db_session, OrderStatus.AWAITING_MATERIALS)
    verified(credit_code, phone)
    assert client.post(f"/query/orders/{stranger}/continue").status_code == 404
    response = client.post(f"/query/orders/{number}/continue")
    assert response.headers["Location"].endswith("/query/results")
    assert db_session.scalars(select(AuditEntry).where(AuditEntry.action == "order.rebound")).all() == []


def test_posts_need_the_csrf_token(make_app, db_session):
    browser = make_app(WTF_CSRF_ENABLED=True).test_client()
    for url in ("/query", "/query/verify", "/query/orders/20260101U000001/continue"):
        assert browser.post(url, data={"sms_code": "123456"}).status_code == 400, url


def test_asking_for_codes_is_rate_limited_per_ip(rate_limited_app, db_session):
    browser = rate_limited_app.test_client()
    statuses = [browser.post("/query", data={"id_number": "x"}).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
    assert browser.get("/query").status_code == 200


def test_business_type_is_shown(paid, verified):
    number, credit_code, phone = paid(business_type=BusinessType.REPLACEMENT)
    page = verified(credit_code, phone).get_data(as_text=True)
    assert "Replacement" in page.split(f'<td data-label="Order number">{number}</td>')[1][:300]


def test_results_speak_chinese_by_default(client, paid, latest_sms):
    number, credit_code, phone = paid()
    ask(client, credit_code, phone)
    client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
    page = client.get("/query/results").get_data(as_text=True)
    assert number in page and "1年期单位证书" in page


def test_an_application_naming_a_company_does_not_open_the_companys_orders(app, paid, verified):
    """Anybody may file an application with a company's (public) credit code and their own phone.
    The query then shows them that application only; the company's agent still gets their code
    and sees the company's orders, not the stranger's."""
    real, credit_code, agent_phone = paid()
    fake, _, stranger_phone = paid(credit_code=credit_code, agent_phone="13611112222")  # the newest order
    stranger = app.test_client()
    page = verified(credit_code, stranger_phone, browser=stranger).get_data(as_text=True)
    assert fake in page and real not in page
    assert stranger.post(f"/query/orders/{real}/continue").status_code == 404
    page = verified(credit_code, agent_phone, browser=app.test_client()).get_data(as_text=True)
    assert real in page and fake not in page


# --- after-sale: the query as the first step of 补办 and 吊销, and the actions beside each order ---

def _verified_for(client, latest_sms, purpose: str, credit_code: str, phone: str):
    client.get(f"/query?for={purpose}&lang=en")
    solved = solve_captcha(client, f"/query?for={purpose}")
    asked = client.post(f"/query?for={purpose}", data={"cert_kind": "unit", "id_type": "credit_code",
                                                       "id_number": credit_code, "agent_phone": phone, **solved})
    assert asked.headers["Location"].endswith("/query/verify")
    return client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})


@pytest.mark.parametrize("purpose", ["replacement", "revocation"])
def test_the_sms_code_of_an_after_sale_query_leads_on_to_its_service(client, app, db_session, latest_sms, purpose):
    from tests.public.test_replacement import keyed_order

    order = keyed_order(app, db_session)
    number, credit_code, phone = order.number, order.organisation.credit_code, order.agent.phone
    db_session.commit()
    answer = _verified_for(client, latest_sms, purpose, credit_code, phone)
    assert answer.headers["Location"] == f"/{purpose}"
    assert number in client.get(f"/{purpose}?lang=en").get_data(as_text=True)
    with client.session_transaction() as kept:  # used once: the next query ends on its results
        assert "order_query_next" not in kept


def _actions(page: str, number: str) -> dict[str, str]:
    row = page.split(f'id="order-{number}"')[1].split("</tr>")[0]
    return {slug: href for href, slug in re.findall(r'class="after-sale" data-service="([\w-]+)" href="([^"]+)"', row)
            for slug, href in [(href, slug)]}


def test_the_results_offer_each_order_the_after_sale_services_it_allows(client, app, db_session, verified):
    from tests.public.test_replacement import keyed_order

    keyed = keyed_order(app, db_session, serial="ab" * 16, card="PC20260000001")
    same = {"credit_code": keyed.organisation.credit_code, "agent_phone": keyed.agent.phone}
    shipped = keyed_order(app, db_session, until=OrderStatus.SHIPPED, serial="ef" * 16, card="PC20260000002", **same)
    revoked = keyed_order(app, db_session, serial="12" * 16, card="PC20260000003", **same)
    db_session.scalars(select(Certificate).where(Certificate.order_id == revoked.id)).one().status = \
        CertificateStatus.REVOKED
    ending = keyed_order(app, db_session, serial="34" * 16, card="PC20260000004", **same)
    expired = keyed_order(app, db_session, serial="56" * 16, card="PC20260000005", **same)
    for order, days in ((ending, 30), (expired, -10)):
        db_session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one().not_after = \
            utcnow() + dt.timedelta(days=days)
    ending_number, expired_number = ending.number, expired.number
    unpaid_number, _, _ = unsigned_order(db_session, OrderStatus.AWAITING_PAYMENT, **same)
    numbers = keyed.number, shipped.number, revoked.number
    credit_code, phone = keyed.organisation.credit_code, keyed.agent.phone
    db_session.commit()

    page = verified(credit_code, phone).get_data(as_text=True)
    for number in numbers[:2]:  # a key out, its certificate valid for most of a year
        actions = _actions(page, number)
        assert set(actions) == {"unlock", "change", "replacement", "revocation"}, number
        assert actions["replacement"] == f"/replacement/{number}"
        assert actions["unlock"] == "/c/direct/unlock"  # online: a key page for the key helper
    assert actions["revocation"] == "/revocation/" + "ef" * 16
    # Renewal from 89 days before the expiry day; an expired certificate allows nothing else.
    assert set(_actions(page, ending_number)) == {"renewal", "unlock", "change", "replacement", "revocation"}
    # its renewal page offers the key at this PC (the helper) or by post
    assert _actions(page, expired_number) == {"renewal": f"/renewal/orders/{expired_number}"}
    assert _actions(page, numbers[2]) == {}  # a revoked certificate allows none
    unpaid_row = page.split(f'id="order-{unpaid_number}"')[1].split("</tr>")[0]
    assert "Continue" in unpaid_row and "after-sale" not in unpaid_row  # 继续办理 for an unfinished one


def test_an_agent_who_queried_by_their_own_id_is_not_offered_revocation(client, app, db_session, verified):
    from tests.public.test_replacement import keyed_order

    keyed = keyed_order(app, db_session)
    number, phone = keyed.number, keyed.agent.phone
    db_session.commit()
    page = verified(AGENT_ID, phone, id_type="resident_id").get_data(as_text=True)
    assert set(_actions(page, number)) == {"unlock", "change", "replacement"}
