"""The review console as a reviewer uses it: queues, pages, filters, the review screen,
decisions, reveal and document views audited, the applicant's re-upload page."""
from __future__ import annotations

import datetime as dt
import io
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from models import AuditEntry, BusinessType, EmailMessage, Order, OrderStatus, ReviewQueue, StaffRole
from models.base import utcnow
from notifications.outbox import latest_for
from tests import factories
from tests.conftest import add_staff, image_bytes, sign_in
from tests.databases import at_once, own_app
from web.extensions import db


@pytest.fixture
def orders(app, db_session):
    """Five new applications paid an hour apart (oldest first) and one replacement."""
    start = utcnow() - dt.timedelta(days=1)
    made = [factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=start + dt.timedelta(hours=i))
            for i in range(5)]
    made.append(factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], business_type=BusinessType.REPLACEMENT))
    db_session.commit()
    return [_Snapshot(o) for o in made]


class _Snapshot:
    """What a test needs of an order, read before requests detach it."""

    def __init__(self, order: Order):
        self.id, self.number = order.id, order.number
        self.credit_code = order.organisation.credit_code
        self.legal_rep_phone, self.agent_phone = order.legal_rep.phone, order.agent.phone
        self.legal_rep_id_number, self.legal_rep_id_masked = order.legal_rep.id_number, order.legal_rep.id_number_masked
        self.account_number = order.account_number


def _numbers(html: str) -> list[str]:
    return re.findall(r'<tr data-order="([^"]+)"', html)


def test_the_queue_lists_by_due_time_and_pages_by_cursor(client, app, login_as, orders):
    app.config["QUEUE_PAGE_SIZE"] = 2
    try:
        login_as(StaffRole.REVIEWER)
        page = client.get("/console/queues/new").get_data(as_text=True)
        assert _numbers(page) == [orders[0].number, orders[1].number]
        seen = _numbers(page)
        while (match := re.search(r'rel="next" href="([^"]+)"', page)):
            page = client.get(match.group(1).replace("&amp;", "&")).get_data(as_text=True)
            seen += _numbers(page)
        assert seen == [o.number for o in orders[:5]]
        back = re.search(r'rel="prev" href="([^"]+)"', page).group(1).replace("&amp;", "&")
        assert _numbers(client.get(back).get_data(as_text=True)) == [orders[2].number, orders[3].number]
    finally:
        app.config["QUEUE_PAGE_SIZE"] = 20


def test_queue_counts_in_the_navigation(client, login_as, orders):
    login_as(StaffRole.REVIEWER)
    page = client.get("/console/queues/replacement").get_data(as_text=True)
    assert re.search(r'data-queue="new">[^<]*<span[^>]*>5</span>', page)
    assert re.search(r'data-queue="replacement">[^<]*<span[^>]*>1</span>', page)
    assert _numbers(page) == [orders[5].number]


def test_filters_and_search_in_a_queue(client, login_as, orders, db_session):
    me = login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{orders[3].number}/claim")
    assert _numbers(client.get("/console/queues/new?reviewer=me").get_data(as_text=True)) == [orders[3].number]
    assert orders[3].number not in _numbers(client.get("/console/queues/new?reviewer=none").get_data(as_text=True))
    assert _numbers(client.get("/console/queues/new?status=in_review").get_data(as_text=True)) == [orders[3].number]
    code = orders[1].credit_code
    assert _numbers(client.get(f"/console/queues/new?q={code}").get_data(as_text=True)) == [orders[1].number]
    assert _numbers(client.get("/console/queues/new?region=110000").get_data(as_text=True)) == []
    assert len(_numbers(client.get("/console/queues/new?region=410000").get_data(as_text=True))) == 5
    assert _numbers(client.get("/console/queues/new?due=overdue").get_data(as_text=True)) == []
    assert me.role == StaffRole.REVIEWER


