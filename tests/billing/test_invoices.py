"""E-invoices as issued for orders: gap-free numbers per year, the PDF's text, voiding,
red invoices, and the tax platform's adapter slot."""
from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing import invoices
from billing.issuers import InvoiceIssuer, IssuerError, TaxPlatformIssuer
from billing.services import BillingError
from models import Invoice, InvoiceKind, InvoiceStatus, OrderStatus
from models.base import utcnow
from tests import factories
from tests.fake_service import signed_json_service

BEIJING = dt.timezone(dt.timedelta(hours=8))


def _text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def _pdf(services, invoice) -> str:
    """The text of the invoice's PDF as the document store gives it back."""
    return _text(invoices.invoice_pdf(services.store, invoice))


def _paid(app, session, **overrides):
    return factories.payment(session, app.config["UPLOAD_FOLDER"], **overrides).order


def test_split_tax_is_exact_to_the_cent():
    assert invoices.split_tax(30000, Decimal("0.06")) == (28302, 1698)
    assert invoices.split_tax(1, Decimal("0.06")) == (1, 0)
    for total in (1, 99, 30000, 123457):
        amount, tax = invoices.split_tax(total, Decimal("0.13"))
        assert amount + tax == total


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_numbers_run_without_gaps_within_a_year_and_restart_the_next(app, db_session, billing_services):
    numbers = []
    for when in (dt.datetime(2026, 12, 31, 23, 50, tzinfo=BEIJING), dt.datetime(2026, 12, 31, 23, 55, tzinfo=BEIJING),
                 dt.datetime(2027, 1, 1, 0, 5, tzinfo=BEIJING)):
        order = _paid(app, db_session)
        numbers.append(invoices.issue_blue_invoice(db_session, billing_services, order, actor="test", now=when))
    first, second, third = numbers
    assert (first.year, second.year, third.year) == (2026, 2026, 2027)
    assert second.sequence == first.sequence + 1 and third.sequence == 1
    assert second.number[:2] == "26" and third.number == "27110108000000000001" and len(first.number) == 20


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_a_failed_issue_gives_its_number_back(app, db_session, billing_services):
    """Gap-free: a number taken by an invoice that is then not stored is taken again by the next."""
    when = dt.datetime(2026, 6, 1, 10, tzinfo=BEIJING)
    first = invoices.issue_blue_invoice(db_session, billing_services, _paid(app, db_session), actor="t", now=when)

    class Failing:
        name = "sandbox"

        def issue(self, session, request, now):
            billing_services_issuer.issue(session, request, now)  # takes a number...
            raise IssuerError("platform down")  # ...and fails afterwards

    billing_services_issuer, billing_services.issuer = billing_services.issuer, Failing()
    with pytest.raises(IssuerError):
        invoices.issue_blue_invoice(db_session, billing_services, _paid(app, db_session), actor="t", now=when)
    billing_services.issuer = billing_services_issuer
    third = invoices.issue_blue_invoice(db_session, billing_services, _paid(app, db_session), actor="t", now=when)
    assert third.sequence == first.sequence + 1


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_the_invoice_pdf_carries_the_order_figures_in_words_and_digits(app, db_session, billing_services):
    order = _paid(app, db_session, org_name="郑州市示例科技有限公司",
                  invoice_address_phone="郑州市金水路1号 0371-12345678")
    invoice = invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=utcnow())
    text = _pdf(billing_services, invoice)
    assert "郑州市示例科技有限公司" in text and order.invoice_taxpayer_id in text
    assert "郑州市金水路1号 0371-12345678" in text
    assert invoice.number in text and order.number in text
    assert "叁佰元整" in text and "¥300.00" in text.replace(" ", "")
    assert "283.02" in text and "16.98" in text and "6%" in text
    assert "示例数字认证股份有限公司" in text  # the seller


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_void_within_the_month_then_issue_again(app, db_session, billing_services):
    order = _paid(app, db_session)
    issued_at = dt.datetime(2026, 11, 3, 9, tzinfo=BEIJING)
    first = invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=issued_at)
    with pytest.raises(BillingError, match="reason"):
        invoices.void_invoice(db_session, billing_services, first, actor="finance", reason=" ", now=issued_at)
    with pytest.raises(BillingError, match="current month"):
        invoices.void_invoice(db_session, billing_services, first, actor="finance", reason="wrong",
                              now=dt.datetime(2026, 12, 1, 0, 5, tzinfo=BEIJING))
    invoices.void_invoice(db_session, billing_services, first, actor="finance", reason="开错了",
                          now=dt.datetime(2026, 11, 30, 23, 55, tzinfo=BEIJING))
    assert first.status == InvoiceStatus.VOIDED and first.void_reason == "开错了"
    again = invoices.issue_blue_invoice(db_session, billing_services, order, actor="finance", now=issued_at)
    assert again.id != first.id and again.sequence == first.sequence + 1


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_a_red_invoice_reverses_a_blue_one(app, db_session, billing_services):
    order = _paid(app, db_session)
    blue = invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=utcnow())
    red = invoices.issue_red_invoice(db_session, billing_services, blue, actor="finance", now=utcnow())
    assert blue.status == InvoiceStatus.REVERSED
    assert (red.kind, red.original_id, red.total_cents) == (InvoiceKind.RED, blue.id, blue.total_cents)
    text = _pdf(billing_services, red)
    assert "销项负数" in text and blue.number in text and "-300.00" in text and "负叁佰元整" in text
    with pytest.raises(BillingError):
        invoices.issue_red_invoice(db_session, billing_services, blue, actor="finance", now=utcnow())
    mails = [m.subject for m in order_mails(db_session, order)]
    assert any(red.number in s and "红字" in s for s in mails)


