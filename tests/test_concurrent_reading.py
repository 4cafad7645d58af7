"""Eight reviewers reading at once: every audited view (a document, the order page) writes its
audit entry on a GET, and none of them may answer "database is locked" on SQLite — a view that
writes takes the write lock when its transaction begins (backoffice.database.writes) instead of
failing to upgrade a read snapshot another writer has moved past."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from models import AuditEntry, StaffRole
from tests import factories
from tests.conftest import add_staff, sign_in
from tests.databases import at_once, own_app
from web.extensions import db

VIEWERS = 8
ROUNDS = 4


def test_eight_reviewers_open_documents_at_once(tmp_path, tmp_path_factory, database_url):
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        app.config["PROPAGATE_EXCEPTIONS"] = False  # a failure is an answer to count, not a crash
        with app.app_context():
            order = factories.paid_order(db.session, app.config["UPLOAD_FOLDER"])
            number = order.number
            reviewers = [add_staff(db.session, StaffRole.REVIEWER, f"reader{i}") for i in range(VIEWERS)]
            db.session.commit()
            for reviewer in reviewers:
                db.session.refresh(reviewer)
            db.session.expunge_all()
        clients = []  # signed in outside the app context: requests inside one would share its `g`
        for reviewer in reviewers:
            client = app.test_client()
            assert sign_in(client, reviewer).status_code == 302
            clients.append(client)
        page = clients[0].get(f"/console/orders/{number}").get_data(as_text=True)
        documents = sorted(set(re.findall(rf"/console/orders/{number}/materials/\d+", page)))
        assert len(documents) == 5

        def read(client):
            answers = []
            for _ in range(ROUNDS):
                answers.append(client.get(f"/console/orders/{number}").status_code)
                answers += [client.get(url).status_code for url in documents]
            return answers

        statuses = [status for answers in at_once([lambda c=c: read(c) for c in clients]) for status in answers]
        assert statuses.count(200) == len(statuses) == VIEWERS * ROUNDS * 6
        with app.app_context():
            viewed = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action.in_(["material.viewed", "order.viewed"])))
        assert viewed == len(statuses) + 1  # and the first page read above
