"""The certificate an approved replacement or revocation names is revoked by the worker, not in the
request that approves: the signing service (its own process, holding the CA's key) checks the
order's approvals in the register itself, revokes and publishes the CRL; OCSP reads the register,
so it answers at once. Then the key is revoked, a revocation order is completed and the applicant
told (review.certificates.after_revocation).

A signing service that cannot be reached leaves the work to be tried again (web.jobs), and the
certificate page says that its revocation waits; one that refuses is final, and audited on the order.
"""
from __future__ import annotations

import functools

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from issuance.interfaces import PolicyRefused, Revoked, SigningService
from models import BusinessType, Certificate, Order, OrderStatus, WorkItem, WorkStatus, record
from review import certificates
from review.operations import REVOKE_CERTIFICATE
from web import jobs
from web.services import find_service

ACTOR = "system:worker"


def revoke_for_order(session: Session, order_id: int) -> jobs.Writes | None:
    """Ask the signing service to revoke the order's certificate (no write lock held meanwhile); what
    to write once it answered."""
    order = session.get(Order, order_id)
    if order is None or order.certificate_id is None:
        return None
    try:
        revoked = find_service(SigningService).revoke_for_order(order.number)
    except PolicyRefused as refused:
        return functools.partial(_refused, order_id=order_id, rule=refused.rule, message=refused.message)
    return functools.partial(_revoked, order_id=order_id, revoked=revoked)


def _revoked(session: Session, *, order_id: int, revoked: Revoked) -> None:
    order = session.get(Order, order_id)
    certificate = session.get(Certificate, order.certificate_id)
    certificates.after_revocation(session, certificate, revoked, ACTOR, order=order)
    if order.business_type is BusinessType.REVOCATION and order.status is OrderStatus.APPROVED:
        order.move_to(OrderStatus.COMPLETED, ACTOR, note=f"certificate {certificate.serial_number} revoked")


def _refused(session: Session, *, order_id: int, rule: str, message: str) -> None:
    record(session, ACTOR, "certificate.revocation_refused", order=session.get(Order, order_id),
           after={"rule": rule}, note=message[:1000])


def waiting_for(session: Session, certificate: Certificate) -> WorkItem | None:
    """The revocation of `certificate` an approved order left that has not happened yet: its work
    item (attempts, last error, next try), while the certificate is not revoked."""
    if certificate.revoked_at is not None:
        return None
    return session.scalars(
        select(WorkItem).join(Order, Order.id == WorkItem.subject_id)
        .where(WorkItem.kind == REVOKE_CERTIFICATE, WorkItem.status.in_((WorkStatus.QUEUED, WorkStatus.RUNNING)),
               Order.certificate_id == certificate.id)
        .order_by(WorkItem.id.desc())).first()


def register(app: Flask) -> None:
    jobs.register(app, REVOKE_CERTIFICATE, revoke_for_order, calls_out=True)
