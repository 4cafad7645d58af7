"""`flask --app wsgi ca check-expiry`: the admins hear of CA certificates and CRLs about to run out."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from models import CaCertificate, CaRole, Crl, EmailMessage, StaffRole
from models.base import utcnow
from tests.conftest import add_staff


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
    assert "签发 CA 证书" in mails[0].body and "CRL" in mails[0].body and mails[0].status.value == "sent"
