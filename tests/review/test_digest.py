"""The senior reviewers' daily digest e-mail."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import EmailMessage, StaffRole
from models.base import utcnow
from review.digest import send_daily_digest
from tests import factories

# The operations queue messages, rendered with the app's settings.
pytestmark = pytest.mark.usefixtures("in_app")


def test_the_digest_goes_to_senior_reviewers_with_the_overdue_orders(app, db_session):
    late = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"], paid_at=utcnow() - dt.timedelta(days=20))
    factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    senior = factories.staff(db_session, StaffRole.SENIOR_REVIEWER, "digest-senior")
    factories.staff(db_session, StaffRole.REVIEWER, "digest-reviewer")
    assert send_daily_digest(db_session, utcnow()) >= 1
    mail = db_session.scalars(select(EmailMessage).where(EmailMessage.to_address == senior.email)).one()
    assert "审核日报" in mail.subject
    assert late.number in mail.body and "已超期：1" in mail.body
    assert not db_session.scalars(select(EmailMessage).where(
        EmailMessage.to_address == "digest-reviewer@ca.example.cn")).all()
