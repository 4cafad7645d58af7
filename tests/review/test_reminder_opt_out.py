"""An order's renewal reminders on its console page (review.reminder_views): whether its applicant gets
them, and the button that stops them, for every order of the applicant, or turns them back on; for the
reviewers and admins who answer an applicant's call, audited under their name."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEntry, StaffRole
from tests import factories


@pytest.fixture
def certified(app, db_session) -> str:
    """An order whose certificate expires in 60 days: the 90-day reminder is due; its number."""
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    factories.registered_certificate(db_session, order, f"{order.id:08x}" * 4, days_left=60)
    number = order.number
    db_session.commit()
    return number


def _remind(runner) -> str:
    result = runner.invoke(args=["renewal", "remind"])
    assert result.exit_code == 0, result.output
    return result.output


def _state(client, number: str) -> str:
    page = client.get(f"/console/orders/{number}?lang=en").get_data(as_text=True)
    return page[page.index('id="reminders-state"'):page.index("</p>", page.index('id="reminders-state"'))]


@pytest.mark.parametrize("role", [StaffRole.REVIEWER, StaffRole.ADMIN])
def test_the_button_stops_the_reminders_and_a_second_click_resumes_them(client, runner, db_session, login_as,
                                                                         certified, role):
    staff = login_as(role)
    assert "Sent to this organisation" in _state(client, certified) and "Stop reminders" in _state(client, certified)
    stopped = client.post(f"/console/orders/{certified}/reminders?lang=en", data={"reminders": "off"},
                          follow_redirects=True).get_data(as_text=True)
    assert "Renewal reminders stopped for this applicant." in stopped
    state = _state(client, certified)
    assert f"by {staff.display_name}." in state and "Resume reminders" in state
    assert _remind(runner).startswith("0 reminder(s)")
    resumed = client.post(f"/console/orders/{certified}/reminders?lang=en", data={"reminders": "on"},
                          follow_redirects=True).get_data(as_text=True)
    assert "Renewal reminders are on again for this applicant." in resumed
    assert "Sent to this organisation" in _state(client, certified)
    assert _remind(runner).startswith("1 reminder(s)")
    actors = db_session.scalars(select(AuditEntry.actor).where(
        AuditEntry.action.in_(("renewal.opted_out", "renewal.opted_in"))).order_by(AuditEntry.id)).all()
    assert actors == [f"staff:{staff.username}"] * 2


def test_clicking_again_changes_nothing_and_says_so(client, db_session, login_as, certified):
    login_as(StaffRole.SENIOR_REVIEWER)
    client.post(f"/console/orders/{certified}/reminders", data={"reminders": "off"})
    again = client.post(f"/console/orders/{certified}/reminders?lang=en", data={"reminders": "off"},
                        follow_redirects=True).get_data(as_text=True)
    assert "Nothing changed: the renewal reminders were already off." in again
    assert client.post(f"/console/orders/{certified}/reminders", data={"reminders": "maybe"}).status_code == 400
    assert len(db_session.scalars(select(AuditEntry).where(AuditEntry.action == "renewal.opted_out")).all()) == 1


@pytest.mark.parametrize("role", [StaffRole.FINANCE, StaffRole.FULFILLMENT])
def test_other_roles_read_the_state_but_may_not_change_it(client, runner, db_session, login_as, certified, role):
    login_as(role)
    assert "Sent to this organisation" in _state(client, certified)
    assert "Stop reminders" not in _state(client, certified)
    assert client.post(f"/console/orders/{certified}/reminders", data={"reminders": "off"}).status_code == 403
    assert _remind(runner).startswith("1 reminder(s)")
