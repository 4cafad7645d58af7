"""The retention rule: five years after the certificate ends (or the order closed without one),
the personal data and documents go, and what the audit needs stays."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import func, select

from backoffice.retention_cli import material_store
from documents import retention
from models import (
    AuditEntry,
    CaCertificate,
    CaRole,
    Certificate,
    CertificateProfile,
    EmailMessage,
    Material,
    Order,
    OrderStatus,
    Payment,
    SmsMessage,
    StaffRole,
    audit_chain,
)
from notifications import outbox
from notifications.interfaces import Attachment, SmsContent
from notifications.messages import EmailContent
from tests import factories

# Five years before NOW is 2026-06-15 12:00 UTC.
NOW = dt.datetime(2031, 6, 15, 12, tzinfo=dt.UTC)
FIVE_YEARS_AND_A_DAY = dt.datetime(2026, 6, 14, 12, tzinfo=dt.UTC)
FOUR_YEARS_364_DAYS = dt.datetime(2026, 6, 16, 12, tzinfo=dt.UTC)

pytestmark = pytest.mark.usefixtures("in_app")


def _certificate(session, order: Order, not_after: dt.datetime) -> Certificate:
    serial = f"{order.id:032x}"
    ca = CaCertificate(role=CaRole.ISSUING, subject="CN=Retention Test CA", serial_number=f"ca{serial[2:]}",
                       not_before=not_after - dt.timedelta(days=3650), not_after=not_after + dt.timedelta(days=3650),
                       der=b"0", key_ref="file:retention.key", created_by="ceremony:test")
    profile = CertificateProfile(code=f"retention-{order.id}", name="Retention test", key_types="rsa2048",
                                 key_usage="digital_signature", extended_key_usage="client_auth", policy_oid="1.2.3.4")
    session.add_all([ca, profile])
    session.flush()
    certificate = Certificate(order_id=order.id, issuer_id=ca.id, profile_id=profile.id, job_id=f"job-{serial}",
                              serial_number=serial, subject=f"CN={order.holder_name}", key_type="rsa2048",
                              csr_sha256="0" * 64, not_before=not_after - dt.timedelta(days=365), not_after=not_after,
                              der=b"certificate")
    session.add(certificate)
    order.status = OrderStatus.COMPLETED
    order.completed_at = not_after - dt.timedelta(days=360)
    session.flush()
    return certificate


def _with_messages(session, order: Order) -> None:
    outbox.queue_sms(session, order.agent.phone, SmsContent("test", "SMS_T", {}, f"订单 {order.agent.name}"),
                     order=order)
    outbox.queue_email(session, order.agent.email or "agent@example.cn",
                       EmailContent("test", "发票", f"{order.agent.name} 您好"), order=order,
                       attachments=[Attachment("invoice.pdf", "application/pdf", b"%PDF-1.7")])
    session.flush()


def _certified(app, session, not_after: dt.datetime) -> Order:
    made = factories.payment(session, app.config["UPLOAD_FOLDER"])
    _certificate(session, made.order, not_after)
    _with_messages(session, made.order)
    return made.order


def _closed_without_certificate(app, session, closed_at: dt.datetime, status: OrderStatus) -> Order:
    order = factories.unpaid_order(session, app.config["UPLOAD_FOLDER"])
    order.status = status
    setattr(order, "rejected_at" if status is OrderStatus.REJECTED else "cancelled_at", closed_at)
    session.flush()
    return order


class Files:
    """An order's material files, read through the store the purge deletes them from."""

    def __init__(self, session, order: Order):
        self.names = list(session.scalars(select(Material.stored_name).where(Material.order_id == order.id)))

    def kept(self) -> list[bool]:
        return [self._exists(name) for name in self.names]

    @staticmethod
    def _exists(name: str) -> bool:
        try:
            material_store().read(name)
        except (FileNotFoundError, LookupError):  # the folder's answer, or a store's for a name it lacks
            return False
        return True


def _purge(app, session, **options) -> retention.PurgeReport:
    return retention.purge_expired(session, NOW, material_store(), **options)


@pytest.fixture
def orders(app, db_session):
    """expired: its certificate ended 5 years and a day before NOW; recent: 4 years 364 days;
    rejected: closed without a certificate 5 years and a day before; cancelled: 4 years 364 days."""
    made = {
        "expired": _certified(app, db_session, FIVE_YEARS_AND_A_DAY),
        "recent": _certified(app, db_session, FOUR_YEARS_364_DAYS),
        "rejected": _closed_without_certificate(app, db_session, FIVE_YEARS_AND_A_DAY, OrderStatus.REJECTED),
        "cancelled": _closed_without_certificate(app, db_session, FOUR_YEARS_364_DAYS, OrderStatus.CANCELLED),
    }
    return made


