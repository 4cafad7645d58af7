"""The order page's SQL: a view of it takes as many statements for an order with one of everything as
for one with several (documents re-submitted, decisions by several reviewers, notes by several people,
earlier orders with certificates, its views audited). An N+1 query coming back fails here; so does
one on the information-change queue beyond the one look a row needs for what the change alters."""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

from sqlalchemy import event, select

from models import BusinessType, Decision, Material, OrderNote, OrderStatus, ReviewDecision, StaffRole
from models.base import utcnow
from tests import factories

# What a view of the page takes at most (29 statements in this test, audit entry included): room for
# a few more things on the page, none for a statement per row of anything.
CEILING = 36


@contextmanager
def counted_statements(session):
    engine = session.get_bind().engine
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _order_with(db_session, folder: str, many: int) -> str:
    """A paid order of an organisation with `many` earlier orders (each with a certificate), `many`
    re-submitted documents, decisions (each by another reviewer) and notes (each by another person)."""
    order = factories.paid_order(db_session, folder)
    code = order.organisation.credit_code
    for n in range(many):
        earlier = factories.paid_order(db_session, folder, credit_code=code)
        earlier.created_at = utcnow() - dt.timedelta(days=30 * (n + 1))
        factories.registered_certificate(db_session, earlier, f"{order.id:04x}{n:04x}" * 4)
    current = db_session.scalars(select(Material).where(Material.order_id == order.id)).all()
    for n in range(many):
        material = current[n % len(current)]
        db_session.add(Material(order_id=order.id, kind=material.kind, stored_name=material.stored_name,
                                content_type=material.content_type, size_bytes=material.size_bytes,
                                sha256=material.sha256, width=material.width, height=material.height,
                                uploaded_by="applicant:test", superseded_at=utcnow() - dt.timedelta(hours=n + 1)))
        reviewer = factories.staff(db_session, StaffRole.REVIEWER, f"r{order.id}-{n}")
        db_session.add(ReviewDecision(order_id=order.id, staff_id=reviewer.id, decision=Decision.MORE_MATERIALS,
                                      checklist={str(material.id): {"legible": False}}, note=f"retake {n}",
                                      decided_at=utcnow() - dt.timedelta(hours=n + 1)))
        writer = factories.staff(db_session, StaffRole.FINANCE, f"f{order.id}-{n}")
        db_session.add(OrderNote(order_id=order.id, staff_id=writer.id, text=f"note {n}"))
    db_session.flush()
    return order.number


def _statements_of_a_view(client, db_session, number: str) -> int:
    client.get(f"/console/orders/{number}")  # warm: the first view of an order is no different, but be fair
    db_session.expire_all()
    with counted_statements(db_session) as statements:
        response = client.get(f"/console/orders/{number}")
    assert response.status_code == 200
    return len(statements)


def test_the_order_page_takes_as_many_statements_however_much_the_order_has(app, client, db_session, login_as):
    folder = app.config["UPLOAD_FOLDER"]
    one, several = _order_with(db_session, folder, 1), _order_with(db_session, folder, 4)
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    page = client.get(f"/console/orders/{several}?lang=en").get_data(as_text=True)
    assert page.count('data-note="') == 4 and page.count("retake ") == 4  # it does show them all
    assert page.count("<tr data-order=") == 4

    statements = _statements_of_a_view(client, db_session, one)
    assert _statements_of_a_view(client, db_session, several) == statements
    assert statements <= CEILING


def _queue_rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-order="([^"]+)">(.*?)</tr>', page, re.S))


def test_the_information_change_queue_marks_renames_for_seniors_in_one_statement_a_row(
        app, client, db_session, login_as):
    folder = app.config["UPLOAD_FOLDER"]
    changes = {}
    for n in range(3):
        code = factories.credit_code(910000 + n)
        earlier = factories.paid_order(db_session, folder, credit_code=code)
        for status in (OrderStatus.IN_REVIEW, OrderStatus.APPROVED):
            earlier.move_to(status, "staff:test")
        changes[factories.paid_order(db_session, folder, business_type=BusinessType.INFO_CHANGE,
                                     credit_code=code).number] = False
        changes[factories.paid_order(db_session, folder, business_type=BusinessType.INFO_CHANGE, credit_code=code,
                                     org_name=f"郑州信源新名称{n}科技有限公司").number] = True
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    client.get("/console/queues/new")
    with counted_statements(db_session) as base:
        client.get("/console/queues/new")
    with counted_statements(db_session) as statements:
        page = client.get("/console/queues/info_change").get_data(as_text=True)
    rows = _queue_rows(page)
    assert {number: "senior-only" in rows[number] for number in changes} == changes
    # the page's own, one for the changes' orders, and one each to find what an order changes
    assert len(statements) <= len(base) + 1 + len(changes)
