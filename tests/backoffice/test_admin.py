"""The admin screens: admins only, nothing deleted, every change audited, secrets never shown."""
from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from backoffice import admin as admin_module
from models import AuditEntry, CalendarOverride, DenyListEntry, Staff, StaffRole, record
from models.base import utcnow
from tests.conftest import PRODUCTION, STAFF_PASSWORD, add_staff, totp_now

ADMIN_LISTS = ["staff", "products", "prices", "profiles", "media", "channels", "reasons", "sla", "calendar",
               "deny-list", "audit"]
ADMIN_URLS = (["/console/admin/"]
              + [f"/console/admin/{name}/" for name in ADMIN_LISTS]
              + [f"/console/admin/{name}/new/" for name in ADMIN_LISTS]
              + [f"/console/admin/{name}/edit/?id=1" for name in ADMIN_LISTS]
              + ["/console/admin/audit/details/?id=1"])
ADMIN_POSTS = ["/console/admin/staff/reset-second-factor", "/console/admin/staff/lift-lockout",
               "/console/admin/staff/new/", "/console/admin/products/delete/"]


def hidden_value(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


def changes(db_session, target: str) -> list[AuditEntry]:
    return list(db_session.scalars(select(AuditEntry).where(AuditEntry.action == "admin.change",
                                                            AuditEntry.target == target)))


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_anonymous_is_sent_to_login_and_reviewer_gets_403(client, login_as, url):
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login?next=")
    login_as(StaffRole.REVIEWER)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ADMIN_POSTS)
def test_admin_posts_are_refused_to_others(client, db_session, login_as, url):
    target = add_staff(db_session, StaffRole.FINANCE, failed_logins=3)
    db_session.commit()
    target_id = target.id
    assert client.post(url, data={"id": target_id}).headers["Location"].startswith("/console/login")
    login_as(StaffRole.SENIOR_REVIEWER)
    assert client.post(url, data={"id": target_id}).status_code == 403
    assert db_session.get(Staff, target_id).failed_logins == 3


def test_admin_lists_staff_without_secrets(client, db_session, login_as):
    admin = login_as(StaffRole.ADMIN)
    page = client.get("/console/admin/staff/").get_data(as_text=True)
    assert admin.username in page
    assert admin.password_hash not in page and admin.totp_secret not in page
    assert "password_hash" not in page and "totp_secret" not in page
    search = client.get("/console/admin/staff/", query_string={"search": admin.username}).get_data(as_text=True)
    assert admin.username in search


