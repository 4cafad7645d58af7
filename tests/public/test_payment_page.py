"""The applicant's payment page: the QR code, polling until paid, the invoice download."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from models import Invoice, Order, OrderStatus
from models.base import utcnow
from tests.conftest import sms_code_in


@pytest.fixture
def signed(client, order_number, upload_all, latest_sms, billing_services, db_session):
    """An order of this client's session, materials in and signed: it waits for payment."""
    upload_all(order_number)
    client.post(f"/apply/{order_number}/materials/done")
    client.post(f"/apply/{order_number}/signature/code")
    code = sms_code_in(latest_sms("13912345678"))
    response = client.post(f"/apply/{order_number}/signature", data={"sms_code": code})
    assert response.headers["Location"].endswith(f"/apply/{order_number}/pay")
    return order_number


def test_materials_done_again_after_signing_goes_on_to_the_order_not_a_crash(client, signed, db_session):
    """The back button to the materials page, "done" once more (found by the API fuzz)."""
    response = client.post(f"/apply/{signed}/materials/done?lang=en")
    assert response.headers["Location"].endswith(f"/apply/{signed}/signature")
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "This order can no longer be changed." in page
    assert db_session.scalar(select(Order.status).where(Order.number == signed)) is OrderStatus.AWAITING_PAYMENT


def test_pay_page_polls_until_paid_then_offers_the_invoice(client, signed, billing_services, db_session,
                                                           worker_round):
    page = client.get(f"/apply/{signed}/pay").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page and "300.00" in page
    assert f"/sandbox/wallet/{signed}" in page  # the sandbox's stand-in for the buyer's phone
    assert client.get(f"/apply/{signed}/pay/status").get_json() == {
        "status": "awaiting_payment", "waiting": True, "next": None}

    billing_services.provider.pay(signed)  # paid; suppose the notification is slow
    # the provider is asked at most every 10 seconds per browser
    assert client.get(f"/apply/{signed}/pay/status").get_json()["waiting"] is True
    with time_machine.travel(utcnow() + dt.timedelta(seconds=11)):
        # (the rest in the later time too: a session signed "in the future" would not be read back)
        answer = client.get(f"/apply/{signed}/pay/status").get_json()
        assert answer == {"status": "paid", "waiting": False, "next": f"/apply/{signed}/done"}
        assert 'id="invoices"' not in client.get(f"/apply/{signed}/done").get_data(as_text=True)
        worker_round()  # a worker issues the invoice a moment later
        done = client.get(f"/apply/{signed}/done").get_data(as_text=True)
        assert "已支付（待审核）" in done
        # the payment instructions are gone, and the confirm page offers no more editing
        assert 'id="after-payment"' in done and 'id="before-payment"' not in done and 'id="go-pay"' not in done
        confirm = client.get(f"/apply/{signed}").get_data(as_text=True)
        assert 'id="return-to-edit"' not in confirm and 'id="confirm-order"' not in confirm
        assert f'href="/apply/{signed}/done"' in confirm
        order_id = db_session.scalar(select(Order.id).where(Order.number == signed))
        invoice = db_session.scalar(select(Invoice).where(Invoice.order_id == order_id))
        invoice_id, filename = invoice.id, invoice.filename
        assert f"/apply/{signed}/invoices/{invoice_id}" in done
        pdf = client.get(f"/apply/{signed}/invoices/{invoice_id}")
        assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
        assert pdf.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
        # once paid, the payment page sends the applicant on
        assert client.get(f"/apply/{signed}/pay").headers["Location"].endswith(f"/apply/{signed}/done")


def test_the_invoice_is_only_for_the_applicants_own_session(app, client, signed, billing_services, db_session,
                                                             worker_round):
    client.get(f"/apply/{signed}/pay")
    billing_services.provider.pay(signed)
    assert client.get(f"/apply/{signed}/pay/status").get_json()["waiting"] is False
    worker_round()
    order_id = db_session.scalar(select(Order.id).where(Order.number == signed))
    invoice_id = db_session.scalar(select(Invoice.id).where(Invoice.order_id == order_id))
    stranger = app.test_client()
    assert stranger.get(f"/apply/{signed}/invoices/{invoice_id}").status_code == 404
    assert stranger.get(f"/apply/{signed}/pay").status_code == 404
    assert stranger.get(f"/apply/{signed}/pay/status").status_code == 404
    assert client.get(f"/apply/{signed}/invoices/{invoice_id + 1000}").status_code == 404


def test_a_provider_failure_shows_a_clear_message_and_a_retry(client, signed, db_session):
    order = db_session.scalar(select(Order).where(Order.number == signed))
    assert order.status == OrderStatus.AWAITING_PAYMENT
    order.price_cents = 30013  # the sandbox fails amounts ending in 13 cents
    from models import Payment

    db_session.scalar(select(Payment).where(Payment.order_id == order.id)).amount_cents = 30013
    db_session.commit()
    page = client.get(f"/apply/{signed}/pay").get_data(as_text=True)
    assert 'id="payment-error"' in page and 'id="pay-qr"' not in page
    assert f'href="/apply/{signed}/pay"' in page


def test_a_free_order_goes_to_review_without_a_trade(client, order_number, upload_all, latest_sms, db_session,
                                                      billing_services):
    from models import Payment

    order = db_session.scalar(select(Order).where(Order.number == order_number))
    order.price_cents = 0  # e.g. an unlock: the catalogue charges nothing
    db_session.commit()
    upload_all(order_number)
    client.post(f"/apply/{order_number}/materials/done")
    client.post(f"/apply/{order_number}/signature/code")
    client.post(f"/apply/{order_number}/signature", data={"sms_code": sms_code_in(latest_sms("13912345678"))})
    assert client.get(f"/apply/{order_number}/pay").headers["Location"].endswith("/done")
    order = db_session.scalar(select(Order).where(Order.number == order_number))
    assert order.status == OrderStatus.PAID and order.queue is not None
    assert db_session.scalar(select(Payment).where(Payment.order_id == order.id)) is None
