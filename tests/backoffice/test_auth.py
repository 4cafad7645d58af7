"""Staff sign-in: password, TOTP second factor (or its enrolment), lock-out, idle timeout, logout."""
from __future__ import annotations

import pyotp
import pytest
from argon2 import Parameters, PasswordHasher, Type, extract_parameters
from sqlalchemy import select

from models import AuditEntry, Staff, StaffRole
from tests.conftest import STAFF_PASSWORD, add_staff, sign_in, totp_now
from web.auth import safe_next
from web.guards import LAST_ACTIVITY_KEY


def actions_for(db_session, target: str) -> list[str]:
    return list(db_session.scalars(select(AuditEntry.action).where(AuditEntry.target == target)
                                   .order_by(AuditEntry.id)))


def signed_in(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def test_password_then_totp_signs_in(client, db_session):
    staff = add_staff(db_session, StaffRole.REVIEWER, "wang", failed_logins=2)
    db_session.commit()
    staff_id, actor, code = staff.id, staff.actor, totp_now(staff)

    response = client.post("/console/login", data={"username": "wang", "password": STAFF_PASSWORD})
    assert response.headers["Location"].endswith("/console/login/totp")
    assert not signed_in(client)  # only the password so far
    assert client.get("/console/login/totp").status_code == 200

    response = client.post("/console/login/totp", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/")
    assert signed_in(client)
    with client.session_transaction() as session:
        assert session.permanent and "staff_pending" not in session
    staff = db_session.get(Staff, staff_id)
    assert staff.failed_logins == 0 and staff.last_login_at is not None
    assert actions_for(db_session, actor) == ["staff.login"]


@pytest.mark.parametrize("username, password", [("wang", "wrong-password-123"), ("nobody", STAFF_PASSWORD)])
def test_wrong_password_or_unknown_user_get_the_same_answer(client, db_session, username, password):
    staff = add_staff(db_session, StaffRole.REVIEWER, "wang")
    db_session.commit()
    staff_id = staff.id
    client.get("/console/login?lang=en")
    response = client.post("/console/login", data={"username": username, "password": password})
    assert response.status_code == 200 and "Sign-in failed" in response.get_data(as_text=True)
    assert not signed_in(client)
    assert db_session.get(Staff, staff_id).failed_logins == (1 if username == "wang" else 0)


def test_inactive_account_cannot_sign_in(client, db_session):
    add_staff(db_session, StaffRole.REVIEWER, "gone", active=False)
    db_session.commit()
    response = client.post("/console/login", data={"username": "gone", "password": STAFF_PASSWORD})
    assert response.status_code == 200 and not signed_in(client)


def test_wrong_code_is_refused_and_counted(client, db_session):
    staff = add_staff(db_session, StaffRole.REVIEWER, "wang")
    db_session.commit()
    staff_id, good = staff.id, totp_now(staff)
    wrong = f"{(int(good) + 500_000) % 1_000_000:06d}"
    client.post("/console/login", data={"username": "wang", "password": STAFF_PASSWORD})
    response = client.post("/console/login/totp", data={"code": wrong})
    assert response.status_code == 200 and not signed_in(client)
    staff = db_session.get(Staff, staff_id)
    assert staff.failed_logins == 1
    assert actions_for(db_session, staff.actor) == ["staff.login_failed"]


def test_a_code_is_used_once_only(client, db_session):
    staff = add_staff(db_session, StaffRole.REVIEWER, "wang")
    db_session.commit()
    staff_id, code = staff.id, totp_now(staff)
    assert sign_in(client, staff, code=code).status_code == 302
    client.post("/console/logout")

    client.post("/console/login", data={"username": "wang", "password": STAFF_PASSWORD})
    response = client.post("/console/login/totp", data={"code": code})
    assert response.status_code == 200 and not signed_in(client)
    assert db_session.get(Staff, staff_id).failed_logins == 1


def test_the_second_step_expires(client, db_session):
    staff = add_staff(db_session, StaffRole.REVIEWER, "wang")
    db_session.commit()
    code = totp_now(staff)
    client.post("/console/login", data={"username": "wang", "password": STAFF_PASSWORD})
    with client.session_transaction() as session:
        pending = session["staff_pending"]
        session["staff_pending"] = {**pending, "until": pending["until"] - 3600}
    response = client.post("/console/login/totp", data={"code": code})
    assert response.headers["Location"].endswith("/console/login") and not signed_in(client)


def test_lock_out_after_five_failures_lifted_by_an_admin(client, db_session, login_as):
    staff = add_staff(db_session, StaffRole.REVIEWER, "wang")
    db_session.commit()
    staff_id, actor = staff.id, staff.actor
    for _ in range(5):
        client.post("/console/login", data={"username": "wang", "password": "wrong-password-123"})
    locked = db_session.get(Staff, staff_id)
    assert locked.failed_logins == 5 and locked.locked_until is not None
    assert actions_for(db_session, actor)[-2:] == ["staff.login_failed", "staff.locked"]

    response = client.post("/console/login", data={"username": "wang", "password": STAFF_PASSWORD})
    assert response.status_code == 200, "a locked account is refused even with the right password"
    assert db_session.get(Staff, staff_id).failed_logins == 5

    admin = login_as(StaffRole.ADMIN)
    response = client.post("/console/admin/staff/lift-lockout", data={"id": staff_id})
    assert response.status_code == 302
    unlocked = db_session.get(Staff, staff_id)
    assert unlocked.locked_until is None and unlocked.failed_logins == 0
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.unlocked")).one()
    assert entry.actor == admin.actor and entry.target == actor
    assert entry.before["failed_logins"] == 5 and entry.after == {"locked_until": None, "failed_logins": 0}

    client.post("/console/logout")
    response = client.post("/console/login", data={"username": "wang", "password": STAFF_PASSWORD})
    assert response.headers["Location"].endswith("/console/login/totp")


def test_wrong_codes_count_toward_the_lock_out(client, db_session):
    staff = add_staff(db_session, StaffRole.REVIEWER, "wang", failed_logins=4)
    db_session.commit()
    staff_id, wrong = staff.id, f"{(int(totp_now(staff)) + 500_000) % 1_000_000:06d}"
    client.post("/console/login", data={"username": "wang", "password": STAFF_PASSWORD})
    response = client.post("/console/login/totp", data={"code": wrong})
    assert response.headers["Location"].endswith("/console/login")
    assert db_session.get(Staff, staff_id).locked_until is not None


def test_new_account_enrols_with_a_qr_code(client, db_session):
    staff = add_staff(db_session, StaffRole.FINANCE, "zhao", enrolled=False)
    db_session.commit()
    staff_id = staff.id
    response = client.post("/console/login", data={"username": "zhao", "password": STAFF_PASSWORD})
    assert response.headers["Location"].endswith("/console/login/enrol")
    assert client.get("/console/login/totp").headers["Location"].endswith("/console/login/enrol")

    page = client.get("/console/login/enrol").get_data(as_text=True)
    secret = db_session.get(Staff, staff_id).totp_secret
    assert secret and 'src="data:image/svg+xml' in page
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in page
    assert client.get("/console/login/enrol").status_code == 200
    assert db_session.get(Staff, staff_id).totp_secret == secret, "a reload keeps the secret being set up"

    response = client.post("/console/login/enrol", data={"code": pyotp.TOTP(secret).now()})
    assert response.headers["Location"].endswith("/console/") and signed_in(client)
    assert db_session.get(Staff, staff_id).totp_confirmed_at is not None


def test_enrolment_page_needs_the_password_first(client, db_session):
    response = client.get("/console/login/enrol")
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/login")


def test_idle_session_is_signed_out(client, login_as, app):
    login_as(StaffRole.ADMIN)
    assert client.get("/console/admin/staff/").status_code == 200
    with client.session_transaction() as session:
        session[LAST_ACTIVITY_KEY] -= app.config["STAFF_IDLE_TIMEOUT_MINUTES"] * 60 + 1
    response = client.get("/console/admin/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/login?next=/console/admin/staff/")
    assert not signed_in(client)
    assert client.get("/console/admin/staff/").headers["Location"].startswith("/console/login")


def test_activity_keeps_the_session(client, login_as, app):
    login_as(StaffRole.ADMIN)
    with client.session_transaction() as session:
        session[LAST_ACTIVITY_KEY] -= app.config["STAFF_IDLE_TIMEOUT_MINUTES"] * 60 - 60
    assert client.get("/console/admin/staff/").status_code == 200
    assert client.get("/console/admin/staff/").status_code == 200


@pytest.mark.parametrize("target, expected", [
    ("/console/admin/staff/?page=2", "/console/admin/staff/?page=2"),
    ("https://evil.example/", "/console/"),
    ("//evil.example/", "/console/"),
    ("/\\evil.example/", "/console/"),
    ("javascript:alert(1)", "/console/"),
])
def test_login_follows_only_a_safe_next(client, db_session, target, expected):
    staff = add_staff(db_session, StaffRole.ADMIN)
    db_session.commit()
    code = totp_now(staff)
    client.post("/console/login", query_string={"next": target},
                data={"username": staff.username, "password": STAFF_PASSWORD})
    response = client.post("/console/login/totp", data={"code": code})
    assert response.headers["Location"] == expected or response.headers["Location"].endswith(expected)
    assert "evil" not in response.headers["Location"]


def test_safe_next():
    assert safe_next("/console/orders/1") == "/console/orders/1"
    assert safe_next("/console/\r\nX: y") is None
    assert safe_next(None) is None


def test_anonymous_console_page_redirects_to_login_with_next(client):
    response = client.get("/console/admin/")
    assert response.headers["Location"].startswith("/console/login?next=")


def test_logout_is_a_post_and_audited(client, db_session, login_as):
    staff = login_as(StaffRole.REVIEWER)
    assert client.get("/console/logout").status_code == 405
    response = client.post("/console/logout")
    assert response.headers["Location"].endswith("/console/login") and not signed_in(client)
    assert actions_for(db_session, staff.actor)[-1] == "staff.logout"


def test_sign_in_posts_are_rate_limited_per_ip(rate_limited_app, db_session):
    client = rate_limited_app.test_client()
    wrong = {"username": "nobody", "password": "wrong-password-123"}
    statuses = [client.post("/console/login", data=wrong).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
    assert client.get("/console/login").status_code == 200, "only the POST is limited"
    other_ip = client.post("/console/login", data=wrong, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other_ip.status_code == 200


def test_a_hash_with_older_parameters_is_made_again_at_the_next_sign_in(client, db_session):
    # argon2-cffi's default parameters (RFC 9106 low-memory: m=64 MiB, t=3, p=4), which staff hashes had before.
    old_hash = PasswordHasher().hash(STAFF_PASSWORD)
    staff = add_staff(db_session, StaffRole.REVIEWER, "zhao")
    staff.password_hash = old_hash
    db_session.commit()
    staff_id = staff.id

    client.post("/console/login", data={"username": "zhao", "password": "wrong-password-123"})
    staff = db_session.get(Staff, staff_id)
    assert staff.password_hash == old_hash  # a wrong password changes nothing

    assert sign_in(client, staff).status_code == 302 and signed_in(client)
    new_hash = db_session.get(Staff, staff_id).password_hash
    assert new_hash != old_hash
    assert extract_parameters(new_hash) == Parameters(type=Type.ID, version=19, salt_len=16, hash_len=32,
                                                      time_cost=2, memory_cost=19 * 1024, parallelism=1)
    assert PasswordHasher().verify(new_hash, STAFF_PASSWORD)
