"""Context beside the review: the organisation's earlier orders with their certificates, and
internal notes on an order that staff add and read (audited, never shown to the applicant)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from models import (
    AuditEntry,
    CaCertificate,
    CaRole,
    Certificate,
    CertificateProfile,
    Order,
    OrderNote,
    OrderStatus,
    Staff,
    StaffRole,
)
from models.base import utcnow
from review import context
from tests import factories
from tests.conftest import sms_code_in
from tests.public.test_order_query import ask
from web.errors import InvalidValue


def _order(db_session, number: str) -> Order:
    return db_session.scalars(select(Order).where(Order.number == number)).one()


def _notes(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(OrderNote))


def _certificate(db_session, order: Order, serial: str) -> None:
    now = utcnow()
    ca = CaCertificate(role=CaRole.ISSUING, subject="CN=Context Test CA", serial_number=f"ca{serial}",
                       not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=3650), der=b"0",
                       key_ref="file:context.key", created_by="ceremony:test")
    profile = CertificateProfile(code=f"context-{serial}", name="Context test", key_types="rsa2048",
                                 key_usage="digital_signature", extended_key_usage="client_auth",
                                 policy_oid="1.2.3.4")
    db_session.add_all([ca, profile])
    db_session.flush()
    db_session.add(Certificate(order_id=order.id, issuer_id=ca.id, profile_id=profile.id, job_id=f"job-{serial}",
                               serial_number=serial, subject="CN=Context", key_type="rsa2048", csr_sha256="0" * 64,
                               not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=365),
                               der=b"0"))
    db_session.flush()


@pytest.fixture
def organisation(app, db_session):
    """Three orders of one organisation (the oldest with a certificate), and one of another; the
    numbers: (oldest, middle, newest = the order under review, stranger's), committed."""
    folder = app.config["UPLOAD_FOLDER"]
    oldest = factories.paid_order(db_session, folder)
    code = oldest.organisation.credit_code
    oldest.created_at = utcnow() - dt.timedelta(days=400)
    _certificate(db_session, oldest, "ab" * 16)
    middle = factories.paid_order(db_session, folder, credit_code=code)
    middle.created_at = utcnow() - dt.timedelta(days=30)
    newest = factories.paid_order(db_session, folder, credit_code=code)
    stranger = factories.paid_order(db_session, folder)
    numbers = oldest.number, middle.number, newest.number, stranger.number
    db_session.commit()
    return numbers


def test_earlier_orders_are_the_same_credit_codes_others_newest_first(db_session, organisation):
    oldest, middle, newest, stranger = organisation
    found = context.earlier_orders(db_session, _order(db_session, newest))
    assert [e.number for e in found] == [middle, oldest]
    assert [c.serial_number for c in found[1].certificates] == ["ab" * 16] and found[0].certificates == []
    assert found[0].status == OrderStatus.PAID
    assert [e.number for e in context.earlier_orders(db_session, _order(db_session, newest), limit=1)] == [middle]
    assert context.earlier_orders(db_session, _order(db_session, stranger)) == []


def test_the_order_page_lists_earlier_orders_with_links_and_certificates(client, login_as, organisation):
    oldest, middle, newest, stranger = organisation
    login_as(StaffRole.REVIEWER)
    page = client.get(f"/console/orders/{newest}?lang=en").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="earlier-orders".*?</table>', page, re.S).group(0)
    assert re.findall(r'<tr data-order="([^"]+)"', table) == [middle, oldest]
    assert f'href="/console/orders/{oldest}"' in table
    assert f'href="/console/certificates/{"ab" * 16}"' in table
    assert stranger not in table and newest not in table
    assert "No other orders with this credit code." in client.get(
        f"/console/orders/{stranger}?lang=en").get_data(as_text=True)


def test_a_note_is_added_shown_with_its_author_and_audited(client, db_session, login_as, organisation):
    number = organisation[2]
    me = login_as(StaffRole.REVIEWER)
    response = client.post(f"/console/orders/{number}/notes?lang=en",
                           data={"note_text": "  Called the agent:\r\nthe licence is being renewed.  "})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/console/orders/{number}#internal-notes")
    note = db_session.scalars(select(OrderNote)).one()
    assert note.text == "Called the agent:\nthe licence is being renewed." and note.staff_id == me.id
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "order.note_added")).one()
    assert entry.actor == f"staff:{me.username}" and entry.order_id == note.order_id
    assert entry.after == {"note_id": note.id}
    page = client.get(f"/console/orders/{number}?lang=en").get_data(as_text=True)
    shown = re.search(r'<li class="order-note[^"]*" data-note="\d+">(.*?)</li>', page, re.S).group(1)
    assert me.display_name in shown and "Called the agent:<br>the licence is being renewed." in shown
    assert "Note added." in page