def test_support_search_finds_orders_in_every_state_by_phone(client, login_as, orders):
    login_as(StaffRole.FINANCE)
    page = client.get(f"/console/search?q={orders[2].legal_rep_phone}").get_data(as_text=True)
    assert orders[2].number in page and orders[1].number not in page
    page = client.get(f"/console/search?q={orders[4].number}").get_data(as_text=True)
    assert orders[4].number in page


def test_the_review_screen_masks_numbers_and_reveal_is_audited(client, login_as, orders, db_session):
    login_as(StaffRole.REVIEWER, "reveal-tester")
    order = orders[0]
    page = client.get(f"/console/orders/{order.number}").get_data(as_text=True)
    assert order.legal_rep_id_number not in page and order.legal_rep_id_masked in page
    assert order.account_number not in page
    refused = client.post(f"/console/orders/{order.number}/reveal", data={"field": "legal_rep_id_number"})
    assert refused.status_code == 403 and "请先领取订单" in refused.json["error"]
    assert "value" not in refused.json
    client.post(f"/console/orders/{order.number}/claim")
    answer = client.post(f"/console/orders/{order.number}/reveal", data={"field": "legal_rep_id_number"})
    assert answer.json == {"field": "legal_rep_id_number", "value": order.legal_rep_id_number}
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id)
                               .order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.actor, entry.after) == (
        "order.number_revealed", "staff:reveal-tester", {"field": "legal_rep_id_number"})
    assert client.post(f"/console/orders/{order.number}/reveal", data={"field": "password_hash"}).status_code == 400


def test_a_senior_reviewer_reveals_without_holding_the_order(client, login_as, orders):
    login_as(StaffRole.SENIOR_REVIEWER)
    answer = client.post(f"/console/orders/{orders[1].number}/reveal", data={"field": "account_number"})
    assert answer.json == {"field": "account_number", "value": orders[1].account_number}


def test_reveals_are_limited_per_staff_member_per_hour(app, client, login_as, orders):
    app.config["REVEALS_PER_STAFF_PER_HOUR"] = 2
    try:
        login_as(StaffRole.SENIOR_REVIEWER)
        fields = ["legal_rep_id_number", "agent_id_number", "account_number"]
        answers = [client.post(f"/console/orders/{orders[2].number}/reveal", data={"field": field})
                   for field in fields]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert "value" not in answers[2].json and "2" in answers[2].json["error"]
        # Another reviewer's budget is their own.
        login_as(StaffRole.SENIOR_REVIEWER)
        assert client.post(f"/console/orders/{orders[2].number}/reveal",
                           data={"field": "account_number"}).status_code == 200
    finally:
        app.config["REVEALS_PER_STAFF_PER_HOUR"] = 30


def test_opening_an_order_page_is_audited(client, login_as, orders, db_session):
    login_as(StaffRole.REVIEWER, "page-reader")
    client.get(f"/console/orders/{orders[3].number}")
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.order_id == orders[3].id)
                               .order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.actor) == ("order.viewed", "staff:page-reader")


def test_viewing_a_document_is_audited(client, login_as, orders, db_session):
    login_as(StaffRole.REVIEWER)
    order = orders[0]
    material_id = int(re.search(r"/materials/(\d+)", client.get(f"/console/orders/{order.number}")
                                .get_data(as_text=True)).group(1))
    response = client.get(f"/console/orders/{order.number}/materials/{material_id}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert db_session.scalar(select(AuditEntry.target).where(
        AuditEntry.order_id == order.id, AuditEntry.action == "material.viewed")) == f"material:{material_id}"


def _tick_all(client, number: str) -> dict:
    page = client.get(f"/console/orders/{number}").get_data(as_text=True)
    return {name: "y" for name in re.findall(r'name="(check-\d+-\w+)"', page)}


