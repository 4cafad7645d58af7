"""What is about to run out on the CA's side: the CA certificates in use (root, issuing, OCSP
responder) within the warning period, and the newest CRL of an issuing CA near or past its next
update (the scheduled publishing stopped). Admins see it in the console and get it by e-mail."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CaCertificate, CaRole, Crl


@dataclass(frozen=True)
class Expiring:
    what: str  # "root", "issuing", "ocsp" or "crl"
    subject: str
    at: dt.datetime  # the certificate's end, or the CRL's next update
    past: bool


def expiring(session: Session, now: dt.datetime, *, certificate_days: int, crl_hours: int) -> list[Expiring]:
    soon = now + dt.timedelta(days=certificate_days)
    cas = session.scalars(select(CaCertificate).where(CaCertificate.active.is_(True), CaCertificate.not_after <= soon)
                          .order_by(CaCertificate.not_after))
    found = [Expiring(ca.role.value, ca.subject, ca.not_after, ca.not_after <= now) for ca in cas]
    newest = select(Crl.issuer_id, func.max(Crl.number).label("number")).group_by(Crl.issuer_id).subquery()
    crls = session.execute(
        select(Crl.next_update, CaCertificate.subject)
        .join(newest, (Crl.issuer_id == newest.c.issuer_id) & (Crl.number == newest.c.number))
        .join(CaCertificate, CaCertificate.id == Crl.issuer_id)
        .where(CaCertificate.active.is_(True), CaCertificate.role == CaRole.ISSUING,
               Crl.next_update <= now + dt.timedelta(hours=crl_hours)))
    found += [Expiring("crl", subject, next_update, next_update <= now) for next_update, subject in crls]
    return found
