"""Applicants who want no renewal reminders (models.ReminderOptOut): how an opt-out names an order's
applicant, whether it has one, and turning it on or off, audited. Asked for by phone (`renewal opt-out`),
by a staff member on the order's console page, or by the applicant through the link in a reminder
e-mail (public.reminder_views); honoured by public.renewal_reminders."""
from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from models import Order, ReminderOptOut, record
from models.base import insert_for, utcnow


def applicant_of(order: Order) -> str | None:
    """How an opt-out names the order's applicant: a unit by credit code, a person by subject serial."""
    if order.personal:
        serial = order.holder.subject_serial
        return f"personal:{serial}" if serial else None
    return f"unit:{order.organisation.credit_code}" if order.organisation else None


def opted_out(session: Session, applicant: str | None) -> bool:
    return applicant is not None and session.scalar(
        select(exists().where(ReminderOptOut.applicant == applicant)))


def opt_out_of(session: Session, order: Order) -> ReminderOptOut | None:
    """The order's applicant's opt-out (who asked, when), or None: reminders go out."""
    applicant = applicant_of(order)
    return None if applicant is None else session.scalar(
        select(ReminderOptOut).where(ReminderOptOut.applicant == applicant))


def set_opt_out(session: Session, order: Order, out: bool, *, actor: str) -> bool:
    """The order's applicant wants no renewal reminders (out) or wants them again; False when that was
    so already (a second click, or a request of another process at the same moment). Audited."""
    applicant = applicant_of(order)
    if applicant is None:
        return False
    if out:
        changed = session.scalar(insert_for(session, ReminderOptOut)
                                 .values(applicant=applicant, opted_out_by=actor, opted_out_at=utcnow())
                                 .on_conflict_do_nothing(index_elements=["applicant"])
                                 .returning(ReminderOptOut.id)) is not None
    else:
        changed = session.execute(delete(ReminderOptOut).where(ReminderOptOut.applicant == applicant)).rowcount > 0
    if not changed:
        return False
    record(session, actor, "renewal.opted_out" if out else "renewal.opted_in", order=order)
    return True
