"""Renewal reminders (证书到期提醒): renewals are the CA's recurring revenue, so the agent on a
certificate's order hears by SMS and e-mail 90, 30 and 7 days before it expires and the day after,
with the link to the renewal page (/c/<channel>/renewal, where the key logs in), the e-mail also with
the link that stops them (public.reminder_links; the SMS stays within one carrier template and names the
renewal link only); the scheduled `renewal remind` sends them once a day.

Each stage is sent once per certificate (models.RenewalReminder, unique per certificate and stage).
A stage is due from its day until the next stage's (90: 90–31 days left, 30: 30–8, 7: 7–0, the day
after: 1–30 days past the expiry date), so a run that missed days still sends the stage due, once, and
never a stale one (a certificate first seen with 20 days left gets the 30-day reminder only, one expired
a year ago none). Nothing goes to a certificate revoked or superseded, being renewed already, of an
order whose personal data was removed, or of an applicant who opted out (notifications.opt_outs).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from models import (
    BusinessType,
    Certificate,
    CertificateStatus,
    Order,
    OrderStatus,
    ReminderStage,
    RenewalReminder,
    record,
)
from models.base import insert_for
from models.business_time import business_date
from models.renewal import days_left
from notifications.messages import render_email, render_sms
from notifications.opt_outs import applicant_of, opted_out
from notifications.outbox import queue_email, queue_sms
from public.reminder_links import stop_link

ACTOR = "system:renewal-reminders"
# Each stage: from how many days left until how many (both included).
WINDOWS = {ReminderStage.DAYS_90: (90, 31), ReminderStage.DAYS_30: (30, 8), ReminderStage.DAYS_7: (7, 0),
           ReminderStage.EXPIRED: (-1, -30)}


def stage_due(left: int) -> ReminderStage | None:
    """The stage whose window holds `left` days to the expiry date."""
    return next((stage for stage, (start, end) in WINDOWS.items() if end <= left <= start), None)


def certificates_due(session: Session, now: dt.datetime) -> list[int]:
    """Certificates a reminder may be due for: valid, within the widest window, of an order whose data is
    kept, with no renewal of them under way or done (the exact day and opt-outs are checked per
    certificate, remind)."""
    first, last = max(start for start, _ in WINDOWS.values()), min(end for _, end in WINDOWS.values())
    renewal = aliased(Order)
    renewing = exists().where(renewal.business_type == BusinessType.RENEWAL, renewal.certificate_id == Certificate.id,
                              renewal.status.not_in((OrderStatus.CANCELLED, OrderStatus.REJECTED)))
    return list(session.scalars(
        select(Certificate.id).join(Order, Order.id == Certificate.order_id)
        .where(Certificate.status == CertificateStatus.VALID,
               Certificate.not_after < now + dt.timedelta(days=first + 2),
               Certificate.not_after > now + dt.timedelta(days=last - 2),
               Order.purged_at.is_(None), ~renewing)
        .order_by(Certificate.not_after, Certificate.id)))


def remind(session: Session, certificate: Certificate, *, public_base_url: str, now: dt.datetime) -> str | None:
    """Send the certificate's reminder due today, once: its stage, or None (none due, sent already,
    opted out)."""
    stage = stage_due(days_left(certificate.not_after, now))
    order = session.get(Order, certificate.order_id)
    applicant = applicant_of(order)
    if stage is None or opted_out(session, applicant) or not _claim(session, certificate, stage, now):
        return None
    kind = "renewal_expired" if stage is ReminderStage.EXPIRED else "renewal_reminder"
    facts = {"number": order.number, "until": business_date(certificate.not_after),
             "days": max(days_left(certificate.not_after, now), 0),
             "link": f"{public_base_url.rstrip('/')}/c/{order.channel.code}/renewal"}
    queue_sms(session, order.agent.phone, render_sms(kind, **facts), order=order)
    if order.agent.email:
        email = render_email(kind, agent_name=order.agent.name, **facts,
                             stop_link=applicant and stop_link(public_base_url, applicant, order.number))
        queue_email(session, order.agent.email, email, order=order)
    record(session, ACTOR, "renewal.reminded", order=order, target=f"certificate:{certificate.serial_number}",
           after={"stage": str(stage), "expires": facts["until"]})
    return str(stage)


def _claim(session: Session, certificate: Certificate, stage: ReminderStage, now: dt.datetime) -> bool:
    """Write the stage as sent; False when a reminder of it was written before (by another run too)."""
    written = session.scalar(insert_for(session, RenewalReminder)
                             .values(certificate_id=certificate.id, stage=stage, sent_at=now)
                             .on_conflict_do_nothing(index_elements=["certificate_id", "stage"])
                             .returning(RenewalReminder.id))
    return written is not None
