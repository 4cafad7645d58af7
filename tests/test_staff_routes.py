"""Every staff route × every role and an anonymous visitor: the table of who may do what.

New console routes are picked up from the URL map, so a route without a row here fails."""
from __future__ import annotations

import pytest

from models import Material, StaffRole
from tests import factories
from tests.test_route_table import console_values, filled

REVIEWERS = {StaffRole.REVIEWER, StaffRole.SENIOR_REVIEWER}
EVERYONE = set(StaffRole)
FINANCE_VIEWERS = {StaffRole.FINANCE, StaffRole.ADMIN}  # admins look; finance acts
ALLOWED = {
    "review.home": EVERYONE,
    "review.search": EVERYONE,
    "review.dashboard": {StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN},
    "review.report_page": {StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN},
    "review.report_chart": {StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN},
    "review.queue": REVIEWERS,
    "review.next_claim": REVIEWERS,
    "review.overdue": {StaffRole.SENIOR_REVIEWER},
    "review.order_page": EVERYONE,  # read only but for reviewers; documents for reviewers only
    "review.material_image": REVIEWERS,
    "review.claim": REVIEWERS,
    "review.release": REVIEWERS,
    "review.verify_identity": REVIEWERS,
    "review.decide": REVIEWERS,
    "review.reveal": REVIEWERS,
    "review.reassign": {StaffRole.SENIOR_REVIEWER},
    "review.override_risk": {StaffRole.SENIOR_REVIEWER},
    "review.reviewers": {StaffRole.SENIOR_REVIEWER},
    "review.messages": {StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN},
    "review.messages_csv": {StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN},
    "review.resend_message": {StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN},  # a password's: senior reviewers only
    "review.mark_absent": {StaffRole.SENIOR_REVIEWER},
    "review.mark_back": {StaffRole.SENIOR_REVIEWER},
    "review.audit_log": REVIEWERS | {StaffRole.ADMIN},
    "review.add_note": EVERYONE,  # every role works on orders (review.context.NOTE_WRITERS)
    "review.set_reminders": REVIEWERS | {StaffRole.ADMIN},  # who answers an applicant's call about an order
    "review.certificate_register": EVERYONE,
    "review.certificate_page": EVERYONE,
    "review.ca_status": {StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN},
    "review.request_revocation": {StaffRole.SENIOR_REVIEWER},
    "review.withdraw_revocation": {StaffRole.SENIOR_REVIEWER},
    "review.confirm_revocation": {StaffRole.SENIOR_REVIEWER},
    "finance.home": FINANCE_VIEWERS,
    "finance.payments": FINANCE_VIEWERS,
    "finance.notifications": FINANCE_VIEWERS,
    "finance.refund_list": FINANCE_VIEWERS,
    "finance.confirm_refund": {StaffRole.FINANCE},
    "finance.send_refund": {StaffRole.FINANCE},
    "finance.record_paid_back": {StaffRole.FINANCE},
    "finance.invoice_list": FINANCE_VIEWERS,
    "finance.invoice_pdf": FINANCE_VIEWERS | REVIEWERS,
    "finance.void_invoice": {StaffRole.FINANCE},
    "finance.red_invoice": {StaffRole.FINANCE},
    "finance.issue_invoice_again": {StaffRole.FINANCE},
    "finance.reconciliation": FINANCE_VIEWERS,
    "finance.transfer_list": FINANCE_VIEWERS,
    "finance.transfer_page": FINANCE_VIEWERS,
    "finance.match_transfer": {StaffRole.FINANCE},
    "finance.refuse_transfer_proof": {StaffRole.FINANCE},
    "finance.transfer_proof": {StaffRole.FINANCE},  # the one document finance opens: the payment proof
    **{f"station.{name}": {StaffRole.FULFILLMENT, StaffRole.ADMIN} for name in (
        "home", "claim_next", "claim", "job_page", "progress", "start", "resume", "wipe", "release", "keys")},
    **{f"station.{name}": {StaffRole.FULFILLMENT, StaffRole.ADMIN} for name in (
        "stock_page", "receive_keys", "receive_envelopes", "write_off")},
    **{f"station.{name}": {StaffRole.FULFILLMENT, StaffRole.ADMIN} for name in (
        "shipping_page", "day_labels", "handover", "print_card", "ship", "label", "delivered", "returned")},
    **{f"station.{name}": {StaffRole.FULFILLMENT, StaffRole.ADMIN} for name in ("returns_page", "receive_return")},
    **{f"station.{name}": {StaffRole.FULFILLMENT, StaffRole.ADMIN} for name in ("unlocks_page", "receive_unlock")},
    **{f"station.{name}": {StaffRole.ADMIN} for name in (
        "stations", "add_station", "issue_credential", "revoke_credential")},
}
# Sign-in pages are for everybody; logout for anybody signed in.
OPEN = {"auth.login", "auth.totp", "auth.enrol", "auth.logout"}


def _allowed(endpoint: str) -> set[StaffRole]:
    if endpoint.startswith("admin"):  # Flask-Admin: the admin role only
        return {StaffRole.ADMIN}
    return ALLOWED[endpoint]


def _cases(app, order, material_id):
    values = console_values(order, material_id)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.endpoint.endswith("static") or rule.endpoint in OPEN:
            continue
        url = filled(rule, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


@pytest.mark.parametrize("role", [None, *StaffRole], ids=lambda r: r.value if r else "anonymous")
def test_every_staff_route_checks_the_role(app, client, db_session, login_as, role):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    material_id = db_session.query(Material.id).filter_by(order_id=order.id).first()[0]
    number = order.number
    db_session.commit()
    if role is not None:
        login_as(role)
    wrong = []
    cases = list(_cases(app, number, material_id))
    assert len(cases) > 100
    for endpoint, method, url in cases:
        response = client.open(url, method=method)
        to_login = response.status_code == 302 and "/console/login" in response.headers["Location"]
        if role is None:
            ok = to_login
        elif role in _allowed(endpoint):
            ok = response.status_code not in (401, 403, 500) and not to_login
        else:
            ok = response.status_code == 403
        if not ok:
            wrong.append(f"{method} {url} ({endpoint}) -> {response.status_code}")
    assert not wrong, "\n".join(wrong)