def test_approval_needs_every_checklist_item_and_passed_identity_checks(client, login_as, orders, db_session):
    login_as(StaffRole.REVIEWER)
    number = orders[0].number
    client.post(f"/console/orders/{number}/claim")
    ticks = _tick_all(client, number)
    assert len(ticks) == 15
    some = dict(list(ticks.items())[:-1])
    page = client.post(f"/console/orders/{number}/decide", data={"decision": "approve", **some},
                       follow_redirects=True).get_data(as_text=True)
    assert "checklist" in page.lower() or "核对" in page
    assert db_session.scalar(select(Order.status).where(Order.number == number)) == OrderStatus.IN_REVIEW
    client.post(f"/console/orders/{number}/decide", data={"decision": "approve", **ticks})
    db_session.expire_all()
    order = db_session.scalar(select(Order).where(Order.number == number))
    assert order.status == OrderStatus.APPROVED
    assert "审核通过" in latest_for(db_session, order.agent.phone).text


def test_a_failed_identity_check_blocks_approval(client, app, login_as, db_session):
    order = _Snapshot(factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], legal_rep_phone="13912340000"))
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{order.number}/claim")
    page = client.get(f"/console/orders/{order.number}").get_data(as_text=True)
    assert 'data-outcome="failed"' in page
    client.post(f"/console/orders/{order.number}/decide", data={"decision": "approve",
                                                                **_tick_all(client, order.number)})
    assert db_session.scalar(select(Order.status).where(Order.id == order.id)) == OrderStatus.IN_REVIEW


def test_more_materials_then_the_applicant_reuploads_through_the_link(client, app, login_as, orders, db_session):
    reviewer = login_as(StaffRole.REVIEWER)
    order = orders[0]
    client.post(f"/console/orders/{order.number}/claim")
    answers = _tick_all(client, order.number)  # every check answered: the untouched documents keep theirs
    client.post(f"/console/orders/{order.number}/decide", data={
        "decision": "more_materials", "kinds": ["business_licence", "authorisation_letter"], "note": "请加盖公章",
        **answers})
    link = re.search(r"/apply/\S+/more/\S+", latest_for(db_session, order.agent_phone).text).group(0)
    email = db_session.scalars(select(EmailMessage.body).where(EmailMessage.order_id == order.id)).first()
    assert "请加盖公章" in email and link in email
    applicant = app.test_client()
    page = applicant.get(link).get_data(as_text=True)
    assert 'id="material-business_licence"' in page and 'id="material-agent_id_front"' not in page
    # One of two documents, and a bad file: the order waits for the rest.
    answer = applicant.post(link, data={"business_licence": (io.BytesIO(image_bytes()), "a.png"),
                                        "authorisation_letter": (io.BytesIO(b"not an image"), "b.png")},
                            content_type="multipart/form-data")
    assert 'data-error-for="authorisation_letter"' in answer.get_data(as_text=True)
    assert db_session.scalar(select(Order.status).where(Order.id == order.id)) == OrderStatus.MORE_MATERIALS_NEEDED
    answer = applicant.post(link, data={"authorisation_letter": (io.BytesIO(image_bytes("JPEG")), "b.jpg")},
                            content_type="multipart/form-data")
    assert 'id="resubmitted"' in answer.get_data(as_text=True)
    db_session.expire_all()
    number = order.number
    order = db_session.get(Order, order.id)
    # Back to the reviewer who asked: signed in a moment ago and not marked absent.
    assert (order.status, order.queue, order.reviewer_id) == (OrderStatus.IN_REVIEW, ReviewQueue.RESUBMITTED,
                                                              reviewer.id)
    assert applicant.get(link).status_code == 404
    page = client.get(f"/console/orders/{number}").get_data(as_text=True)
    assert page.count('class="badge badge-warning new-document"') == 2
    assert page.count('data-action="compare"') == 2 and page.count('class="doc-earlier"') == 2
    kept = re.findall(r'name="(check-\d+-\w+)" value="y"[^>]*checked', page)
    assert len(kept) == 7  # agent ID front (2) and back (2), e-seal form (3): untouched; the two new ones blank


