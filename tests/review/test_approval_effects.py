"""What an approval does per business type: a key to ship gets its certificate password and the
"on its way" message and goes to the station; an information change gets neither password nor
promise of a key; a revocation gets neither and leaves the signing service's revocation to the
worker, as a replacement does besides its key. The order's own checks count as the documents' do."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from documents.materials import current_materials
from issuance.interfaces import Revoked
from models import (
    AuditEntry,
    BankTransfer,
    BusinessType,
    EmailMessage,
    MaterialKind,
    OrderStatus,
    RejectionReason,
    RevocationReason,
    SmsMessage,
    StaffRole,
    Token,
    TokenState,
    WorkItem,
    WorkStatus,
)
from models.base import utcnow
from models.business import ORDER_CHECKLIST_KEY
from review import certificates, operations
from review.identity import SandboxVerifier
from review.operations import REVOKE_CERTIFICATE, ReviewError
from station import jobs as station_jobs
from station.queue import waiting_orders
from tests import factories
from tests.review.approvals import after_sale, approve, paid, registered_certificate, ticked
from web.errors import UserError

pytestmark = pytest.mark.usefixtures("in_app")

ON_ITS_WAY = "寄出证书介质"


@pytest.fixture
def reviewer(db_session):
    return factories.staff(db_session, StaffRole.REVIEWER, "effects-wang")


@pytest.fixture
def seniors(db_session):
    return (factories.staff(db_session, StaffRole.SENIOR_REVIEWER, "effects-chen"),
            factories.staff(db_session, StaffRole.SENIOR_REVIEWER, "effects-zhou"))


@pytest.fixture
def certificate(app, db_session, reviewer):
    """A certificate of an earlier, completed first application, on an active key."""
    earlier = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    approve(db_session, earlier, reviewer)
    return registered_certificate(db_session, earlier, "c0ffee" * 5 + "01")


def _texts(session, order) -> list[str]:
    sms = [m.text for m in session.scalars(select(SmsMessage).where(SmsMessage.order_id == order.id))]
    return sms + [m.body for m in session.scalars(select(EmailMessage).where(EmailMessage.order_id == order.id))]


def _work(session, order) -> list[WorkItem]:
    return list(session.scalars(select(WorkItem).where(WorkItem.kind == REVOKE_CERTIFICATE,
                                                       WorkItem.subject_id == order.id)))


def test_a_first_application_gets_its_password_and_goes_to_the_station(app, db_session, reviewer):
    order = factories.payment(db_session, app.config["UPLOAD_FOLDER"]).order
    approve(db_session, order, reviewer)
    assert order.status is OrderStatus.APPROVED and len(order.certificate_password) == 8
    assert any(ON_ITS_WAY in text for text in _texts(db_session, order))
    assert order in waiting_orders(db_session) and _work(db_session, order) == []


def test_an_information_change_makes_no_password_and_promises_no_key(app, db_session, reviewer, certificate):
    # A new city: the certificate's subject changes, so a new certificate is to be written to the key.
    order = paid(db_session, after_sale(db_session, app.config["UPLOAD_FOLDER"], certificate,
                                        BusinessType.INFO_CHANGE, region_city="410300"))
    approve(db_session, order, reviewer)  # name and legal representative unchanged: one reviewer
    assert order.status is OrderStatus.APPROVED and order.certificate_password is None
    texts = _texts(db_session, order)
    assert len(texts) == 2 and all("更新您证书介质中的证书" in text and "证书密码不变" in text for text in texts)
    assert not any(ON_ITS_WAY in text or "证书密码已" in text for text in texts)
    assert db_session.scalars(select(SmsMessage).where(SmsMessage.phone == order.legal_rep.phone,
                                                       SmsMessage.order_id == order.id)).all() == []
    assert order not in waiting_orders(db_session) and _work(db_session, order) == []
    with pytest.raises(UserError, match="not waiting for its key"):
        station_jobs.new_job(db_session, order, factories.staff(db_session, StaffRole.FULFILLMENT, "effects-li"))


def test_a_revocation_makes_no_password_promises_no_key_and_leaves_the_revocation_to_the_worker(
        app, db_session, seniors, certificate):
    order = paid(db_session, after_sale(db_session, app.config["UPLOAD_FOLDER"], certificate,
                                        BusinessType.REVOCATION, RevocationReason.CESSATION_OF_OPERATION,
                                        identity_method="corporate_transfer"))
    first, second = seniors
    approve(db_session, order, first)
    assert order.status is OrderStatus.PAID and _work(db_session, order) == [], "the first approval waits"
    approve(db_session, order, second)
    assert order.status is OrderStatus.APPROVED and order.certificate_password is None
    assert _texts(db_session, order) == [], "the applicant hears once the certificate is revoked"
    assert db_session.scalars(select(BankTransfer).where(BankTransfer.order_id == order.id)).all() == []
    assert [(w.status, w.subject_id) for w in _work(db_session, order)] == [(WorkStatus.QUEUED, order.id)]
    assert order not in waiting_orders(db_session)
    with pytest.raises(UserError, match="not waiting for its key"):
        station_jobs.new_job(db_session, order, factories.staff(db_session, StaffRole.FULFILLMENT, "effects-li"))


def test_a_replacement_ships_a_key_and_leaves_the_old_certificates_revocation_to_the_worker(
        app, db_session, reviewer, certificate):
    order = paid(db_session, after_sale(db_session, app.config["UPLOAD_FOLDER"], certificate,
                                        BusinessType.REPLACEMENT, RevocationReason.KEY_COMPROMISE))
    approve(db_session, order, reviewer)
    assert order.status is OrderStatus.APPROVED and len(order.certificate_password) == 8
    assert any(ON_ITS_WAY in text for text in _texts(db_session, order))
    # The station sees it once the worker revoked the old certificate (tests/issuance/test_order_revocation.py).
    assert order not in waiting_orders(db_session) and len(_work(db_session, order)) == 1


def test_the_order_checks_are_answered_and_hold_before_approval(app, db_session, reviewer, certificate):
    order = after_sale(db_session, app.config["UPLOAD_FOLDER"], certificate, BusinessType.REPLACEMENT,
                       RevocationReason.SUPERSEDED)
    operations.claim_order(db_session, order, reviewer)
    operations.verify_identity(db_session, order, reviewer, SandboxVerifier())
    complete = ticked(db_session, order)
    assert set(complete[ORDER_CHECKLIST_KEY]) == {"same_organisation", "earlier_certificate_found", "payment_matched"}
    documents_only = {key: value for key, value in complete.items() if key != ORDER_CHECKLIST_KEY}
    with pytest.raises(ReviewError, match="every check of the order"):
        operations.approve_order(db_session, order, reviewer, checklist=documents_only)
    unanswered = {**complete, ORDER_CHECKLIST_KEY: {**complete[ORDER_CHECKLIST_KEY], "payment_matched": None}}
    with pytest.raises(ReviewError, match="Answer every check"):
        operations.approve_order(db_session, order, reviewer, checklist=unanswered)
    failing = {**complete, ORDER_CHECKLIST_KEY: {**complete[ORDER_CHECKLIST_KEY], "payment_matched": False}}
    with pytest.raises(ReviewError, match="A check fails"):
        operations.approve_order(db_session, order, reviewer, checklist=failing)
    materials = current_materials(db_session, order)
    no_proof = {key: value for key, value in complete.items() if key != str(materials[MaterialKind.PAYMENT_PROOF].id)}
    with pytest.raises(ReviewError, match="every check of every document"):
        operations.approve_order(db_session, order, reviewer, checklist=no_proof)

    failed = operations.failed_checks(materials, failing)
    assert failed == ["order:payment_matched"]
    reason = RejectionReason(text_zh="付款凭证与银行流水不符", text_en="The payment proof does not match the statement",
                             applies_to="order:payment_matched")
    db_session.add(reason)
    db_session.flush()
    assert operations.reasons_for(db_session, failed) == [reason.id]
    assert order.status is OrderStatus.IN_REVIEW
    assert operations.approve_order(db_session, order, reviewer, checklist=complete) == "approve"


def test_a_revocation_that_names_no_certificate_is_not_approved(app, db_session, seniors, certificate):
    order = after_sale(db_session, app.config["UPLOAD_FOLDER"], certificate, BusinessType.REVOCATION,
                       RevocationReason.UNSPECIFIED)
    order.certificate_id = None
    with pytest.raises(ReviewError, match="names no certificate"):
        approve(db_session, order, seniors[0])


def _revoked(certificate) -> Revoked:
    return Revoked(certificate.serial_number, utcnow(), RevocationReason.UNSPECIFIED, 7)


def test_a_revoked_certificates_key_is_revoked_the_way_its_transitions_allow(app, db_session, reviewer, certificate):
    replacement = paid(db_session, after_sale(db_session, app.config["UPLOAD_FOLDER"], certificate,
                                              BusinessType.REPLACEMENT, RevocationReason.KEY_COMPROMISE))
    approve(db_session, replacement, reviewer)
    new = registered_certificate(db_session, replacement, "c0ffee" * 5 + "02")
    certificates.after_revocation(db_session, new, _revoked(new), "staff:test")
    assert _key(db_session, new).state is TokenState.REVOKED, "the new key was not lost: revoked at once"
    certificates.after_revocation(db_session, certificate, _revoked(certificate), "staff:test", order=replacement)
    assert _key(db_session, certificate).state is TokenState.REVOKED
    states = db_session.scalars(select(AuditEntry.after).where(
        AuditEntry.action == "token.state", AuditEntry.target == f"token:{certificate.media_serial}"))
    assert [after["state"] for after in states] == ["lost", "revoked"]
    in_the_post = registered_certificate(db_session, factories.paid_order(db_session, app.config["UPLOAD_FOLDER"]),
                                         "c0ffee" * 5 + "03", key=TokenState.SHIPPED)
    certificates.after_revocation(db_session, in_the_post, _revoked(in_the_post), "staff:test")
    assert _key(db_session, in_the_post).state is TokenState.SHIPPED, "no way from shipped to revoked"


def _key(session, certificate) -> Token:
    return session.scalars(select(Token).where(Token.serial == certificate.media_serial)).one()