@pytest.mark.parametrize("role", [StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN, StaffRole.FULFILLMENT,
                                  StaffRole.FINANCE])
def test_every_role_that_works_on_orders_may_add_a_note(client, db_session, login_as, organisation, role):
    login_as(role)
    client.post(f"/console/orders/{organisation[2]}/notes", data={"note_text": "见附件说明"})
    assert _notes(db_session) == 1


@pytest.mark.parametrize("typed, error", [
    ("nul\x00inside", "control or invisible characters"),
    ("right-to-left \u202e override", "control or invisible characters"),
    ("", "This field is required."),
    ("   \r\n  ", "This field is required."),
    ("备" * 1001, "1000"),
])
def test_unsafe_empty_or_too_long_notes_are_refused_and_kept_for_the_page(client, db_session, login_as,
                                                                          organisation, typed, error):
    number = organisation[2]
    login_as(StaffRole.REVIEWER)
    response = client.post(f"/console/orders/{number}/notes?lang=en", data={"note_text": typed})
    assert response.status_code == 302
    assert _notes(db_session) == 0
    assert not db_session.scalars(select(AuditEntry).where(AuditEntry.action == "order.note_added")).all()
    page = client.get(f"/console/orders/{number}?lang=en").get_data(as_text=True)
    assert "The note was not added" in page and error in page
    if typed.strip() and "\x00" not in typed:  # the typed text comes back in the form (a NUL is shown as-is too)
        kept = re.search(r'<textarea[^>]*id="note_text"[^>]*>(.*?)</textarea>', page, re.S).group(1)
        assert kept.strip() == typed.strip()[:context.NOTE_MAX_LENGTH]
    again = client.get(f"/console/orders/{number}?lang=en").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*id="note_text"[^>]*>\s*</textarea>', again)  # the draft is taken once


def test_a_draft_shows_on_its_own_order_only(client, db_session, login_as, organisation):
    oldest, middle, newest, stranger = organisation
    login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{newest}/notes", data={"note_text": "x" * 1001})
    page = client.get(f"/console/orders/{stranger}?lang=en").get_data(as_text=True)
    assert "x" * 1000 not in page


def test_the_domain_refuses_what_the_form_would_and_inactive_staff(db_session, organisation):
    order = _order(db_session, organisation[2])
    staff = factories.staff(db_session, StaffRole.REVIEWER, "notetaker")
    for typed in ("", "  ", "a\x07b", "z" * 1001):
        with pytest.raises(InvalidValue):
            context.add_note(db_session, order, staff, typed)
    staff.active = False
    with pytest.raises(context.ReviewError):
        context.add_note(db_session, order, staff, "fine text")
    assert _notes(db_session) == 0


def test_nobody_signed_out_adds_a_note(client, db_session, organisation):
    response = client.post(f"/console/orders/{organisation[2]}/notes", data={"note_text": "anonymous"})
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]
    assert _notes(db_session) == 0


def test_a_missing_order_is_404(client, login_as, organisation):
    login_as(StaffRole.REVIEWER)
    assert client.post("/console/orders/NOSUCHORDER/notes", data={"note_text": "x"}).status_code == 404


def test_the_applicant_never_sees_a_note(client, db_session, latest_sms, organisation):
    """The order query's results page lists the order, and not a word of its internal notes."""
    number = organisation[2]
    order = _order(db_session, number)
    code, phone = order.organisation.credit_code, order.agent.phone
    author = db_session.get(Staff, factories.staff(db_session, StaffRole.REVIEWER, "quietreviewer").id)
    context.add_note(db_session, order, author, "INTERNAL-ONLY suspicious seal")
    db_session.commit()
    client.get("/query?lang=en")
    assert ask(client, code, phone).headers["Location"].endswith("/query/verify")
    client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))})
    page = client.get("/query/results").get_data(as_text=True)
    assert number in page
    assert "INTERNAL-ONLY" not in page and "suspicious seal" not in page and "Quietreviewer" not in page
