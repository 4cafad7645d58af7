"""The finance console as finance uses it: payments with filters, totals and exports, the
notifications that paid nothing, confirming and re-sending refunds, voiding, reversing and
re-issuing invoices, and the day's reconciliation with the provider's bill."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from billing import invoices, refunds
from billing.payments.interfaces import PaymentProvider, ProviderError
from billing.payments.sandbox import Mismatch, SandboxProvider
from finance import views as finance_views
from models import (
    AuditEntry,
    CalendarOverride,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    NotificationOutcome,
    Payment,
    PaymentNotification,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    StaffRole,
)
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from tests import factories


def beijing(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=BUSINESS_TZ)


TODAY = utcnow().astimezone(BUSINESS_TZ).date()
YESTERDAY = TODAY - dt.timedelta(days=1)


def paid(app, db_session, **options) -> Payment:
    return factories.payment(db_session, app.config["UPLOAD_FOLDER"], **options)


def paid_at_the_provider(provider: SandboxProvider, out_trade_no: str, cents: int) -> None:
    provider.precreate(out_trade_no, cents, "subject", "http://x/notify")
    provider.pay(out_trade_no)


def blue_invoice(db_session, services, payment: Payment) -> Invoice:
    return invoices.issue_blue_invoice(db_session, services, payment.order, actor="payment:sandbox", now=utcnow())


def attr_values(html: str, name: str) -> list[str]:
    return re.findall(rf'data-{name}="([^"]+)"', html)


# --- payments ----------------------------------------------------------------------------------


def test_payments_are_listed_and_filtered_by_beijing_day_status_and_number(app, client, db_session, login_as):
    today = paid(app, db_session)
    earlier = paid(app, db_session, paid_at=beijing(TODAY - dt.timedelta(days=3)))
    pending = paid(app, db_session, status=PaymentStatus.PENDING)
    numbers = today.out_trade_no, earlier.out_trade_no, pending.out_trade_no
    price = today.amount_cents
    db_session.commit()
    login_as(StaffRole.FINANCE)

    everything = client.get("/console/finance/payments").get_data(as_text=True)
    assert set(attr_values(everything, "payment")) == set(numbers)

    page = client.get(f"/console/finance/payments?since={TODAY}&until={TODAY}").get_data(as_text=True)
    assert attr_values(page, "payment") == [numbers[0]]
    assert finance_views.yuan(price) in re.search(r"data-totals>(.*?)</p>", page, re.S).group(1)

    page = client.get(f"/console/finance/payments?until={TODAY - dt.timedelta(days=1)}").get_data(as_text=True)
    assert attr_values(page, "payment") == [numbers[1]]
    page = client.get("/console/finance/payments?status=pending").get_data(as_text=True)
    assert attr_values(page, "payment") == [numbers[2]]
    page = client.get(f"/console/finance/payments?q={numbers[1][-6:]}").get_data(as_text=True)
    assert attr_values(page, "payment") == [numbers[1]]


def test_payments_page_by_fifty(app, client, db_session, login_as, monkeypatch):
    monkeypatch.setattr(finance_views, "PAGE_SIZE", 2)
    made = [paid(app, db_session, paid_at=utcnow() - dt.timedelta(hours=i)).out_trade_no for i in range(3)]
    db_session.commit()
    login_as(StaffRole.FINANCE)

    first = client.get("/console/finance/payments").get_data(as_text=True)
    assert attr_values(first, "payment") == made[:2]
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert attr_values(client.get(following).get_data(as_text=True), "payment") == made[2:]


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_payments_export_as_csv_with_bom_and_as_xlsx(app, client, db_session, login_as, billing_services):
    payment = paid(app, db_session)
    invoice_number = blue_invoice(db_session, billing_services, payment).number
    number, price, organisation = payment.out_trade_no, payment.amount_cents, payment.order.organisation.name
    paid(app, db_session, paid_at=beijing(TODAY - dt.timedelta(days=10)))
    db_session.commit()
    login_as(StaffRole.FINANCE)

    response = client.get(f"/console/finance/payments?since={TODAY}&export=csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[1][0] == number and rows[1][1] == organisation
    assert rows[1][3] == f"{price / 100:.2f}" and rows[1][8] == invoice_number

    response = client.get(f"/console/finance/payments?since={TODAY}&export=xlsx")
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 2
    assert values[1][0] == number and values[1][3] == pytest.approx(price / 100) and values[1][8] == invoice_number


# --- notifications -----------------------------------------------------------------------------


def test_notifications_that_paid_nothing_are_listed_with_their_detail(app, client, db_session, login_as):
    for outcome, detail in ((NotificationOutcome.ACCEPTED, None), (NotificationOutcome.DUPLICATE, None),
                            (NotificationOutcome.BAD_SIGNATURE, "signature does not verify"),
                            (NotificationOutcome.AMOUNT_MISMATCH, "paid 1 cents, the order costs 30000")):
        db_session.add(PaymentNotification(provider="sandbox", out_trade_no="20991231U000001", notify_id="n",
                                           trade_status="TRADE_SUCCESS", amount_cents=1, outcome=outcome,
                                           detail=detail, params={}))
    db_session.commit()
    login_as(StaffRole.FINANCE)

    page = client.get("/console/finance/notifications").get_data(as_text=True)
    assert "signature does not verify" in page and "the order costs 30000" in page
    assert len(attr_values(page, "notification")) == 2
    only = client.get("/console/finance/notifications?outcome=amount_mismatch").get_data(as_text=True)
    assert len(attr_values(only, "notification")) == 1 and "signature does not verify" not in only

    home = client.get("/console/finance/").get_data(as_text=True)
    assert re.search(r'data-count="notifications_rejected_today">\s*<span[^>]*>2<', home)


# --- refunds -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_finance_confirms_a_refund_and_the_provider_pays_it_back(app, client, db_session, login_as,
                                                                billing_services, worker_round):
    payment = paid(app, db_session)
    paid_at_the_provider(billing_services.provider, payment.out_trade_no, payment.amount_cents)
    blue = blue_invoice(db_session, billing_services, payment)
    refund = refunds.propose_refund(db_session, payment, RefundReason.REJECTED, actor="staff:reviewer")
    refund_id, payment_id, blue_id, request_no = refund.id, payment.id, blue.id, refund.out_request_no
    db_session.commit()
    finance = login_as(StaffRole.FINANCE)

    listed = client.get("/console/finance/refunds").get_data(as_text=True)
    assert attr_values(listed, "refund") == [request_no]
    home = client.get("/console/finance/").get_data(as_text=True)
    assert re.search(r'data-count="refunds_awaiting">\s*<span[^>]*>1<', home)

    response = client.post(f"/console/finance/refunds/{refund_id}/confirm",
                           data={"next": "/console/finance/refunds?status=awaiting_confirmation"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/finance/refunds?status=awaiting_confirmation")

    refund = db_session.get(Refund, refund_id)
    assert refund.status is RefundStatus.SUCCEEDED and refund.attempts == 1
    assert refund.confirmed_by_id == finance.id
    assert db_session.get(Payment, payment_id).status is PaymentStatus.REFUNDED
    assert db_session.get(Invoice, blue_id).status is InvoiceStatus.ISSUED, "reversed by a worker, not the request"
    worker_round()
    assert db_session.get(Invoice, blue_id).status is InvoiceStatus.REVERSED
    assert billing_services.provider.query(request_no.removesuffix("-R1")).status == "TRADE_CLOSED"
    page = client.get("/console/finance/refunds").get_data(as_text=True)
    assert 'data-status="succeeded"' in page and finance.display_name in page
    assert f"/console/finance/refunds/{refund_id}/confirm" not in page


def test_a_refund_the_provider_refused_can_be_sent_again(app, client, db_session, login_as, billing_services):
    payment = paid(app, db_session)  # not paid at the provider yet: the first send fails
    refund = refunds.propose_refund(db_session, payment, RefundReason.REJECTED, actor="staff:reviewer")
    refund_id, request_no = refund.id, refund.out_request_no
    out_trade_no, cents = payment.out_trade_no, payment.amount_cents
    db_session.commit()
    login_as(StaffRole.FINANCE)

    client.post(f"/console/finance/refunds/{refund_id}/confirm")
    refund = db_session.get(Refund, refund_id)
    assert refund.status is RefundStatus.CONFIRMED and refund.last_error and refund.attempts == 1
    failed = client.get("/console/finance/refunds?failed=1").get_data(as_text=True)
    assert attr_values(failed, "refund") == [request_no]
    assert f"/console/finance/refunds/{refund_id}/send" in failed
    assert re.search(r'data-count="refunds_failed">\s*<span[^>]*>1<',
                     client.get("/console/finance/").get_data(as_text=True))

    paid_at_the_provider(billing_services.provider, out_trade_no, cents)
    client.post(f"/console/finance/refunds/{refund_id}/send")
    refund = db_session.get(Refund, refund_id)
    assert refund.status is RefundStatus.SUCCEEDED and refund.attempts == 2 and refund.last_error is None


def test_refunds_export(app, client, db_session, login_as):
    payment = paid(app, db_session)
    refund = refunds.propose_refund(db_session, payment, RefundReason.REJECTED, actor="staff:reviewer")
    request_no = refund.out_request_no
    db_session.commit()
    login_as(StaffRole.FINANCE)

    rows = list(csv.reader(io.StringIO(
        client.get("/console/finance/refunds?export=csv").data.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [request_no]
    sheet = load_workbook(io.BytesIO(client.get("/console/finance/refunds?export=xlsx").data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [request_no]


def test_an_admin_sees_the_refunds_but_cannot_confirm_them(app, client, db_session, login_as):
    payment = paid(app, db_session)
    refund = refunds.propose_refund(db_session, payment, RefundReason.REJECTED, actor="staff:reviewer")
    refund_id, request_no = refund.id, refund.out_request_no
    db_session.commit()
    login_as(StaffRole.ADMIN)

    page = client.get("/console/finance/refunds").get_data(as_text=True)
    assert attr_values(page, "refund") == [request_no]
    assert f"/console/finance/refunds/{refund_id}/confirm" not in page
    assert client.post(f"/console/finance/refunds/{refund_id}/confirm").status_code == 403
    assert db_session.get(Refund, refund_id).status is RefundStatus.AWAITING_CONFIRMATION


# --- invoices ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_void_needs_a_reason_and_the_order_can_be_invoiced_again(app, client, db_session, login_as,
                                                                billing_services):
    payment = paid(app, db_session)
    blue = blue_invoice(db_session, billing_services, payment)
    blue_id, blue_number, order_number, order_id = blue.id, blue.number, payment.order.number, payment.order_id
    payment_id = payment.id
    db_session.commit()
    login_as(StaffRole.FINANCE)

    page = client.get("/console/finance/invoices").get_data(as_text=True)
    assert attr_values(page, "invoice") == [blue_number]
    assert f"/console/finance/invoices/{blue_id}/void" in page

    client.post(f"/console/finance/invoices/{blue_id}/void", data={"reason": "   "})
    assert db_session.get(Invoice, blue_id).status is InvoiceStatus.ISSUED

    client.post(f"/console/finance/invoices/{blue_id}/void", data={"reason": "抬头有误"})
    voided = db_session.get(Invoice, blue_id)
    assert voided.status is InvoiceStatus.VOIDED and voided.void_reason == "抬头有误"
    assert db_session.scalar(select(AuditEntry).where(AuditEntry.action == "invoice.voided",
                                                      AuditEntry.order_id == order_id)) is not None

    page = client.get("/console/finance/invoices").get_data(as_text=True)
    assert f"/console/finance/orders/{order_number}/invoice" in page
    client.post(f"/console/finance/orders/{order_number}/invoice")
    again = invoices.active_blue_invoice(db_session, db_session.get(Payment, payment_id).order)
    assert again is not None and again.id != blue_id
    again_id = again.id
    # Now that one is in force, a second click issues nothing more.
    client.post(f"/console/finance/orders/{order_number}/invoice")
    assert db_session.scalar(select(Invoice.id).where(Invoice.order_id == order_id, Invoice.id > again_id)) is None


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_an_invoice_of_an_earlier_month_cannot_be_voided_but_can_be_reversed(app, client, db_session, login_as,
                                                                             billing_services):
    payment = paid(app, db_session)
    blue = blue_invoice(db_session, billing_services, payment)
    blue.issued_at = utcnow() - dt.timedelta(days=40)
    blue_id, order_id = blue.id, payment.order_id
    db_session.commit()
    login_as(StaffRole.FINANCE)

    page = client.get("/console/finance/invoices").get_data(as_text=True)
    assert f"/console/finance/invoices/{blue_id}/void" not in page
    client.post(f"/console/finance/invoices/{blue_id}/void", data={"reason": "抬头有误"})
    assert db_session.get(Invoice, blue_id).status is InvoiceStatus.ISSUED

    client.post(f"/console/finance/invoices/{blue_id}/red")
    assert db_session.get(Invoice, blue_id).status is InvoiceStatus.REVERSED
    red = db_session.scalar(select(Invoice).where(Invoice.order_id == order_id, Invoice.kind == InvoiceKind.RED))
    assert red.original_id == blue_id
    expected = [(red.number, f"-{red.total_cents / 100:.2f}")]
    rows = list(csv.reader(io.StringIO(
        client.get("/console/finance/invoices?kind=red&export=csv").data.decode("utf-8-sig"))))
    assert [(row[0], row[5]) for row in rows[1:]] == expected


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
@pytest.mark.parametrize("role", [StaffRole.FINANCE, StaffRole.REVIEWER])
def test_the_invoice_pdf_downloads_as_an_attachment(app, client, db_session, login_as, billing_services, role):
    blue = blue_invoice(db_session, billing_services, paid(app, db_session))
    blue_id, filename = blue.id, blue.filename
    db_session.commit()
    login_as(role)

    response = client.get(f"/console/finance/invoices/{blue_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.get("/console/finance/invoices/999999/pdf").status_code == 404


# --- reconciliation ----------------------------------------------------------------------------


def test_reconciliation_shows_a_planted_trade_and_exports_it(app, client, db_session, login_as, replace_service,
                                                             tmp_path):
    noon = beijing(YESTERDAY)
    # The provider's clock says yesterday noon, when both sides record the payment.
    provider = SandboxProvider(tmp_path / "ledger.sqlite3", delay_seconds=0, now=lambda: noon)
    replace_service(PaymentProvider, provider)
    payment = paid(app, db_session, paid_at=noon)
    paid_at_the_provider(provider, payment.out_trade_no, payment.amount_cents)
    planted = provider.plant_mismatch(Mismatch.UNKNOWN_TRADE, amount_cents=12345, paid_at=noon)
    db_session.commit()
    login_as(StaffRole.FINANCE)

    page = client.get("/console/finance/reconciliation").get_data(as_text=True)
    assert f'value="{YESTERDAY.isoformat()}"' in page
    assert re.findall(r'data-mismatch="([^"]+)" data-trade="([^"]+)"', page) == [("paid_but_unknown", planted)]
    summary = re.search(r"data-summary>(.*?)</table>", page, re.S).group(1)
    assert "2 / " in summary and "1 / " in summary and "123.45" in page

    rows = list(csv.reader(io.StringIO(client.get(
        f"/console/finance/reconciliation?day={YESTERDAY}&export=csv").data.decode("utf-8-sig"))))
    assert [(row[1], row[6]) for row in rows[1:]] == [(planted, "123.45")]
    sheet = load_workbook(io.BytesIO(client.get(
        f"/console/finance/reconciliation?day={YESTERDAY}&export=xlsx").data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [planted]


def test_reconciliation_says_when_the_provider_fails(app, client, db_session, login_as, billing_services,
                                                    monkeypatch):
    def refuse(day):
        raise ProviderError("gateway timeout")

    monkeypatch.setattr(billing_services.provider, "download_bill", refuse)
    login_as(StaffRole.ADMIN)

    response = client.get(f"/console/finance/reconciliation?day={YESTERDAY}")
    assert response.status_code == 200
    assert "gateway timeout" in re.search(r"data-error>(.*?)</div>", response.get_data(as_text=True)).group(1)
    assert client.get(f"/console/finance/reconciliation?day={TODAY}").status_code == 200


# --- the finance home --------------------------------------------------------------------------


@pytest.mark.parametrize(("moment", "weekday", "working"), [
    (beijing(dt.date(2026, 11, 29), 10), "Sunday", False),
    (beijing(dt.date(2026, 11, 27), 23), "Friday", True),
    (beijing(dt.date(2026, 2, 14), 9), "Saturday", True),  # worked for the Spring Festival
    (beijing(dt.date(2026, 11, 30), 0), "Monday", True),  # Sunday 16:00 UTC
])
def test_the_finance_home_names_the_day_and_calls_no_day_off_a_working_day(client, db_session, login_as, moment,
                                                                            weekday, working):
    with time_machine.travel(moment, tick=False):
        login_as(StaffRole.FINANCE)
        page = client.get("/console/finance/?lang=en").get_data(as_text=True)
    day = moment.date().isoformat()
    assert f"Today (Beijing time): {day}, {weekday}." in page
    assert ("Not a working day" in page) is not working
    assert f"/console/finance/payments?since={day}&amp;until={day}" in page


def test_a_day_off_the_admins_declared_is_no_working_day_on_the_finance_home(client, db_session, login_as):
    wednesday = dt.date(2026, 11, 25)
    db_session.add(CalendarOverride(day=wednesday, is_workday=False, note="office move", added_by="admin"))
    db_session.commit()
    with time_machine.travel(beijing(wednesday), tick=False):
        login_as(StaffRole.ADMIN)
        page = client.get("/console/finance/?lang=en").get_data(as_text=True)
    assert "Today (Beijing time): 2026-11-25, Wednesday." in page and "Not a working day" in page


def test_the_navigation_leads_finance_and_admins_to_the_finance_console(client, db_session, login_as):
    login_as(StaffRole.FINANCE)
    assert 'href="/console/finance/"' in client.get("/console/search").get_data(as_text=True)
    login_as(StaffRole.REVIEWER)
    assert 'href="/console/finance/"' not in client.get("/console/search").get_data(as_text=True)