def test_admin_creates_staff_with_a_hashed_password(client, db_session, login_as):
    admin = login_as(StaffRole.ADMIN)
    assert client.get("/console/admin/staff/new/").status_code == 200
    response = client.post("/console/admin/staff/new/", data={
        "username": "chen", "display_name": "高级审核员 陈静", "email": "chen@ca.example.cn",
        "role": "senior_reviewer", "active": "y", "password": "a-long-initial-password"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    chen = db_session.scalars(select(Staff).where(Staff.username == "chen")).one()
    assert chen.role is StaffRole.SENIOR_REVIEWER and chen.totp_secret is None
    assert chen.password_hash.startswith("$argon2") and PasswordHasher().verify(chen.password_hash,
                                                                                "a-long-initial-password")
    [entry] = changes(db_session, "staff:chen")
    assert entry.actor == admin.actor and entry.before is None
    assert entry.after["role"] == "senior_reviewer" and entry.after["password"] == "set"
    assert "password_hash" not in entry.after and "a-long-initial-password" not in str(entry.after)


def test_short_password_is_refused(client, db_session, login_as):
    login_as(StaffRole.ADMIN)
    client.post("/console/admin/staff/new/", data={
        "username": "chen", "display_name": "陈静", "role": "reviewer", "active": "y", "password": "short"})
    assert db_session.scalar(select(Staff).where(Staff.username == "chen")) is None


def test_edit_changes_only_the_allowed_fields_and_audits_them(client, db_session, login_as):
    login_as(StaffRole.ADMIN)
    member = add_staff(db_session, StaffRole.REVIEWER, "wang")
    db_session.commit()
    member_id, password_hash = member.id, member.password_hash
    page = client.get(f"/console/admin/staff/edit/?id={member_id}").get_data(as_text=True)
    assert re.search(r'<option selected value="reviewer">', page), "the current role is the one selected"
    assert 'name="username"' not in page and 'name="password"' not in page
    response = client.post(f"/console/admin/staff/edit/?id={member_id}", data={
        "display_name": "Test wang", "email": "wang@ca.example.cn", "role": "finance", "active": "y",
        "username": "hijacked", "password": "not-taken-from-edit"})
    assert response.status_code == 302
    member = db_session.get(Staff, member_id)
    assert member.role is StaffRole.FINANCE and member.username == "wang" and member.password_hash == password_hash
    [entry] = changes(db_session, "staff:wang")
    assert entry.before == {"role": "reviewer"} and entry.after == {"role": "finance"}


def test_reset_second_factor_is_audited(client, db_session, login_as):
    admin = login_as(StaffRole.ADMIN)
    member = add_staff(db_session, StaffRole.REVIEWER, "wang", totp_last_step=123)
    db_session.commit()
    member_id = member.id
    page = client.get("/console/admin/staff/").get_data(as_text=True)
    assert 'action="/console/admin/staff/reset-second-factor"' in page
    response = client.post("/console/admin/staff/reset-second-factor", data={"id": member_id})
    assert response.status_code == 302
    member = db_session.get(Staff, member_id)
    assert member.totp_secret is None and member.totp_confirmed_at is None and member.totp_last_step is None
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.totp_reset")).one()
    assert entry.actor == admin.actor and entry.target == "staff:wang"

    client.post("/console/logout")
    response = client.post("/console/login", data={"username": "wang", "password": STAFF_PASSWORD})
    assert response.headers["Location"].endswith("/console/login/enrol")


def test_nothing_can_be_deleted(client, db_session, login_as):
    admin = login_as(StaffRole.ADMIN)
    staff_count = db_session.scalar(select(func.count()).select_from(Staff))
    for name in ADMIN_LISTS:
        page = client.get(f"/console/admin/{name}/").get_data(as_text=True)
        assert "/delete/" not in page, name
        client.post(f"/console/admin/{name}/delete/", data={"id": admin.id})
    assert db_session.scalar(select(func.count()).select_from(Staff)) == staff_count
    for app_admin in client.application.extensions["admin"]:
        assert all(not getattr(view, "can_delete", False) for view in app_admin._views)


def test_audit_log_is_read_only_and_newest_first(client, db_session, login_as):
    login_as(StaffRole.ADMIN)
    older = record(db_session, "cli", "test.older", note="first")
    older.at = utcnow() - dt.timedelta(days=2)
    record(db_session, "cli", "test.newer", note="second")
    db_session.commit()
    older_id = older.id
    page = client.get("/console/admin/audit/").get_data(as_text=True)
    assert page.index("test.newer") < page.index("test.older")
    assert client.get("/console/admin/audit/new/").status_code == 302
    assert client.get(f"/console/admin/audit/edit/?id={older_id}").status_code == 302
    assert client.get(f"/console/admin/audit/details/?id={older_id}").status_code == 200

    view = next(v for v in client.application.extensions["admin"][0]._views
                if isinstance(v, admin_module.AuditLogView))
    after = next(i for i, flt in enumerate(view._filters) if isinstance(flt, admin_module._AtAfter))
    since = (dt.datetime.now() - dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    page = client.get("/console/admin/audit/", query_string={f"flt0_{after}": since}).get_data(as_text=True)
    assert "test.newer" in page and "test.older" not in page
    action = next(i for i, flt in enumerate(view._filters) if flt.column.key == "action"
                  and type(flt).__name__ == "FilterEqual")
    page = client.get("/console/admin/audit/", query_string={f"flt0_{action}": "test.older"}).get_data(as_text=True)
    assert "test.older" in page and "test.newer" not in page


def test_deny_list_shows_the_number_masked(client, db_session, login_as):
    admin = login_as(StaffRole.ADMIN)
    response = client.post("/console/admin/deny-list/new/", data={
        "id_number": "110101199003078515", "reason": "forged documents", "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    entry = db_session.scalars(select(DenyListEntry)).one()
    entry_id = entry.id
    assert entry.added_by == admin.actor
    page = client.get("/console/admin/deny-list/").get_data(as_text=True)
    assert "1101**********8515" in page and "110101199003078515" not in page
    edit = client.get(f"/console/admin/deny-list/edit/?id={entry_id}").get_data(as_text=True)
    assert "110101199003078515" not in edit and 'name="id_number"' not in edit
    [change] = changes(db_session, f"deny_list_entry:{entry_id}")
    assert change.after["id_number"] == "1101**********8515" and "110101199003078515" not in str(change.after)

    client.post("/console/admin/deny-list/new/", data={
        "id_number": "110101199003078515", "reason": "again", "active": "y"})
    assert db_session.scalar(select(func.count()).select_from(DenyListEntry)) == 1


def test_calendar_override_records_who_added_it(client, db_session, login_as):
    admin = login_as(StaffRole.ADMIN)
    response = client.post("/console/admin/calendar/new/", data={
        "day": "2031-10-08", "is_workday": "y", "note": "adjusted working day"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    override = db_session.scalars(select(CalendarOverride)).one()
    assert override.added_by == admin.actor and override.day == dt.date(2031, 10, 8) and override.is_workday
    [change] = changes(db_session, f"calendar_override:{override.id}")
    assert change.after["day"] == "2031-10-08" and change.after["added_by"] == admin.actor


def test_price_form_offers_channels_and_business_types(client, db_session, login_as):
    login_as(StaffRole.ADMIN)
    page = client.get("/console/admin/prices/new/").get_data(as_text=True)
    product_id = re.search(r'<option[^>]*value="(\d+)"[^>]*>1年期单位证书', page).group(1)
    channel_id = re.search(r'<option[^>]*value="(\d+)"[^>]*>郑州市公共资源交易中心', page).group(1)
    response = client.post("/console/admin/prices/new/", data={
        "product_id": product_id, "channel_id": channel_id, "business_type": "renewal", "amount_cents": "20000"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert "郑州市公共资源交易中心" in client.get("/console/admin/prices/").get_data(as_text=True)
    [change] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "admin.change",
                                                          AuditEntry.target.like("price:%")))
    assert change.after == {"product_id": int(product_id), "channel_id": int(channel_id),
                            "business_type": "renewal", "amount_cents": 20000}


def test_admin_pages_carry_a_nonce_for_flask_admin_scripts(client, login_as):
    login_as(StaffRole.ADMIN)
    response = client.get("/console/admin/staff/")
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
    assert f"style-src 'self' 'nonce-{nonce}'" in policy and "unsafe-inline" not in policy
    page = response.get_data(as_text=True)
    assert f'<script nonce="{nonce}"' in page and "<script>" not in page
    assert "nonce-" not in client.get("/console/login").headers["Content-Security-Policy"]


def test_admin_pages_show_the_console_navigation_and_the_admin_menu(client, login_as):
    login_as(StaffRole.ADMIN)
    page = client.get("/console/admin/staff/").get_data(as_text=True)
    assert "console-nav" in page and "admin-menu" in page
    assert 'href="/console/admin/audit/"' in page and 'href="/console/admin/deny-list/"' in page


def test_posts_without_csrf_token_are_refused(make_app, db_session):
    other = make_app(WTF_CSRF_ENABLED=True)
    client = other.test_client()
    admin = add_staff(db_session, StaffRole.ADMIN)
    db_session.commit()
    username, code = admin.username, totp_now(admin)
    credentials = {"username": username, "password": STAFF_PASSWORD}

    assert client.post("/console/login", data=credentials).status_code == 400
    token = hidden_value(client.get("/console/login").get_data(as_text=True), "csrf_token")
    assert client.post("/console/login", data={**credentials, "csrf_token": token}).status_code == 302
    token = hidden_value(client.get("/console/login/totp").get_data(as_text=True), "csrf_token")
    assert client.post("/console/login/totp", data={"code": code, "csrf_token": token}).status_code == 302

    form = client.get("/console/admin/staff/new/").get_data(as_text=True)
    new_staff = {"username": "chen", "display_name": "陈静", "role": "reviewer", "active": "y",
                 "password": "a-long-initial-password"}
    assert client.post("/console/admin/staff/new/", data=new_staff).status_code == 400
    tokens = {name: hidden_value(form, name) for name in ("csrf_token", "admin_csrf_token")}
    response = client.post("/console/admin/staff/new/", data={**new_staff, **tokens})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db_session.scalar(select(Staff).where(Staff.username == "chen")) is not None


def test_staff_commands(runner, db_session, make_app):
    result = runner.invoke(args=["staff", "create", "liu", "--role", "fulfillment", "--name", "制证员 刘强"],
                           input="a-long-initial-password\na-long-initial-password\n")
    assert result.exit_code == 0, result.output
    liu = db_session.scalars(select(Staff).where(Staff.username == "liu")).one()
    assert liu.role is StaffRole.FULFILLMENT and PasswordHasher().verify(liu.password_hash, "a-long-initial-password")
    assert runner.invoke(args=["staff", "totp", "liu"]).exit_code != 0, "no second factor yet"

    member = add_staff(db_session, StaffRole.REVIEWER, "wang", failed_logins=5, locked_until=utcnow())
    db_session.commit()
    secret = member.totp_secret
    result = runner.invoke(args=["staff", "totp", "wang"])
    totp = pyotp.TOTP(secret)
    assert result.exit_code == 0 and result.output.strip() in {totp.now(), totp.at(dt.datetime.now() - dt.timedelta(
        seconds=totp.interval))}, "the current code (or the one before, if the step just turned)"
    assert runner.invoke(args=["staff", "unlock", "wang"]).exit_code == 0
    assert runner.invoke(args=["staff", "reset-2fa", "wang"]).exit_code == 0
    member = db_session.scalars(select(Staff).where(Staff.username == "wang")).one()
    assert member.locked_until is None and member.failed_logins == 0 and member.totp_secret is None
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.target == "staff:wang")).all()
    assert {(e.actor, e.action) for e in entries} == {("cli", "staff.unlocked"), ("cli", "staff.totp_reset")}

    production = make_app(**PRODUCTION).test_cli_runner()
    result = production.invoke(args=["staff", "totp", "liu"])
    assert result.exit_code != 0 and "production" in result.output


HEADER = re.compile(r'<th class="column-header[^"]*">\s*(?:<a [^>]*>)?\s*([^<]+?)\s*<', re.S)


@pytest.mark.parametrize("name", ADMIN_LISTS)
def test_admin_column_headers_speak_the_page_language(client, login_as, name):
    login_as(StaffRole.ADMIN)
    chinese = HEADER.findall(client.get(f"/console/admin/{name}/").get_data(as_text=True))
    assert chinese and all(re.search(r"[\u4e00-\u9fff]", header) for header in chinese), chinese
    english = HEADER.findall(client.get(f"/console/admin/{name}/?lang=en").get_data(as_text=True))
    assert len(english) == len(chinese) and not any(re.search(r"[\u4e00-\u9fff]", h) for h in english), english


def test_a_profile_that_could_not_make_a_certificate_is_refused(client, db_session, login_as):
    from models import CertificateProfile

    login_as(StaffRole.ADMIN)
    form = {"code": "BAD", "name": "坏模板", "key_types": "ec_p256", "key_usage": "digital_signature,sign_everything",
            "extended_key_usage": "client_auth", "policy_oid": "1.2.156.0", "active": "y"}
    refused = client.post("/console/admin/profiles/new/", data=form)
    assert refused.status_code == 200 and "sign_everything" in refused.get_data(as_text=True)
    assert db_session.scalar(select(CertificateProfile).where(CertificateProfile.code == "BAD")) is None
    saved = client.post("/console/admin/profiles/new/", data={**form, "key_usage": "digital_signature"})
    assert saved.status_code == 302
    profile = db_session.scalar(select(CertificateProfile).where(CertificateProfile.code == "BAD"))
    assert changes(db_session, f"certificate_profile:{profile.id}")[0].after["key_usage"] == "digital_signature"
