"""The dashboard page: the first console page of senior reviewers and admins, with its filters."""
from __future__ import annotations

import pytest

from models import StaffRole
from tests import factories


@pytest.mark.parametrize("role", [StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN])
def test_seniors_and_admins_land_on_the_dashboard(client, login_as, role):
    login_as(role)
    response = client.get("/console/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/dashboard")


def test_a_reviewer_still_lands_on_the_queue(client, login_as):
    login_as(StaffRole.REVIEWER)
    assert client.get("/console/").headers["Location"].endswith("/console/queues/new")


def test_the_dashboard_shows_the_backlog_and_keeps_the_filters(app, client, db_session, login_as):
    factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    login_as(StaffRole.SENIOR_REVIEWER)
    page = client.get("/console/dashboard?from=2026-11-01&to=2026-11-30&type=new").get_data(as_text=True)
    assert 'id="backlog-new"><td><a href="/console/queues/new">' in page
    row = page.split('id="backlog-new">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="text-right">1</td>' in row
    assert 'value="2026-11-01"' in page and 'value="2026-11-30"' in page and 'value="new" selected' in page


def test_a_wrong_range_says_so_and_shows_the_default(client, login_as):
    login_as(StaffRole.ADMIN)
    page = client.get("/console/dashboard?from=2026-13-01&to=2026-11-01&type=bogus&lang=en").get_data(as_text=True)
    assert "is not a date" in page and "Unknown business type" in page
    far = client.get("/console/dashboard?from=0001-01-01&to=9999-12-31&lang=en")
    assert far.status_code == 200, "a day past what a UTC datetime holds is refused, not a server error"
    assert "Choose a day between 2000-01-01 and 2999-12-31." in far.get_data(as_text=True)