def test_re_submitted_materials_go_to_the_queue_when_the_asker_is_absent(client, app, login_as, orders,
                                                                         db_session):
    from review import operations

    asker = login_as(StaffRole.REVIEWER)
    number = orders[0].number
    client.post(f"/console/orders/{number}/claim")
    client.post(f"/console/orders/{number}/decide", data={"decision": "more_materials",
                                                          "kinds": ["business_licence"], "note": "请加盖公章"})
    login_as(StaffRole.SENIOR_REVIEWER)
    assert client.post(f"/console/reviewers/{asker.id}/absent").status_code == 302
    assert "Absent since" in client.get("/console/reviewers?lang=en").get_data(as_text=True)
    from models import MaterialRequest

    order = db_session.scalar(select(Order).where(Order.number == number))
    request = db_session.scalar(select(MaterialRequest).where(MaterialRequest.order_id == order.id))
    operations.resubmit_materials(db_session, order, request, actor="applicant:test")
    assert (order.status, order.reviewer_id) == (OrderStatus.PAID, None)


def test_the_audit_log_of_an_order_can_be_filtered(client, login_as, orders):
    login_as(StaffRole.SENIOR_REVIEWER)
    number = orders[0].number
    client.post(f"/console/orders/{number}/claim")
    page = client.get(f"/console/orders/{number}/audit").get_data(as_text=True)
    assert "order.created" in page and "order.status" in page
    filtered = client.get(f"/console/orders/{number}/audit?action=order.created").get_data(as_text=True)
    assert "order.created" in filtered and "<td>order.status" not in filtered


def test_senior_reviewers_see_sla_badges(client, app, login_as, db_session):
    factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=utcnow() - dt.timedelta(days=14))
    db_session.commit()
    login_as(StaffRole.SENIOR_REVIEWER)
    page = client.get("/console/queues/new").get_data(as_text=True)
    assert re.search(r'class="badge badge-danger"[^>]*>[^<]*1<', page)
    assert "sla-breached" in page


def test_two_reviewers_claiming_at_once_exactly_one_wins(tmp_path, tmp_path_factory, database_url):
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        with app.app_context():
            order = factories.paid_order(db.session, app.config["UPLOAD_FOLDER"])
            reviewers = [add_staff(db.session, StaffRole.REVIEWER, f"racer{i}") for i in range(2)]
            number, snapshots = order.number, [(r.username, r.totp_secret) for r in reviewers]
            db.session.commit()
        clients = [app.test_client() for _ in reviewers]
        for client, (username, secret) in zip(clients, snapshots, strict=True):
            sign_in(client, SimpleNamespace(username=username, totp_secret=secret))
        answers = at_once([lambda c=c: c.post(f"/console/orders/{number}/claim", follow_redirects=True)
                           .get_data(as_text=True) for c in clients])
        won = [a for a in answers if "alert-success" in a]
        lost = [a for a in answers if "alert-danger" in a]
        assert len(won) == 1 and len(lost) == 1
        with app.app_context():
            claimed = db.session.scalar(select(Order).where(Order.number == number))
            assert claimed.status == OrderStatus.IN_REVIEW and claimed.reviewer_id is not None
            notes = db.session.scalars(select(AuditEntry.note).where(AuditEntry.order_id == claimed.id)).all()
            assert notes.count("claimed") == 1


