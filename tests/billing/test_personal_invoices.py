"""A personal certificate's money side: its e-invoice is made out to the holder by name, with no taxpayer
ID (a person has none) and never their ID number; finance's payments, invoices, refunds and bank
transfer pages list the order under the holder's name."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from billing import invoices, refunds
from models import BusinessType, EmailMessage, RefundReason, StaffRole
from models.base import utcnow
from tests.billing.test_invoices import _pdf
from tests.factories import resident_id
from tests.personal_orders import personal_payment, unpaid_personal_order

HOLDER = "司马晓梅"
ID_NUMBER = resident_id(654)


@pytest.fixture
def personal(app, db_session):
    return personal_payment(db_session, app.config["UPLOAD_FOLDER"], name=HOLDER, id_number=ID_NUMBER)


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_the_invoice_of_a_personal_order_is_made_out_to_the_holder(db_session, billing_services, personal):
    order = personal.order
    invoice = invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=utcnow())

    assert (invoice.buyer_name, invoice.buyer_taxpayer_id) == (HOLDER, None)
    text = _pdf(billing_services, invoice)
    assert f"名称：{HOLDER}" in text.replace(" ", "")
    assert invoice.number in text and order.number in text and "¥300.00" in text.replace(" ", "")
    assert "None" not in text and ID_NUMBER not in text
    email = db_session.scalars(select(EmailMessage).where(EmailMessage.order_id == order.id)).one()
    assert email.to_address == order.holder.email

    red = invoices.issue_red_invoice(db_session, billing_services, invoice, actor="finance", now=utcnow())
    assert (red.buyer_name, red.buyer_taxpayer_id) == (HOLDER, None) and HOLDER in _pdf(billing_services, red)


@pytest.mark.usefixtures("in_app")
def test_finance_lists_a_personal_order_under_the_holder_s_name(app, client, db_session, login_as, billing_services,
                                                                  personal):
    invoice = invoices.issue_blue_invoice(db_session, billing_services, personal.order, actor="t", now=utcnow())
    refunds.propose_refund(db_session, personal, RefundReason.REJECTED, actor="staff:reviewer")
    transfer = unpaid_personal_order(db_session, app.config["UPLOAD_FOLDER"], name="诸葛小明",
                                     business_type=BusinessType.REPLACEMENT)
    number = personal.order.number
    db_session.commit()
    login_as(StaffRole.FINANCE)

    payments = client.get(f"/console/finance/payments?number={number}").get_data(as_text=True)
    assert number in payments and HOLDER in payments
    rows = client.get(f"/console/finance/payments?number={number}&export=csv").data.decode("utf-8-sig")
    assert f"{number},{HOLDER}," in rows
    listed = client.get(f"/console/finance/invoices?number={invoice.number}").get_data(as_text=True)
    assert invoice.number in listed and HOLDER in listed and "None" not in listed.split(invoice.number, 1)[1][:400]
    refund_page = client.get("/console/finance/refunds").get_data(as_text=True)
    assert number in refund_page and HOLDER in refund_page
    transfers = client.get("/console/finance/transfers").get_data(as_text=True)
    row = transfers.split(f'data-order="{transfer.number}"')[1].split("</tr>")[0]
    assert "诸葛小明" in row
    page = client.get(f"/console/finance/transfers/{transfer.number}").get_data(as_text=True)
    assert "诸葛小明" in page