def test_an_order_whose_certificate_ended_five_years_and_a_day_ago_loses_its_personal_data(app, db_session, orders):
    order = orders["expired"]
    files = Files(db_session, order)
    number, credit_code, serial = order.number, order.organisation.credit_code, order.organisation.name
    assert len(files.names) == 5 and all(files.kept())
    order.revocation_note = "钥匙和密码一起丢在出租车上"
    db_session.commit()

    report = _purge(app, db_session)

    assert report.orders == [order.number, orders["rejected"].number]
    assert report.files == 10 and report.people == 4 and not report.failed
    db_session.expire_all()
    assert not any(files.kept())
    for person in (order.legal_rep, order.agent):
        assert (person.name, person.phone, person.email, person.id_number, person.id_number_digest,
                person.bank_card_number) == ("", None, None, None, None, None)
    assert (order.account_name, order.account_number, order.mailing_address, order.invoice_address_phone,
            order.invoice_bank_account, order.organisation.phone) == ("", "", "", None, None, None)
    assert order.revocation_note is None
    sms = db_session.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id)).all()
    assert sms and all(m.phone == "" and m.text in ("", None) for m in sms)
    emails = db_session.scalars(select(EmailMessage).where(EmailMessage.order_id == order.id)).all()
    assert emails and all(m.to_address == "" and m.body == "" for m in emails)
    # What the audit needs stays: the number, the state, the certificate, the payment, the documents' rows.
    assert (order.number, order.status, order.organisation.credit_code) == (number, OrderStatus.COMPLETED,
                                                                             credit_code)
    assert order.organisation.name == serial and order.purged_at == NOW
    assert db_session.scalar(select(Certificate.der).where(Certificate.order_id == order.id)) == b"certificate"
    assert db_session.scalar(select(Payment.amount_cents).where(Payment.order_id == order.id)) == order.price_cents
    assert db_session.scalar(select(func.count()).where(Material.order_id == order.id)) == 5
    assert [e.action for e in order.audit_entries][-1] == retention.PURGED_ACTION


def test_an_order_within_the_period_is_untouched(app, db_session, orders):
    untouched = {name: orders[name] for name in ("recent", "cancelled")}
    before = {name: (o.agent.name, o.agent.id_number, o.mailing_address) for name, o in untouched.items()}

    _purge(app, db_session)

    db_session.expire_all()
    for name, order in untouched.items():
        assert order.purged_at is None
        assert (order.agent.name, order.agent.id_number, order.mailing_address) == before[name]
        assert all(Files(db_session, order).kept())


def test_a_second_run_removes_nothing(app, db_session, orders):
    _purge(app, db_session)

    again = _purge(app, db_session)

    assert again.orders == [] and again.counts()["files"] == 0


def test_a_dry_run_changes_nothing(app, db_session, orders):
    order = orders["expired"]
    files = Files(db_session, order)
    entries = db_session.scalar(select(func.count()).select_from(AuditEntry))

    report = _purge(app, db_session, dry_run=True)

    assert report.dry_run and report.orders == [order.number, orders["rejected"].number] and report.files == 10
    db_session.expire_all()
    assert order.purged_at is None and order.agent.name and order.agent.id_number
    assert all(files.kept())
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)) == entries


def test_the_audit_chain_still_verifies_after_a_purge(app, db_session, orders):
    _purge(app, db_session)
    db_session.commit()  # as `retention purge` does: its entries are linked into the chain then
    run = db_session.scalars(select(AuditEntry).where(AuditEntry.action == retention.RUN_ACTION)).one()
    assert run.after["orders"] == 2 and run.actor == retention.ACTOR

    key = base64.b64decode(app.config["AUDIT_SEAL_KEY"])
    audit_chain.seal_head(db_session, key)
    assert [str(problem) for problem in audit_chain.verify(db_session, key)] == []


def test_fewer_years_than_the_law_asks_are_refused(app, db_session, orders):
    with pytest.raises(ValueError, match="at least 5 years"):
        _purge(app, db_session, years=4)
    assert _purge(app, db_session, years=6).orders == []


def test_an_order_whose_files_cannot_be_deleted_is_left_for_the_next_run(app, db_session, orders):
    class Broken:
        def delete(self, name: str) -> None:
            raise OSError("read-only file system")

    report = retention.purge_expired(db_session, NOW, Broken())

    assert report.orders == [] and set(report.failed) == {orders["expired"].number, orders["rejected"].number}
    assert orders["expired"].purged_at is None and orders["expired"].agent.name