def order_mails(session, order):
    from models import EmailMessage

    return session.scalars(select(EmailMessage).where(EmailMessage.order_id == order.id)).all()


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_the_tax_platform_numbers_the_invoice(app, db_session, billing_services):
    def answer(request):
        assert request["action"] == "issue" and request["buyer_name"] and request["total_cents"] == 30000
        return {"number": "26442000000123456789", "issued_at": "2026-11-26T10:00:00+08:00",
                "verify_url": "https://platform.example/v?n=26442000000123456789"}

    order = _paid(app, db_session)
    with signed_json_service("platform-key", answer) as (url, received):
        billing_services.issuer = TaxPlatformIssuer(url, "platform-key")
        invoice = invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=utcnow())
    assert invoice.number == "26442000000123456789" and invoice.issuer == "tax_platform" and invoice.sequence is None
    assert received[0]["request_id"] == f"blue:{order.number}:1"
    assert "26442000000123456789" in _pdf(billing_services, invoice)


def test_a_tax_platform_refusal_stores_nothing_and_the_payment_stands(app, db_session, billing_services, client,
                                                                       replace_service):
    from billing import checkout

    order = factories.unpaid_order(db_session, app.config["UPLOAD_FOLDER"])
    checkout.payment_qr_code(db_session, billing_services, order)
    number = order.number
    db_session.commit()
    with signed_json_service("platform-key", lambda request: {"error": "taxpayer id unknown"}) as (url, _):
        replace_service(InvoiceIssuer, TaxPlatformIssuer(url, "platform-key"))
        [params] = billing_services.provider.pay(number)
        assert client.post("/pay/notify", data=params).get_data() == b"success"
        factories.worker_round(app)
    db_session.expire_all()
    order = db_session.scalar(select(factories.Order).where(factories.Order.number == number))
    assert order.status == OrderStatus.PAID
    assert db_session.scalars(select(Invoice).where(Invoice.order_id == order.id)).all() == []
    assert [e.note for e in order.audit_entries if e.action == "invoice.deferred"] == [
        "tax platform refused: taxpayer id unknown"]


