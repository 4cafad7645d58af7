"""Review decisions on real orders: claiming, releasing, approving with the password sent by
the chosen method, rejecting, asking for more materials (clock paused), dual control."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from documents.materials import current_materials
from models import (
    BankTransfer,
    BusinessType,
    DenyListEntry,
    EmailMessage,
    MaterialKind,
    OrderStatus,
    RejectionReason,
    ReviewQueue,
    RevocationReason,
    SmsMessage,
    StaffRole,
)
from review import operations, sla
from review.forms import CHECKLIST
from review.identity import SandboxVerifier
from review.operations import ReviewError
from review.warnings import warnings_for
from tests import factories
from tests.review.approvals import after_sale, registered_certificate, ticked

# The operations queue messages, rendered with the app's settings.
pytestmark = pytest.mark.usefixtures("in_app")

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Beijing


@pytest.fixture
def order(app, db_session):
    return factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=NOW)


@pytest.fixture
def reviewer(db_session):
    return factories.staff(db_session, StaffRole.REVIEWER, "wang")


@pytest.fixture
def seniors(db_session):
    return (factories.staff(db_session, StaffRole.SENIOR_REVIEWER, "chen"),
            factories.staff(db_session, StaffRole.SENIOR_REVIEWER, "zhou"))


def _approve(session, order, staff):
    """Approve as the console does: every checklist item ticked (the order's own checks too), identity
    checks run."""
    operations.verify_identity(session, order, staff, SandboxVerifier())
    return operations.approve_order(session, order, staff, checklist=ticked(session, order))


def _messages_to(session, phone):
    query = select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id)
    return [m.text for m in session.scalars(query)]


def test_a_paid_order_waits_in_its_queue_with_a_working_day_due_time(order):
    assert order.queue == ReviewQueue.NEW and order.status == OrderStatus.PAID
    assert order.sla_due_at == dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)  # Thursday, 3 working days
    assert order.sla_limit_at == dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # Monday, 5 working days


def test_a_claimed_order_cannot_be_claimed_again(db_session, order, reviewer, seniors):
    operations.claim_order(db_session, order, reviewer)
    assert order.status == OrderStatus.IN_REVIEW and order.reviewer_id == reviewer.id
    with pytest.raises(ReviewError, match="Already claimed by Wang"):
        operations.claim_order(db_session, order, seniors[0])
    operations.release_order(db_session, order, reviewer)
    assert order.status == OrderStatus.PAID and order.reviewer_id is None
    operations.claim_order(db_session, order, seniors[0])
    assert order.reviewer_id == seniors[0].id


def test_only_a_senior_reviewer_reassigns(db_session, order, reviewer, seniors):
    with pytest.raises(ReviewError):
        operations.reassign_order(db_session, order, reviewer, seniors[0])
    operations.reassign_order(db_session, order, seniors[0], reviewer)
    assert order.status == OrderStatus.IN_REVIEW and order.reviewer_id == reviewer.id
    assert order.audit_entries[-1].action == "order.reassigned"


def test_staff_outside_review_cannot_claim(db_session, order):
    station = factories.staff(db_session, StaffRole.FULFILLMENT, "liu")
    with pytest.raises(ReviewError):
        operations.claim_order(db_session, order, station)


def test_approval_sends_the_password_by_sms_to_the_legal_representative(db_session, order, reviewer):
    operations.claim_order(db_session, order, reviewer)
    _approve(db_session, order, reviewer)
    assert order.status == OrderStatus.APPROVED and order.queue is None and order.approved_at
    password = order.certificate_password
    assert len(password) == 8 and password.isdigit()
    secret_sms = db_session.scalars(select(SmsMessage).where(SmsMessage.phone == order.legal_rep.phone)).all()[-1]
    assert secret_sms.carries_secret and secret_sms.body is None and password in secret_sms.text
    assert any("审核通过" in text for text in _messages_to(db_session, order.agent.phone))
    email = db_session.scalars(select(EmailMessage).where(EmailMessage.order_id == order.id)).one()
    assert email.to_address == order.agent.email and "审核通过" in email.subject
    assert password not in email.body


def test_corporate_transfer_method_sends_the_password_in_the_transfer_memo(app, db_session, reviewer):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], identity_method="corporate_transfer",
                                 paid_at=NOW)
    operations.claim_order(db_session, order, reviewer)
    _approve(db_session, order, reviewer)
    transfer = db_session.scalars(select(BankTransfer).where(BankTransfer.order_id == order.id)).one()
    assert transfer.amount_cents == 1 and order.certificate_password in transfer.memo
    assert transfer.account_number == order.account_number
    assert not any(order.certificate_password in t for t in _messages_to(db_session, order.legal_rep.phone))


def test_rejection_needs_a_reason_and_tells_the_applicant(db_session, order, reviewer):
    operations.claim_order(db_session, order, reviewer)
    with pytest.raises(ReviewError, match="at least one reason"):
        operations.reject_order(db_session, order, reviewer, reason_ids=[], note="  ")
    reason = db_session.scalars(select(RejectionReason).order_by(RejectionReason.position)).first()
    operations.reject_order(db_session, order, reviewer, reason_ids=[reason.id], note="印章模糊")
    assert order.status == OrderStatus.REJECTED and order.queue is None
    text = _messages_to(db_session, order.agent.phone)[-1]
    assert reason.text_zh in text and "印章模糊" in text


def test_more_materials_pauses_the_clock_and_the_link_reopens_the_named_documents(db_session, order, reviewer):
    operations.claim_order(db_session, order, reviewer, now=NOW)
    asked_at = NOW + dt.timedelta(hours=1)
    token = operations.request_materials(
        db_session, order, reviewer, kinds=[MaterialKind.BUSINESS_LICENCE], message="请加盖公章",
        public_base_url="https://ca.example.cn", now=asked_at)
    assert order.status == OrderStatus.MORE_MATERIALS_NEEDED
    assert order.sla_paused_target_seconds == 3 * 86400 - 3600
    text = _messages_to(db_session, order.agent.phone)[-1]
    assert f"https://ca.example.cn/apply/{order.number}/more/{token}" in text and "营业执照" in text
    request = operations.open_material_request(db_session, order, token, now=asked_at)
    assert request is not None and request.kinds == ["business_licence"]
    assert operations.open_material_request(db_session, order, token + "x", now=asked_at) is None
    # Two days later (Wednesday) the applicant sends the documents: the due time moves by the pause.
    back = asked_at + dt.timedelta(days=2)
    operations.resubmit_materials(db_session, order, request, actor="applicant:link", now=back)
    assert order.status == OrderStatus.PAID and order.queue == ReviewQueue.RESUBMITTED
    assert order.sla_due_at == sla.WorkingCalendar().shift(back, 3 * 86400 - 3600)
    assert operations.open_material_request(db_session, order, token, now=back) is None


def test_revocation_needs_two_different_senior_reviewers(app, db_session, reviewer, seniors):
    first, second = seniors
    earlier = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    certificate = registered_certificate(db_session, earlier, "5e" * 16)
    order = after_sale(db_session, app.config["UPLOAD_FOLDER"], certificate, BusinessType.REVOCATION,
                       RevocationReason.CESSATION_OF_OPERATION)
    assert order.queue == ReviewQueue.REVOCATION
    operations.claim_order(db_session, order, reviewer)
    with pytest.raises(ReviewError, match="two senior reviewers"):
        _approve(db_session, order, reviewer)
    operations.release_order(db_session, order, reviewer)
    operations.claim_order(db_session, order, first)
    assert _approve(db_session, order, first) == "first_approval"
    assert order.status == OrderStatus.PAID and order.first_approver_id == first.id
    with pytest.raises(ReviewError, match="another senior reviewer"):
        operations.claim_order(db_session, order, first)
    operations.claim_order(db_session, order, second)
    assert _approve(db_session, order, second) == "approve"
    assert order.status == OrderStatus.APPROVED


def test_an_information_change_of_the_name_needs_dual_control(app, db_session, reviewer, seniors):
    folder = app.config["UPLOAD_FOLDER"]
    code = factories.credit_code(900001)
    earlier = factories.paid_order(db_session, folder, credit_code=code)
    operations.claim_order(db_session, earlier, reviewer)
    _approve(db_session, earlier, reviewer)
    same_name = factories.paid_order(db_session, folder, business_type=BusinessType.INFO_CHANGE, credit_code=code)
    operations.claim_order(db_session, same_name, reviewer)
    assert _approve(db_session, same_name, reviewer) == "approve"
    renamed = factories.paid_order(db_session, folder, business_type=BusinessType.INFO_CHANGE, credit_code=code,
                                   org_name="郑州信源新名称科技有限公司")
    operations.claim_order(db_session, renamed, reviewer)
    with pytest.raises(ReviewError, match="two senior reviewers"):
        _approve(db_session, renamed, reviewer)


def test_warnings_for_open_orders_deny_list_and_a_reused_phone(app, db_session):
    folder = app.config["UPLOAD_FOLDER"]
    code = factories.credit_code(900002)
    order = factories.paid_order(db_session, folder, credit_code=code, legal_rep_phone="13700001111")
    assert warnings_for(db_session, order, now=NOW, phone_reuse_limit=3) == []
    factories.paid_order(db_session, folder, credit_code=code)
    for _ in range(2):
        factories.paid_order(db_session, folder, legal_rep_phone="13700001111")
    db_session.add(DenyListEntry(id_number=order.agent.id_number, reason="冒用身份", added_by="staff:admin"))
    db_session.flush()
    codes = {w.code: w for w in warnings_for(db_session, order, now=NOW, phone_reuse_limit=3)}
    assert set(codes) == {"open_order", "deny_list", "phone_reused"}
    assert codes["deny_list"].detail["person"] == "agent"
    assert codes["phone_reused"].detail == {"person": "legal_rep", "phone": "137****1111", "organisations": 3}


def test_approval_needs_every_checklist_item_and_passed_identity_checks(db_session, order, reviewer):
    operations.claim_order(db_session, order, reviewer)
    ticked = {str(m.id): dict.fromkeys(CHECKLIST[kind], True)
              for kind, m in current_materials(db_session, order).items()}
    with pytest.raises(ReviewError, match="Identity verification"):
        operations.approve_order(db_session, order, reviewer, checklist=ticked)
    operations.verify_identity(db_session, order, reviewer, SandboxVerifier())
    first = next(iter(ticked))
    one_failing = {**ticked, first: {**ticked[first], "legible": False}}
    with pytest.raises(ReviewError, match="A check fails"):
        operations.approve_order(db_session, order, reviewer, checklist=one_failing)
    one_unanswered = {**ticked, first: {**ticked[first], "legible": None}}
    with pytest.raises(ReviewError, match="Answer every check"):
        operations.approve_order(db_session, order, reviewer, checklist=one_unanswered)
    with pytest.raises(ReviewError, match="Answer every check"):
        operations.approve_order(db_session, order, reviewer, checklist=dict(list(ticked.items())[:4]))
    assert order.status == OrderStatus.IN_REVIEW
    assert operations.approve_order(db_session, order, reviewer, checklist=ticked) == "approve"
