"""The order query's results page's SQL: an ID with several orders (keys out with their certificates and
the after-sale services they allow, one with a replacement under way, invoices, one still unpaid) takes
as many statements as an ID with one. An N+1 query coming back (a key model, a person, an after-sale
check per order) fails here."""
from __future__ import annotations

from sqlalchemy import select

from models import BusinessType, Certificate, Order, OrderStatus
from public import operations as public_operations
from tests import factories
from tests.conftest import sms_code_in
from tests.public.test_order_query import add_invoice, ask
from tests.public.test_replacement import keyed_order
from tests.review.test_order_page_statements import counted_statements

# What a view of the page takes at most (7 in this test: the orders with what the page shows of them,
# their parcels, invoices and certificates, the after-sale orders open for those certificates, and the
# web edge's own): room for one or two more things on the page, none for a statement per order.
CEILING = 9


def _orders_of_an_id(app, db_session, many: int) -> tuple[str, str, list[str]]:
    """`many` orders of one organisation (one agent's phone) whose keys went out, the first with a
    replacement under way and an invoice, and an unpaid one: (credit code, phone, the order numbers)."""
    first = keyed_order(app, db_session, serial=f"{many:02x}" * 16, card=f"PC{many:03d}00")
    code, phone = first.organisation.credit_code, first.agent.phone
    orders = [first] + [keyed_order(app, db_session, serial=f"{many:02x}{n:02x}" * 8, card=f"PC{many:03d}{n:02d}",
                                    credit_code=code, agent_phone=phone) for n in range(1, many)]
    replacement = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], credit_code=code,
                                       agent_phone=phone, business_type=BusinessType.REPLACEMENT)
    replacement.previous_order_id = first.id
    replacement.certificate_id = db_session.scalar(select(Certificate.id).where(Certificate.order_id == first.id))
    unpaid = public_operations.submit_application(
        db_session, first.channel, factories.application(credit_code=code, agent_phone=phone),
        actor="applicant:test", applicant_secret="elsewhere")
    db_session.commit()
    add_invoice(db_session, app.config["UPLOAD_FOLDER"], first.number)
    return code, phone, [o.number for o in (*orders, replacement, unpaid)]


def _verified(app, latest_sms, code: str, phone: str):
    browser = app.test_client()
    browser.get("/query?lang=en")
    assert ask(browser, code, phone).headers["Location"].endswith("/query/verify")
    assert browser.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))}).status_code == 302
    return browser


def _statements_of_a_view(browser, db_session) -> tuple[int, str]:
    browser.get("/query/results?lang=en")
    db_session.expire_all()
    with counted_statements(db_session) as statements:
        response = browser.get("/query/results?lang=en")
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def test_the_results_page_takes_as_many_statements_however_many_orders_the_id_has(app, db_session, latest_sms):
    one = _orders_of_an_id(app, db_session, 1)
    several = _orders_of_an_id(app, db_session, 4)

    statements, _ = _statements_of_a_view(_verified(app, latest_sms, one[0], one[1]), db_session)
    statements_of_several, page = _statements_of_a_view(_verified(app, latest_sms, several[0], several[1]),
                                                        db_session)
    for number in several[2]:  # it does show them all, with what each allows
        assert number in page
    assert page.count('data-service="replacement"') == 3  # not the one whose replacement is under way
    assert page.count('data-service="revocation"') == 4
    assert statements_of_several == statements, (statements, statements_of_several)
    assert statements <= CEILING, statements


def test_an_order_with_a_replacement_under_way_offers_none_until_it_is_closed(app, db_session, latest_sms):
    code, phone, numbers = _orders_of_an_id(app, db_session, 1)
    browser = _verified(app, latest_sms, code, phone)
    assert 'data-service="replacement"' not in browser.get("/query/results?lang=en").get_data(as_text=True)

    replacement = db_session.scalars(select(Order).where(Order.number == numbers[1])).one()
    for status in (OrderStatus.IN_REVIEW, OrderStatus.REJECTED):
        replacement.move_to(status, "test")
    db_session.commit()
    assert 'data-service="replacement"' in browser.get("/query/results?lang=en").get_data(as_text=True)
