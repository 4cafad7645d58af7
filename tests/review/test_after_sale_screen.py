"""The review screen per business type: a replacement beside its earlier order and certificate, a
revocation with its certificate, reason and requester and no documents, an information change with
the old and new values side by side; and each type's checks of the order, posted into the
checklist's "order" entry."""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from models import (
    BusinessType,
    Certificate,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    ReviewDecision,
    RevocationReason,
    StaffRole,
)
from models.base import utcnow
from models.business import ORDER_CHECKS, order_checks
from review.forms import CHECKLIST, ORDER_CHECK_LABELS, SHORT_KIND_LABELS
from tests import factories
from tests.review.test_context import _certificate

SERIAL = "5e" * 16


@pytest.fixture
def earlier(app, db_session):
    """A completed first application with its certificate, on key MK-TEST-01 and password card MK2026000042."""
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], org_name="郑州旧名科技有限公司",
                                 legal_rep_name="王建国")
    order.status, order.completed_at = OrderStatus.COMPLETED, utcnow() - dt.timedelta(days=90)
    order.password_card_number = "MK2026000042"
    _certificate(db_session, order, SERIAL)
    certificate = db_session.scalar(select(Certificate).where(Certificate.serial_number == SERIAL))
    certificate.media_serial = "MK-TEST-01"
    db_session.flush()
    return SimpleNamespace(id=order.id, number=order.number, certificate_id=certificate.id,
                           credit_code=order.organisation.credit_code)


def _after_sale(app, db_session, earlier, business_type: BusinessType, reason: RevocationReason,
                **overrides) -> str:
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], business_type=business_type,
                                 credit_code=earlier.credit_code, **overrides)
    order.previous_order_id, order.certificate_id = earlier.id, earlier.certificate_id
    order.revocation_reason = int(reason)
    db_session.commit()
    return order.number


def _page(client, number: str) -> str:
    return client.get(f"/console/orders/{number}").get_data(as_text=True)


def test_a_replacement_shows_the_earlier_order_its_certificate_the_cause_and_the_payment_proof(
        app, client, login_as, db_session, earlier):
    number = _after_sale(app, db_session, earlier, BusinessType.REPLACEMENT, RevocationReason.KEY_COMPROMISE)
    login_as(StaffRole.REVIEWER)
    page = _page(client, number)
    panel = page[page.index('id="replacement-panel"'):page.index("</section>", page.index('id="replacement-panel"'))]
    assert f">{earlier.number}</a>" in panel and SERIAL in panel
    assert "MK-TEST-01" in panel and "MK2026000042" in panel  # media no. and password card no.
    assert re.search(r'id="replacement-cause">[^<]*(Key lost|丢失)', panel)
    assert 'data-matched="no"' in panel
    assert 'data-doc="payment_proof"' in page  # the proof is reviewed with the other documents
    assert 'name="check-order-payment_matched"' in page


def test_a_replacement_paid_and_matched_by_finance_says_so(app, client, login_as, db_session, earlier):
    number = _after_sale(app, db_session, earlier, BusinessType.REPLACEMENT, RevocationReason.SUPERSEDED)
    order = db_session.scalar(select(Order).where(Order.number == number))
    db_session.add(Payment(order_id=order.id, provider="transfer", out_trade_no=number, amount_cents=order.price_cents,
                           status=PaymentStatus.PAID, trade_no="BANK20261125001", paid_at=utcnow()))
    db_session.commit()
    login_as(StaffRole.REVIEWER)
    page = _page(client, number)
    assert re.search(r'data-matched="yes">\s*<span[^>]*>[^<]+</span> BANK20261125001', page)
    assert re.search(r'id="replacement-cause">[^<]*(Key damaged|损坏)', page)


def test_a_revocation_shows_the_certificate_reason_and_requester_and_no_documents(
        app, client, login_as, db_session, earlier):
    number = _after_sale(app, db_session, earlier, BusinessType.REVOCATION, RevocationReason.CESSATION_OF_OPERATION)
    order = db_session.scalar(select(Order).where(Order.number == number))
    agent_name, phone, phone_masked = order.agent.name, order.agent.phone, order.agent.phone_masked
    login_as(StaffRole.SENIOR_REVIEWER)
    client.post(f"/console/orders/{number}/claim")  # runs the identity checks
    page = _page(client, number)
    panel = page[page.index('id="revocation-panel"'):page.index("</section>", page.index('id="revocation-panel"'))]
    assert SERIAL in panel and "MK-TEST-01" in panel
    assert 'data-reason="5"' in panel and "cessationOfOperation" in panel
    assert agent_name in panel and phone_masked in panel and phone not in panel
    assert re.search(r'id="legal-rep-check">[^<]*<span class="badge badge-success">', panel)
    assert 'id="no-documents"' in page
    for absent in ("doc-tabs", "data-doc=", 'id="more-materials"', 'name="kinds"', "/materials/"):
        assert absent not in page, absent
    assert {f"check-order-{c}" for c in order_checks(BusinessType.REVOCATION)} == set(
        re.findall(r'name="(check-order-\w+)" value="y"', page))