@pytest.mark.usefixtures("in_app")  # its operations queue messages, rendered in the app
def test_the_review_screen_shows_the_payment_and_its_invoice(app, client, login_as, db_session, billing_services):
    from billing import checkout

    order = factories.unpaid_order(db_session, app.config["UPLOAD_FOLDER"])
    checkout.payment_qr_code(db_session, billing_services, order)
    [params] = billing_services.provider.pay(order.number)
    assert checkout.receive_notification(db_session, billing_services, params, now=utcnow()).newly_paid
    number = order.number
    db_session.commit()
    factories.worker_round(app)  # the invoice
    login_as(StaffRole.REVIEWER)
    page = client.get(f"/console/orders/{number}").get_data(as_text=True)
    assert params["trade_no"] in page and "300.00" in page
    link = re.search(r'href="(/console/finance/invoices/\d+/pdf)" class="invoice-link">(\d{20})<', page)
    pdf = client.get(link.group(1))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-") and link.group(2) in pdf.headers[
        "Content-Disposition"]
    downloads = db_session.scalars(select(AuditEntry.target).where(AuditEntry.action == "invoice.downloaded")).all()
    assert downloads == [f"invoice:{link.group(2)}"]  # a staff download is audited


def test_take_the_next_claims_the_most_urgent_unclaimed_item_and_opens_it(client, login_as, orders, db_session):
    other = login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{orders[0].number}/claim")  # held by someone else now
    login_as(StaffRole.REVIEWER)
    taken = client.post("/console/queues/new/next")
    assert taken.status_code == 302 and taken.headers["Location"].endswith(f"/console/orders/{orders[1].number}")
    db_session.expire_all()
    order = db_session.scalar(select(Order).where(Order.number == orders[1].number))
    assert order.status == OrderStatus.IN_REVIEW and order.reviewer_id != other.id
    page = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert 'data-action="next-claim"' in page and 'data-key="n"' in page
    # after a decision, the next one opens the same way
    ticks = _tick_all(client, orders[1].number)
    decided = client.post(f"/console/orders/{orders[1].number}/decide", data={"decision": "approve", **ticks})
    assert decided.headers["Location"].endswith(f"/console/orders/{orders[2].number}")
    db_session.expire_all()
    assert db_session.scalar(select(Order.status).where(Order.number == orders[2].number)) == OrderStatus.IN_REVIEW


def test_a_plain_reviewer_is_not_offered_what_needs_a_senior(app, client, login_as, db_session):
    revocation = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], business_type=BusinessType.REVOCATION)
    number = revocation.number
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    page = client.get("/console/queues/revocation").get_data(as_text=True)
    assert number in page and "senior-only" in page
    assert f"/console/orders/{number}/claim" not in page
    taken = client.post("/console/queues/revocation/next")
    assert taken.headers["Location"].endswith("/console/queues/revocation")
    login_as(StaffRole.SENIOR_REVIEWER)
    assert client.post("/console/queues/revocation/next").headers["Location"].endswith(f"/console/orders/{number}")


def test_a_failing_check_gives_the_reasons_and_the_documents_to_upload_again(client, login_as, orders, db_session):
    from models import MaterialRequest, RejectionReason, ReviewDecision

    login_as(StaffRole.REVIEWER)
    number = orders[0].number
    client.post(f"/console/orders/{number}/claim")
    page = client.get(f"/console/orders/{number}").get_data(as_text=True)
    assert page.count('data-action="all-hold"') == 5 and 'data-key="y"' in page
    assert 'data-applies="*:names_match"' in page  # the page pre-selects from the same table
    answers = _tick_all(client, number)
    licence_seal = re.search(
        r'name="(check-\d+-seal_present)"[^>]*value="n" data-fails="business_licence:seal_present"', page).group(1)
    answers[licence_seal] = "n"
    asked = client.post(f"/console/orders/{number}/decide", data={"decision": "more_materials", **answers})
    assert asked.status_code == 302
    db_session.expire_all()
    order = db_session.scalar(select(Order).where(Order.number == number))
    decision = db_session.scalar(select(ReviewDecision).where(ReviewDecision.order_id == order.id))
    reason = db_session.get(RejectionReason, decision.reason_ids[0])
    assert "business_licence:seal_present" in reason.applies_to and len(decision.reason_ids) == 1
    request = db_session.scalar(select(MaterialRequest).where(MaterialRequest.order_id == order.id))
    assert [str(k) for k in request.kinds] == ["business_licence"]
    assert decision.checklist[licence_seal.split("-")[1]]["seal_present"] is False


