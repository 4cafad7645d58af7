"""Names of the billing codes, for the finance console, its exports and the order pages."""
from flask_babel import lazy_gettext as _l

LABELS = {
    # business types (the same msgids as the review console's)
    "new": _l("New application"),
    "renewal": _l("Renewal"),
    "unlock": _l("Unlock"),
    "replacement": _l("Replacement"),
    "info_change": _l("Information change"),
    "revocation": _l("Revocation"),
    # payments
    "pending": _l("Not paid yet"),
    "paid": _l("Paid"),
    "closed": _l("Closed unpaid"),
    "refunded": _l("Refunded"),
    # refunds
    "awaiting_confirmation": _l("Awaiting confirmation"),
    "confirmed": _l("Confirmed, to be sent"),
    "succeeded": _l("Refund succeeded"),
    "rejected": _l("Application rejected"),
    "late_payment": _l("Paid after cancellation"),
    # notifications
    "accepted": _l("Accepted"),
    "duplicate": _l("Duplicate"),
    "late": _l("Late: refunded automatically"),
    "ignored": _l("Ignored: pays nothing"),
    "bad_signature": _l("Bad signature"),
    "malformed": _l("Malformed"),
    "amount_mismatch": _l("Wrong amount"),
    "unknown_trade": _l("Unknown trade"),
    # invoices
    "blue": _l("Blue invoice"),
    "red": _l("Red invoice"),
    "issued": _l("Issued"),
    "voided": _l("Voided"),
    "reversed": _l("Reversed by a red invoice"),
    # reconciliation
    "paid_but_unknown": _l("In the bill, not paid in our books"),
    "known_but_unpaid": _l("Paid in our books, missing from the bill"),
    "amount_differs": _l("Amounts differ"),
    "paid_on_another_day": _l("Paid on another day in our books"),
    "refunded_but_unknown": _l("Refund in the bill, not in our books"),
    "known_but_not_refunded": _l("Refunded in our books, missing from the bill"),
    "refund_amount_differs": _l("Refund amounts differ"),
    "refunded_on_another_day": _l("Refunded on another day in our books"),
}


def billing_label(code) -> str:
    """The name of a payment, refund, notification, invoice or reconciliation code."""
    value = getattr(code, "value", code)
    return str(LABELS.get(value, value)) if value is not None else ""
