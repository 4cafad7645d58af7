"""An approved revocation or replacement has its certificate revoked by the worker through the live
signing service (key files and a token), which checks the order's approvals in the register itself:
the CRL lists the serial, OCSP answers revoked, the key is revoked, a revocation order is completed
and the applicant told. Refusals, an answer asked again, and a signing service that is down."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from issuance import crls
from issuance.client import HttpSigningService
from issuance.interfaces import PolicyRefused, SigningService
from models import (
    AuditEntry,
    BusinessType,
    Certificate,
    CertificateStatus,
    Decision,
    EmailMessage,
    Order,
    OrderStatus,
    ReviewDecision,
    RevocationReason,
    SmsMessage,
    StaffRole,
    Token,
    TokenState,
    WorkItem,
    WorkStatus,
)
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from review import revocation_work
from review.operations import REVOKE_CERTIFICATE
from station.queue import waiting_orders
from tests import factories
from tests.issuance.test_revocation import as_openssl, issued, openssl_crl, openssl_ocsp  # noqa: F401 (a fixture)
from tests.review.approvals import after_sale, approve, hold, paid
from web.extensions import db
from web.services import service_replaced


@pytest.fixture
def held(ca_app, issued):  # noqa: F811
    """A certificate just issued for a first application, on the applicant's active key:
    (Issued, the folder of its files, its register id)."""
    answer, folder = issued
    with ca_app.app_context():
        certificate = _certificate(answer.serial_number)
        hold(db.session, certificate, TokenState.ACTIVE)
        certificate_id = certificate.id
        db.session.commit()
    return answer, folder, certificate_id


def _certificate(serial: str) -> Certificate:
    return db.session.scalars(select(Certificate).where(Certificate.serial_number == serial)).one()


def _order(number: str) -> Order:
    return db.session.scalars(select(Order).where(Order.number == number)).one()


def _ordered(ca_app, certificate_id: int, business_type: BusinessType, reason: RevocationReason | None, *,
             approved_by: tuple[StaffRole, ...] = (), **overrides) -> str:
    """A paid after-sale order naming the certificate, approved in turn by new staff of these roles
    (committed); its number."""
    certificate = db.session.get(Certificate, certificate_id)
    order = paid(db.session, after_sale(db.session, ca_app.config["UPLOAD_FOLDER"], certificate, business_type,
                                        reason, **overrides))
    approve(db.session, order, *(factories.staff(db.session, role, f"{role.value}-{uuid.uuid4().hex[:6]}")
                                 for role in approved_by))
    db.session.commit()
    return order.number


def _worker_round(ca_app, service: SigningService) -> None:
    with service_replaced(ca_app, SigningService, service):
        factories.worker_round(ca_app)


def _texts_to(order: Order) -> list[str]:
    sms = [message.text for message in db.session.scalars(select(SmsMessage).where(
        SmsMessage.order_id == order.id, SmsMessage.template == "certificate_revoked"))]
    emails = db.session.scalars(select(EmailMessage.body).where(EmailMessage.order_id == order.id,
                                                                EmailMessage.template == "certificate_revoked")).all()
    return [*sms, *emails]


def _key_states(serial: str) -> list[str]:
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "token.state",
                                                          AuditEntry.target == f"token:{serial}")
                                 .order_by(AuditEntry.id)).all()
    return [entry.after["state"] for entry in entries]


def test_a_revocation_order_is_revoked_by_the_worker_once_two_senior_reviewers_approved(
        ca_app, signing, signing_url, held):
    answer, folder, certificate_id = held
    with ca_app.app_context():
        number = _ordered(ca_app, certificate_id, BusinessType.REVOCATION, RevocationReason.CESSATION_OF_OPERATION,
                          approved_by=(StaffRole.SENIOR_REVIEWER, StaffRole.SENIOR_REVIEWER))
        assert _order(number).status is OrderStatus.APPROVED
    serial = as_openssl(answer.serial_number)
    assert serial not in openssl_crl(signing_url, answer, folder), "nothing is revoked in the approving request"

    _worker_round(ca_app, signing)

    crl = openssl_crl(signing_url, answer, folder)
    assert f"Serial Number: {serial}" in crl
    assert "Cessation Of Operation" in crl[crl.index(f"Serial Number: {serial}"):].split("Serial Number:")[1]
    said, _ = openssl_ocsp(signing_url, folder, "-cert", folder / "cert.pem")
    assert f"{folder / 'cert.pem'}: revoked" in said and "Reason: cessationOfOperation" in said
    with ca_app.app_context():
        order, certificate = _order(number), db.session.get(Certificate, certificate_id)
        assert order.status is OrderStatus.COMPLETED and order.completed_at is not None
        assert certificate.status is CertificateStatus.REVOKED
        first, second = db.session.scalars(select(ReviewDecision).where(ReviewDecision.order_id == order.id)
                                           .order_by(ReviewDecision.id)).all()
        assert (first.decision, second.decision) == (Decision.FIRST_APPROVAL, Decision.APPROVE)
        assert (certificate.revocation_requested_by, certificate.revoked_by) == (first.staff.actor, second.staff.actor)
        assert _key_states(certificate.media_serial) == ["revoked"]
        texts = _texts_to(order)
        assert len(texts) == 2 and db.session.scalars(select(SmsMessage.phone).where(
            SmsMessage.order_id == order.id, SmsMessage.template == "certificate_revoked")).one() == order.agent.phone
        for text in texts:
            assert answer.serial_number in text and "吊销" in text and "寄回" in text
            assert ca_app.config["CA_SERVICE_PHONE"] in text
            assert f"{certificate.revoked_at.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M:%S}" in text
        assert order.certificate_password is None and order not in waiting_orders(db.session)


@pytest.mark.parametrize("reason, fate, crl_reason", [
    (RevocationReason.KEY_COMPROMISE, "lost", "Key Compromise"),
    (RevocationReason.SUPERSEDED, "damaged", "Superseded"),
])
def test_a_replacement_revokes_the_old_certificate_and_goes_to_the_station(
        ca_app, signing, signing_url, held, reason, fate, crl_reason):
    answer, folder, certificate_id = held
    with ca_app.app_context():
        number = _ordered(ca_app, certificate_id, BusinessType.REPLACEMENT, reason, approved_by=(StaffRole.REVIEWER,))

    _worker_round(ca_app, signing)

    crl = openssl_crl(signing_url, answer, folder)
    serial = as_openssl(answer.serial_number)
    assert crl_reason in crl[crl.index(f"Serial Number: {serial}"):].split("Serial Number:")[1]
    with ca_app.app_context():
        order, certificate = _order(number), db.session.get(Certificate, certificate_id)
        assert certificate.revocation_reason == reason and certificate.revocation_requested_by == f"applicant:{number}"
        assert _key_states(certificate.media_serial) == [fate, "revoked"]
        assert order.status is OrderStatus.APPROVED and len(order.certificate_password) == 8
        assert order in waiting_orders(db.session), "the new key is made as for a first application"
        assert len(_texts_to(order)) == 2


def test_a_replacement_s_new_certificate_waits_until_the_old_one_is_revoked(ca_app, signing, held, request_for):
    """Never two certificates in force for one replacement: the revocation job may still be retrying
    (its signing service answered the station's request but not the worker's)."""
    _answer, _folder, certificate_id = held
    with ca_app.app_context():
        number = _ordered(ca_app, certificate_id, BusinessType.REPLACEMENT, RevocationReason.KEY_COMPROMISE,
                          approved_by=(StaffRole.REVIEWER,))
    with ca_app.app_context():
        assert _order(number) not in waiting_orders(db.session)  # the station does not see it yet
    with pytest.raises(PolicyRefused) as refused:  # nor would the signing service make its certificate
        signing.issue(f"job-{uuid.uuid4()}", number, request_for(number))
    assert refused.value.rule == "replaced_certificate_not_revoked"

    _worker_round(ca_app, signing)  # the old certificate is revoked
    issued_now = signing.issue(f"job-{uuid.uuid4()}", number, request_for(number))
    with ca_app.app_context():
        assert _certificate(issued_now.serial_number).status is CertificateStatus.VALID
        assert db.session.get(Certificate, certificate_id).status is CertificateStatus.REVOKED


def _approved_by_hand(number: str, *decisions: tuple[StaffRole, Decision]) -> None:
    """The order moved to approved with only these decisions on record (as a faulty or tampered web app
    might leave it)."""
    order = _order(number)
    order.move_to(OrderStatus.IN_REVIEW, "staff:test")
    for role, decision in decisions:
        member = factories.staff(db.session, role, f"{role.value}-{uuid.uuid4().hex[:6]}")
        db.session.add(ReviewDecision(order_id=order.id, staff_id=member.id, decision=decision))
        if decision is Decision.FIRST_APPROVAL:
            order.first_approver_id = member.id
    order.move_to(OrderStatus.APPROVED, "staff:test")
    db.session.commit()


REFUSALS = {
    "order_not_approved": lambda app, cid: _ordered(app, cid, BusinessType.REVOCATION, RevocationReason.UNSPECIFIED,
                                                    approved_by=(StaffRole.SENIOR_REVIEWER,)),
    "business_type_not_revoking": lambda app, cid: _ordered(app, cid, BusinessType.INFO_CHANGE, None,
                                                            approved_by=(StaffRole.REVIEWER,)),
    "certificate_of_another_organisation": lambda app, cid: _ordered(
        app, cid, BusinessType.REVOCATION, RevocationReason.UNSPECIFIED, credit_code=factories.credit_code(
            700000 + uuid.uuid4().int % 99999), approved_by=(StaffRole.SENIOR_REVIEWER, StaffRole.SENIOR_REVIEWER)),
    "reason_not_allowed": lambda app, cid: _ordered(app, cid, BusinessType.REPLACEMENT,
                                                    RevocationReason.CESSATION_OF_OPERATION,
                                                    approved_by=(StaffRole.REVIEWER,)),
}


@pytest.mark.parametrize("rule", list(REFUSALS))
def test_the_signing_service_refuses_an_order_that_does_not_allow_the_revocation(ca_app, signing, held, rule):
    _answer, _folder, certificate_id = held
    with ca_app.app_context():
        number = REFUSALS[rule](ca_app, certificate_id)
    with pytest.raises(PolicyRefused) as refused:
        signing.revoke_for_order(number)
    assert refused.value.rule == rule
    with ca_app.app_context():
        assert db.session.get(Certificate, certificate_id).status is CertificateStatus.VALID


@pytest.mark.parametrize("decisions", [
    [(StaffRole.SENIOR_REVIEWER, Decision.APPROVE)],  # the second approval without a first
    [(StaffRole.SENIOR_REVIEWER, Decision.FIRST_APPROVAL)],  # the first approval alone
    [(StaffRole.SENIOR_REVIEWER, Decision.FIRST_APPROVAL), (StaffRole.REVIEWER, Decision.APPROVE)],
], ids=["second-only", "first-only", "second-by-a-reviewer"])
def test_a_revocation_needs_both_senior_approvals_on_record(ca_app, signing, held, decisions):
    _answer, _folder, certificate_id = held
    with ca_app.app_context():
        number = _ordered(ca_app, certificate_id, BusinessType.REVOCATION, RevocationReason.UNSPECIFIED)
        _approved_by_hand(number, *decisions)
    with pytest.raises(PolicyRefused) as refused:
        signing.revoke_for_order(number)
    assert refused.value.rule in ("approval_missing", "officer_not_authorised")
    with ca_app.app_context():
        assert db.session.get(Certificate, certificate_id).status is CertificateStatus.VALID


def test_a_refusal_in_the_worker_is_final_and_audited_on_the_order(ca_app, signing, held):
    _answer, _folder, certificate_id = held
    with ca_app.app_context():
        number = _ordered(ca_app, certificate_id, BusinessType.REPLACEMENT, RevocationReason.AFFILIATION_CHANGED,
                          approved_by=(StaffRole.REVIEWER,))
    _worker_round(ca_app, signing)
    with ca_app.app_context():
        order = _order(number)
        item = db.session.scalars(select(WorkItem).where(WorkItem.kind == REVOKE_CERTIFICATE,
                                                         WorkItem.subject_id == order.id)).one()
        refusal = db.session.scalars(select(AuditEntry).where(
            AuditEntry.order_id == order.id, AuditEntry.action == "certificate.revocation_refused")).one()
        assert item.status is WorkStatus.DONE and refusal.after == {"rule": "reason_not_allowed"}
        assert db.session.get(Certificate, certificate_id).status is CertificateStatus.VALID


def test_asked_again_the_signing_service_answers_the_revocation_without_another_crl(ca_app, signing, held):
    _answer, _folder, certificate_id = held
    with ca_app.app_context():
        number = _ordered(ca_app, certificate_id, BusinessType.REVOCATION, RevocationReason.KEY_COMPROMISE,
                          approved_by=(StaffRole.SENIOR_REVIEWER, StaffRole.SENIOR_REVIEWER))
    first = signing.revoke_for_order(number)
    with ca_app.app_context():
        issuer_id = db.session.get(Certificate, certificate_id).issuer_id
        newest = crls.newest(db.session, issuer_id).number
    assert signing.revoke_for_order(number) == first
    with ca_app.app_context():
        assert crls.newest(db.session, issuer_id).number == newest == first.crl_number


def test_a_signing_service_that_is_down_leaves_the_revocation_waiting_and_tried_again(ca_app, signing, held):
    _answer, _folder, certificate_id = held
    with ca_app.app_context():
        number = _ordered(ca_app, certificate_id, BusinessType.REVOCATION, RevocationReason.PRIVILEGE_WITHDRAWN,
                          approved_by=(StaffRole.SENIOR_REVIEWER, StaffRole.SENIOR_REVIEWER))
        order_id = _order(number).id

    _worker_round(ca_app, HttpSigningService("http://127.0.0.1:9", ca_app.config["SIGNING_SERVICE_KEY"], timeout=2))

    with ca_app.app_context():
        certificate = db.session.get(Certificate, certificate_id)
        waiting = revocation_work.waiting_for(db.session, certificate)
        assert waiting is not None and waiting.subject_id == order_id
        assert (waiting.status, waiting.attempts) == (WorkStatus.QUEUED, 1) and waiting.due_at > utcnow()
        assert "SigningUnavailable" in waiting.error
        assert _order(number).status is OrderStatus.APPROVED and certificate.status is CertificateStatus.VALID
        assert _texts_to(_order(number)) == []
        db.session.execute(update(WorkItem).where(WorkItem.id == waiting.id).values(due_at=utcnow()))
        db.session.commit()

    _worker_round(ca_app, signing)  # its next attempt, once the service is back

    with ca_app.app_context():
        certificate = db.session.get(Certificate, certificate_id)
        assert certificate.status is CertificateStatus.REVOKED and revocation_work.waiting_for(
            db.session, certificate) is None
        assert _order(number).status is OrderStatus.COMPLETED and len(_texts_to(_order(number))) == 2
        assert db.session.scalars(select(Token.state).where(Token.serial == certificate.media_serial)).one() \
            is TokenState.REVOKED