def test_an_information_change_shows_old_and_new_values_side_by_side(app, client, login_as, db_session, earlier):
    number = _after_sale(app, db_session, earlier, BusinessType.INFO_CHANGE, RevocationReason.AFFILIATION_CHANGED,
                         org_name="郑州新名科技有限公司")
    login_as(StaffRole.SENIOR_REVIEWER)
    page = _page(client, number)
    changes = re.findall(r'<tr class="change( table-warning)?" data-changed="(yes|no)"><th scope="row">([^<]+)'
                         r'.*?<td class="old">([^<]*)</td><td class="new">([^<]*)</td>', page, re.S)
    by_field = {field.strip(): (changed, old, new) for _, changed, field, old, new in changes}
    name = next(key for key in by_field if key in ("Organisation name", "单位名称"))
    assert by_field[name] == ("yes", "郑州旧名科技有限公司", "郑州新名科技有限公司")
    assert [changed for changed, _, _ in by_field.values()].count("yes") >= 2  # the name, and 王建国 → 张伟
    assert all((changed == "yes") == (old != new) for changed, old, new in by_field.values())
    licence = re.search(r'class="row document-pair" data-kind="business_licence"(.*?)</div>', page, re.S).group(1)
    assert f"/console/orders/{earlier.number}/materials/" in licence and f"/console/orders/{number}/materials/" \
        in licence


def test_order_checks_are_posted_into_the_checklists_order_entry(app, client, login_as, db_session, earlier):
    number = _after_sale(app, db_session, earlier, BusinessType.REVOCATION, RevocationReason.AFFILIATION_CHANGED)
    login_as(StaffRole.SENIOR_REVIEWER)
    client.post(f"/console/orders/{number}/claim")
    answers = {f"check-order-{c}": "y" for c in order_checks(BusinessType.REVOCATION)}
    client.post(f"/console/orders/{number}/decide", data={"decision": "approve", **answers})
    order = db_session.scalar(select(Order).where(Order.number == number))
    decision = db_session.scalar(select(ReviewDecision).where(ReviewDecision.order_id == order.id))
    assert decision.checklist == {"order": dict.fromkeys(order_checks(BusinessType.REVOCATION), True)}
    assert order.first_approver_id is not None  # dual control: a second senior reviewer follows


def test_a_failing_order_check_is_kept_with_a_rejection(app, client, login_as, db_session, earlier):
    number = _after_sale(app, db_session, earlier, BusinessType.REPLACEMENT, RevocationReason.KEY_COMPROMISE)
    login_as(StaffRole.REVIEWER)
    client.post(f"/console/orders/{number}/claim")
    page = _page(client, number)
    answers = {name: "y" for name in re.findall(r'name="(check-\d+-\w+)"', page)}
    answers.update({"check-order-same_organisation": "y", "check-order-earlier_certificate_found": "y",
                    "check-order-payment_matched": "n"})
    client.post(f"/console/orders/{number}/decide", data={"decision": "reject", "note": "付款未到账", **answers})
    order = db_session.scalar(select(Order).where(Order.number == number))
    assert order.status == OrderStatus.REJECTED
    decision = db_session.scalar(select(ReviewDecision).where(ReviewDecision.order_id == order.id))
    assert decision.checklist["order"] == {"same_organisation": True, "earlier_certificate_found": True,
                                           "payment_matched": False}
    assert len(decision.checklist) == 1 + 6  # the order's checks and the six documents'
    page = _page(client, number)  # the answers stay on the page
    assert re.search(r'id="fail-order-payment_matched" name="check-order-payment_matched" value="n"[^>]*checked', page)


def test_every_check_and_kind_has_its_label():
    assert {check for checks in ORDER_CHECKS.values() for check in checks} <= set(ORDER_CHECK_LABELS)
    assert set(CHECKLIST) == set(SHORT_KIND_LABELS)