def test_concurrent_payments_take_consecutive_invoice_numbers(tmp_path, tmp_path_factory, database_url):
    """Two orders paid at the same moment, their invoices made by two workers at once: two
    invoices, numbers one apart, none lost."""
    from billing import checkout
    from billing.services import current_services
    from models import WorkItem
    from tests.databases import at_once, own_app
    from web.extensions import db

    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        with app.app_context():
            services = current_services()
            numbers = []
            for _ in range(2):
                made = factories.unpaid_order(db.session, app.config["UPLOAD_FOLDER"])
                checkout.payment_qr_code(db.session, services, made)
                numbers.append(made.number)
            db.session.commit()
        notifications = [services.provider.pay(n)[0] for n in numbers]
        answers = at_once([lambda p=p: app.test_client().post("/pay/notify", data=p).get_data()
                           for p in notifications])
        assert answers == [b"success", b"success"]
        at_once([lambda: factories.worker_round(app)] * 2)
        with app.app_context():
            assert [(w.status, w.attempts) for w in db.session.scalars(select(WorkItem))] == [("done", 1)] * 2
            sequences = sorted(db.session.scalars(select(Invoice.sequence)))
            assert len(sequences) == 2 and sequences[1] == sequences[0] + 1


def test_the_sweep_invoices_paid_orders_only_not_refunded_cancelled_or_rejected(app, db_session, runner,
                                                                                billing_services):
    from billing import refunds
    from models import Payment, RefundReason

    owed = _paid(app, db_session)
    being_refunded = factories.payment(db_session, app.config["UPLOAD_FOLDER"])
    refunds.propose_refund(db_session, being_refunded, RefundReason.REJECTED, actor="t")
    late = factories.payment(db_session, app.config["UPLOAD_FOLDER"])
    late.order.status = OrderStatus.CANCELLED  # paid late; its automatic refund has not gone through yet
    owed_id, others = owed.id, (being_refunded.order_id, late.order_id)
    db_session.commit()
    result = runner.invoke(args=["billing", "sweep"])
    assert result.exit_code == 0 and "invoices issued 1" in result.output, result.output
    invoiced = set(db_session.scalars(select(Invoice.order_id)))
    assert invoiced == {owed_id} and not invoiced & set(others)
    being_refunded = db_session.scalar(select(Payment).where(Payment.order_id == others[0]))
    with pytest.raises(BillingError, match="not being refunded"):
        invoices.issue_blue_invoice(db_session, billing_services, being_refunded.order, actor="t", now=utcnow())


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_the_stored_pdf_is_sealed_like_the_bank_account_it_prints(app, db_session, billing_services):
    from sqlalchemy import text

    order = _paid(app, db_session, invoice_bank_account="中国工商银行郑州分行 6222021234567890123")
    invoice = invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=utcnow())
    assert "6222021234567890123" in _pdf(billing_services, invoice)
    # In the document store, sealed; the row names it and holds no PDF of its own.
    assert invoice.pdf_name.startswith("invoices/")
    stored = billing_services.store.read_sealed(invoice.pdf_name)
    assert not stored.startswith(b"%PDF") and b"6222021234567890123" not in stored
    assert db_session.execute(text("SELECT pdf FROM invoice WHERE id = :id"), {"id": invoice.id}).scalar_one() is None


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_an_invoice_whose_pdf_cannot_be_stored_is_not_issued(app, db_session, billing_services, monkeypatch):
    """The store is down: the savepoint takes the invoice (and its sandbox number) back, and
    `billing sweep` issues it later; nothing names a PDF that is not there."""
    from documents.storage import StorageUnavailable

    order = _paid(app, db_session)

    def unavailable(purpose, content):
        raise StorageUnavailable("bucket down")

    monkeypatch.setattr(billing_services.store, "save", unavailable)
    with pytest.raises(StorageUnavailable):
        invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=utcnow())
    assert db_session.scalars(select(Invoice).where(Invoice.order_id == order.id)).all() == []
    monkeypatch.undo()
    invoice = invoices.issue_blue_invoice(db_session, billing_services, order, actor="t", now=utcnow())
    assert "300.00" in _pdf(billing_services, invoice)