@pytest.mark.parametrize("role", [StaffRole.FULFILLMENT, StaffRole.FINANCE, StaffRole.ADMIN])
def test_other_roles_read_an_order_without_its_documents(client, login_as, orders, db_session, role):
    login_as(role)
    number = orders[0].number
    found = client.get(f"/console/search?q={number[:-2]}").get_data(as_text=True)  # a prefix finds it
    assert f"/console/orders/{number}" in found
    page = client.get(f"/console/orders/{number}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="read-only"' in text and 'id="documents-for-reviewers"' in text
    assert "/materials/" not in text and 'class="btn btn-link btn-sm p-0 ml-1 reveal"' not in text
    assert f"/console/orders/{number}/claim" not in text and 'data-action="next-claim"' not in text
    assert orders[0].legal_rep_id_masked in text  # what their work needs, masked


def test_queue_search_matches_an_order_number_prefix_and_the_page_label_follows_the_cursor(client, login_as,
                                                                                          orders):
    login_as(StaffRole.REVIEWER)
    prefix = orders[0].number[:-3]
    page = client.get(f"/console/queues/new?q={prefix}").get_data(as_text=True)
    assert all(o.number in page for o in orders[:5])
    page = client.get("/console/queues/new?p=7").get_data(as_text=True)  # no cursor: the first page
    assert re.search(r"(Page|第)\s*1", page)


def test_a_deny_list_match_blocks_approval_until_a_senior_overrides_it_in_writing(client, app, login_as, orders,
                                                                                  db_session):
    from models import AuditEntry as Entry
    from models import DenyListEntry

    db_session.add(DenyListEntry(id_number=orders[0].legal_rep_id_number, reason="冒用身份", added_by="staff:admin"))
    db_session.commit()
    number = orders[0].number
    login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{number}/claim")
    ticks = _tick_all(client, number)
    client.post(f"/console/orders/{number}/decide", data={"decision": "approve", **ticks})
    assert db_session.scalar(select(Order.status).where(Order.number == number)) == OrderStatus.IN_REVIEW
    refused = client.post(f"/console/orders/{number}/override", data={"reason": "核实为同名他人，证件已比对"})
    assert refused.status_code == 403
    senior = app.test_client()  # another browser: a senior reviewer
    assert sign_in(senior, add_staff(db_session, StaffRole.SENIOR_REVIEWER)).status_code == 302
    senior.post(f"/console/orders/{number}/override", data={"reason": "short"})  # too short: refused
    db_session.expire_all()
    assert db_session.scalar(select(Order.risk_overridden_by_id).where(Order.number == number)) is None
    senior.post(f"/console/orders/{number}/override", data={"reason": "核实为同名他人，证件号码已人工比对"})
    db_session.expire_all()
    order = db_session.scalar(select(Order).where(Order.number == number))
    assert order.risk_override_reason.startswith("核实为同名他人")
    assert db_session.scalar(select(Entry.note).where(Entry.order_id == order.id,
                                                      Entry.action == "order.risk_overridden")).startswith("核实")
    client.post(f"/console/orders/{number}/decide", data={"decision": "approve", **ticks})  # the holder
    db_session.expire_all()
    assert db_session.scalar(select(Order.status).where(Order.number == number)) == OrderStatus.APPROVED


def test_an_order_decided_before_without_a_checklist_opens(client, login_as, orders, db_session):
    """Decisions stored without a checklist (JSON null, as the demo data's) leave nothing to keep."""
    from models import Decision, ReviewDecision

    staff = login_as(StaffRole.REVIEWER)
    db_session.add(ReviewDecision(order_id=orders[0].id, staff_id=staff.id, decision=Decision.MORE_MATERIALS,
                                  checklist=None, decided_at=utcnow()))
    db_session.commit()
    assert client.get(f"/console/orders/{orders[0].number}").status_code == 200
