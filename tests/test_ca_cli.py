"""`flask --app wsgi ca ...`: the key ceremony held by two officers, and the admins hearing of CA
certificates and CRLs about to run out."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select

from models import AuditEntry, CaCertificate, CaRole, Crl, EmailMessage, Staff, StaffRole
from models.base import utcnow
from tests.conftest import STAFF_PASSWORD, add_staff


def _ca(db_session, role: CaRole, ends_in: dt.timedelta, **values) -> CaCertificate:
    now = utcnow()
    ca = CaCertificate(role=role, subject=f"CN=Test {role.value} CA", serial_number=f"{role.value}{ends_in.days:04d}",
                       not_before=now - dt.timedelta(days=1), not_after=now + ends_in, der=b"0",
                       key_ref=f"file:{role.value}.key", created_by="ceremony:test", **values)
    db_session.add(ca)
    db_session.flush()
    return ca


def test_nothing_runs_out_soon(runner, db_session):
    _ca(db_session, CaRole.ROOT, dt.timedelta(days=3650))
    db_session.commit()
    result = runner.invoke(args=["ca", "check-expiry"])
    assert result.exit_code == 0 and "nothing" in result.output


def test_the_admins_hear_of_a_ca_certificate_and_a_crl_about_to_run_out(runner, db_session):
    admin_email = add_staff(db_session, StaffRole.ADMIN, email="ca-admin@ca.example.cn").email
    add_staff(db_session, StaffRole.ADMIN, email="gone@ca.example.cn", active=False)
    _ca(db_session, CaRole.ROOT, dt.timedelta(days=3650))
    issuing = _ca(db_session, CaRole.ISSUING, dt.timedelta(days=30))
    _ca(db_session, CaRole.OCSP, dt.timedelta(days=-1), active=False)  # replaced already: no alarm
    now = utcnow()
    for number, next_update in ((1, now - dt.timedelta(hours=20)), (2, now + dt.timedelta(hours=2))):
        db_session.add(Crl(issuer_id=issuing.id, number=number, this_update=next_update - dt.timedelta(hours=24),
                           next_update=next_update, der=b"0", revoked_count=0))
    db_session.commit()
    result = runner.invoke(args=["ca", "check-expiry"])
    assert result.exit_code == 1
    assert "issuing CN=Test issuing CA: ends" in result.output and "crl CN=Test issuing CA: ends" in result.output
    assert "root" not in result.output and "ocsp" not in result.output
    mails = db_session.scalars(select(EmailMessage).where(EmailMessage.to_address.like("%@ca.example.cn"))).all()
    assert [m.to_address for m in mails] == [admin_email]
    # committed although the command exits with an error: the workers send it
    assert "签发 CA 证书" in mails[0].body and "CRL" in mails[0].body and mails[0].status.value == "queued"


@pytest.fixture
def officers(db_session, app, tmp_path, monkeypatch):
    """An admin and a senior reviewer (with their TOTP secrets), and a key folder of the test's own."""
    monkeypatch.setitem(app.config, "CA_KEY_FOLDER", str(tmp_path / "ca"))
    made = [add_staff(db_session, role) for role in (StaffRole.ADMIN, StaffRole.SENIOR_REVIEWER)]
    db_session.commit()
    return [(staff.username, staff.totp_secret) for staff in made]


def _input(*officers) -> str:
    return "".join(f"{username}\n{STAFF_PASSWORD}\n{pyotp.TOTP(secret).now()}\n" for username, secret in officers)


def test_two_officers_hold_the_ceremony(runner, db_session, officers, tmp_path):
    result = runner.invoke(args=["ca", "ceremony"], input=_input(*officers))
    assert result.exit_code == 0, result.output
    roles = {ca.role: ca for ca in db_session.scalars(select(CaCertificate))}
    assert set(roles) == {CaRole.ROOT, CaRole.ISSUING, CaRole.OCSP}
    assert roles[CaRole.ISSUING].issuer_id == roles[CaRole.ROOT].id
    assert all(ca.key_ref.startswith("file:") for ca in roles.values())
    assert all(ca.serial_number in result.output for ca in roles.values())
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "ca.ceremony")).one()
    assert entry.after["officers"] == [f"staff:{officers[0][0]}", f"staff:{officers[1][0]}"]
    again = runner.invoke(args=["ca", "ceremony", "--if-missing"])
    assert again.exit_code == 0 and "exists already" in again.output


def test_one_person_cannot_hold_a_ceremony_alone(runner, db_session, officers):
    username, secret = officers[0]
    next_code = pyotp.TOTP(secret).at(utcnow() + dt.timedelta(seconds=30))  # a code is taken once
    again = f"{username}\n{STAFF_PASSWORD}\n{next_code}\n"
    result = runner.invoke(args=["ca", "ceremony"], input=_input(officers[0]) + again)
    assert result.exit_code != 0 and "two different" in result.output
    assert db_session.scalars(select(CaCertificate)).all() == []


def test_a_wrong_code_stops_the_ceremony_and_counts_as_a_failed_sign_in(runner, db_session, officers):
    username = officers[1][0]
    wrong_code = f"{username}\n{STAFF_PASSWORD}\n000000\n"
    result = runner.invoke(args=["ca", "ceremony"], input=_input(officers[0]) + wrong_code)
    assert result.exit_code != 0 and "wrong" in result.output
    assert db_session.scalars(select(CaCertificate)).all() == []
    staff = db_session.scalars(select(Staff).where(Staff.username == username)).one()
    assert staff.failed_logins == 1


def test_the_demo_ceremony_is_refused_in_production(make_app, db_session):
    from tests.conftest import PRODUCTION

    result = make_app(**PRODUCTION).test_cli_runner().invoke(args=["ca", "ceremony", "--demo"])
    assert result.exit_code != 0 and "never in production" in result.output