def test_the_command_prints_what_it_removed(app, db_session, orders, runner, monkeypatch):
    monkeypatch.setattr("backoffice.retention_cli.utcnow", lambda: NOW)
    numbers = orders["expired"].number, orders["rejected"].number
    db_session.commit()

    dry = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove the personal data of 2 order(s)" in dry.output and all(n in dry.output for n in numbers)

    done = runner.invoke(args=["retention", "purge"])
    assert done.exit_code == 0, done.output
    assert "removed the personal data of 2 order(s): 4 people, 10 file(s)" in done.output
    assert db_session.scalars(select(Order.purged_at).where(Order.number == numbers[0])).one() == NOW

    assert "of 0 order(s)" in runner.invoke(args=["retention", "purge"]).output


def test_a_purged_order_reads_sensibly_on_the_staff_pages(app, db_session, orders, client, login_as):
    order = orders["expired"]
    material_id = db_session.scalars(select(Material.id).where(Material.order_id == order.id)).first()
    _purge(app, db_session)
    db_session.commit()

    for role in (StaffRole.FINANCE, StaffRole.SENIOR_REVIEWER):
        login_as(role)
        page = client.get(f"/console/orders/{order.number}")
        assert page.status_code == 200, role
        assert 'id="purged"' in page.get_data(as_text=True)  # "personal data removed under the retention rule"
    assert 'id="documents-purged"' in client.get(f"/console/orders/{order.number}").get_data(as_text=True)
    login_as(StaffRole.SENIOR_REVIEWER)
    assert client.get(f"/console/orders/{order.number}/materials/{material_id}").status_code == 410
    assert client.get(f"/console/orders/{order.number}/audit").status_code == 200
    assert client.get(f"/console/search?q={order.number}").status_code == 200
    login_as(StaffRole.FINANCE)
    for page in ("/console/finance/payments", "/console/finance/invoices", "/console/finance/refunds"):
        assert client.get(page).status_code == 200, page


def test_an_app_set_to_keep_records_fewer_than_five_years_does_not_start(make_app, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_RETENTION_YEARS", "3")
    with pytest.raises(RuntimeError, match="RETENTION_YEARS=3: records are kept at least 5 years"):
        make_app()
    monkeypatch.setenv("BACKOFFICE_RETENTION_YEARS", "7")
    assert make_app().config["RETENTION_YEARS"] == 7


def test_the_public_order_query_no_longer_finds_a_purged_order(app, db_session, orders):
    from public import order_query

    order = orders["expired"]
    asked = order_query.QueryIdentity.of("unit", order_query.CREDIT_CODE, order.organisation.credit_code,
                                         order.agent.phone)
    assert [o.number for o in order_query.find_orders(db_session, asked)] == [order.number]

    _purge(app, db_session)

    assert order_query.find_orders(db_session, asked) == []  # no phone, no ID number left to match


def test_a_file_another_order_still_names_is_kept(app, db_session, orders):
    """Demo data shares one file between many orders: purging one must not take another's."""
    expired, recent = orders["expired"], orders["recent"]
    shared = db_session.scalars(select(Material).where(Material.order_id == expired.id)).first()
    db_session.scalars(select(Material).where(Material.order_id == recent.id)).first().stored_name = shared.stored_name
    db_session.commit()
    files = Files(db_session, expired)

    report = _purge(app, db_session)

    assert files.kept().count(True) == 1 and Files._exists(shared.stored_name)
    assert report.files == 9


def test_a_personal_order_loses_its_holder_s_personal_data(app, db_session):
    from tests.factories import resident_id
    from tests.personal_orders import personal_payment

    order = personal_payment(db_session, app.config["UPLOAD_FOLDER"], name="欧阳晓梅", id_number=resident_id(321)).order
    holder = order.holder
    assert holder.subject_serial and order.organisation is None
    _certificate(db_session, order, FIVE_YEARS_AND_A_DAY)
    _with_messages(db_session, order)
    files = Files(db_session, order)
    assert len(files.names) == 2 and all(files.kept())  # the ID card's two sides
    db_session.commit()

    report = _purge(app, db_session)

    assert order.number in report.orders and order.number not in report.failed
    db_session.expire_all()
    assert not any(files.kept())
    assert (holder.name, holder.phone, holder.email, holder.id_number, holder.id_number_digest,
            holder.bank_card_number, holder.subject_serial) == ("", None, None, None, None, None, None)
    assert (order.account_name, order.account_number, order.mailing_address, order.organisation) == (
        None, None, "", None)
    assert all(m.phone == "" for m in db_session.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id)))
    assert order.purged_at == NOW and order.status is OrderStatus.COMPLETED
    assert db_session.scalar(select(Certificate.der).where(Certificate.order_id == order.id)) == b"certificate"
