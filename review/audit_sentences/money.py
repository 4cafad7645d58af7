"""Audit sentences of money: invoices, payments, transfers and refunds."""
from __future__ import annotations

from flask_babel import gettext as _

from review.audit_sentences.words import (
    Writer,
    get,
    target_of,
    with_note,
    yuan,
)
from web.labels import billing_label


def _invoice_issued(e, w, n):
    return _("%(who)s issued invoice %(number)s for %(amount)s yuan.", who=w,
             number=get(e.after, "number") or target_of(e, "invoice"), amount=yuan(get(e.after, "total_cents")))


def _invoice_reversed(e, w, n):
    return _("%(who)s reversed invoice %(number)s with red invoice %(red)s.", who=w, number=target_of(e, "invoice"),
             red=get(e.after, "red_number", ""))


def _invoice_voided(e, w, n):
    return with_note(_("%(who)s voided invoice %(number)s.", who=w, number=target_of(e, "invoice")), e.note)


def _invoice_deferred(e, w, n):
    return with_note(_("%(who)s could not have the invoice issued yet: it is issued again later.", who=w),
                      e.note)


def _invoice_downloaded(e, w, n):
    return _("%(who)s downloaded invoice %(number)s.", who=w, number=target_of(e, "invoice"))


def _payment_late(e, w, n):
    return with_note(_("%(who)s reported a payment after the order was cancelled: it is refunded.", who=w),
                      e.note)


def _transfer_matched(e, w, n):
    return _("%(who)s matched the bank transfer %(reference)s of %(amount)s yuan (value date %(day)s, from "
             "%(payer)s) to the order.", who=w, reference=get(e.after, "reference", "?"),
             amount=yuan(get(e.after, "amount_cents")), day=get(e.after, "value_date", "?"),
             payer=get(e.after, "payer_name", "?"))


def _transfer_refused(e, w, n):
    return with_note(_("%(who)s refused the payment proof (document %(id)s): no transfer on the bank statement "
                        "answers it.", who=w, id=target_of(e, "material")), e.note)


def _refund_proposed(e, w, n):
    return _("%(who)s proposed a refund of %(amount)s yuan (%(reason)s).", who=w,
             amount=yuan(get(e.after, "amount_cents")), reason=billing_label(get(e.after, "reason", "")))


def _refund_confirmed(e, w, n):
    return _("%(who)s confirmed refund %(refund)s.", who=w, refund=target_of(e, "refund"))


def _refund_failed(e, w, n):
    return with_note(_("%(who)s could not send refund %(refund)s; it is sent again later.", who=w,
                        refund=target_of(e, "refund")), e.note)


def _refund_succeeded(e, w, n):
    return _("%(who)s paid back %(amount)s yuan (refund %(refund)s).", who=w,
             amount=yuan(get(e.after, "amount_cents")), refund=target_of(e, "refund"))


SENTENCES: dict[str, Writer] = {
    "invoice.issued": _invoice_issued,
    "invoice.reversed": _invoice_reversed,
    "invoice.voided": _invoice_voided,
    "invoice.deferred": _invoice_deferred,
    "invoice.downloaded": _invoice_downloaded,
    "payment.late": _payment_late,
    "transfer.matched": _transfer_matched,
    "transfer.refused": _transfer_refused,
    "refund.proposed": _refund_proposed,
    "refund.confirmed": _refund_confirmed,
    "refund.failed": _refund_failed,
    "refund.succeeded": _refund_succeeded,
}
