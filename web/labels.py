"""Human names of the codes stored on orders (`label`), of the billing codes (`billing_label`:
payments, refunds, notifications, invoices, reconciliation) and of the outboxes' messages
(`message_label`, `delivery_label`), for pages and exports in either language. Tables apart: some
codes mean other things in billing ("paid", "pending", "rejected") or in the outboxes ("failed")."""
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

LABELS = {
    # order statuses
    "awaiting_materials": _l("Awaiting materials"),
    "awaiting_signature": _l("Awaiting signature"),
    "awaiting_payment": _l("Awaiting payment"),
    "paid": _l("Paid, waiting for review"),
    "in_review": _l("In review"),
    "more_materials_needed": _l("More materials needed"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "programming": _l("Making the certificate"),
    "programmed": _l("Key programmed"),
    "shipped": _l("Shipped"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    # certificates in the register
    "valid": _l("Valid"),
    "expired": _l("Expired"),
    "superseded": _l("Superseded"),
    "revoked": _l("Revoked"),
    # the CA's certificates
    "root": _l("Root CA"),
    "issuing": _l("Issuing CA"),
    "ocsp": _l("OCSP responder"),
    "crl": _l("CRL"),
    # identity methods
    "corporate_transfer": _l("Corporate account transfer"),
    "legal_rep_phone": _l("Legal representative phone real-name check"),
    "legal_rep_bank_card": _l("Legal representative bank card check"),
    "phone": _l("Agent phone real-name check"),
    "bank_card": _l("Agent bank card check"),
    # ID types
    "resident_id": _l("Resident ID card"),
    "passport": _l("Passport"),
    "military_officer": _l("Military officer card"),
    "taiwan_permit": _l("Taiwan compatriot permit"),
    "home_return_permit": _l("Home Return Permit (Hong Kong / Macao)"),
    # media
    "card": _l("Card-style commemorative edition"),
    "uk": _l("UK media"),
    # materials
    "business_licence": _l("Business licence (copy with the organisation's seal)"),
    "agent_id_front": _l("Agent's ID card, portrait side"),
    "agent_id_back": _l("Agent's ID card, national emblem side"),
    "eseal_sample_form": _l("Organisation e-seal sample form"),
    "authorisation_letter": _l("Legal representative's authorisation letter (sealed)"),
    "payment_proof": _l("Payment proof (the bank's transfer receipt)"),
    # business types
    "new": _l("New application"),
    "renewal": _l("Renewal"),
    "unlock": _l("Unlock"),
    "replacement": _l("Replacement"),
    "info_change": _l("Information change"),
    "revocation": _l("Revocation"),
    "resubmitted": _l("Re-submitted materials"),
    # review decisions and identity checks
    "approve": _l("Approved"),
    "first_approval": _l("First approval"),
    "reject": _l("Rejected"),
    "more_materials": _l("More materials requested"),
    "passed": _l("Passed"),
    "failed": _l("Failed"),
    "pending": _l("Pending"),
    "error": _l("Service unavailable"),
    "agent_phone": _l("Agent phone real-name check"),
    "agent_bank_card": _l("Agent bank card check"),
    # queue filters
    "overdue": _l("Overdue"),
    "due_today": _l("Due today"),
    "due_in_1_day": _l("Due within 1 working day"),
    # time left on the SLA clock (formatted with d, h)
    "sla_left": _l("%(d)sd %(h)sh left"),
    "sla_overdue": _l("overdue %(d)sd %(h)sh"),
    "sla_paused": _l("paused, %(d)sd %(h)sh left"),
    "sla_left_hours": _l("%(h)sh left"),
    "sla_overdue_hours": _l("overdue %(h)sh"),
    # ...under an hour in minutes (m), paused, decided, and the time an item has waited
    "sla_left_minutes": _l("%(m)s min left"),
    "sla_overdue_minutes": _l("overdue %(m)s min"),
    "sla_paused_hours": _l("paused, %(h)sh left"),
    "sla_paused_minutes": _l("paused, %(m)s min left"),
    "sla_paused_overdue": _l("paused, overdue %(d)sd %(h)sh"),
    "sla_paused_overdue_hours": _l("paused, overdue %(h)sh"),
    "sla_paused_overdue_minutes": _l("paused, overdue %(m)s min"),
    "sla_decided_on_time": _l("decided on time"),
    "sla_late": _l("decided late by %(d)sd %(h)sh"),
    "sla_late_hours": _l("decided late by %(h)sh"),
    "sla_late_minutes": _l("decided late by %(m)s min"),
    "sla_span": _l("%(d)sd %(h)sh"),
    "sla_span_hours": _l("%(h)sh"),
    "sla_span_minutes": _l("%(m)s min"),
    # the key programming station: jobs, their steps, the keys
    "interrupted": _l("Interrupted"),
    "job_claimed": _l("Claimed, not started"),
    "job_queued": _l("Sent to the station"),
    "job_running": _l("Programming"),
    "job_interrupted": _l("Interrupted"),
    "job_done": _l("Programmed and verified"),
    "step_claimed": _l("The station took the job"),
    "step_detected": _l("Key found by its serial"),
    "step_token_initialised": _l("Key initialised"),
    "step_so_pin_set": _l("New SO PIN set"),
    "step_user_pin_set": _l("Certificate password set"),
    "step_generating": _l("Generating the key pair"),
    "step_key_generated": _l("Key pair generated on the key"),
    "step_request_signed": _l("Certificate request signed on the key"),
    "step_certificate_issued": _l("Certificate issued by the CA"),
    "step_certificate_written": _l("Certificate written to the key"),
    "step_chain_written": _l("CA chain written to the key"),
    "step_verified": _l("Read back and verified"),
    "step_interrupted": _l("Interrupted"),
    "token_blank": _l("Blank"),
    "token_bound": _l("Bound to an order"),
    "token_programmed": _l("Programmed"),
    "token_shipped": _l("Shipped"),
    "token_active": _l("In use"),
    "token_lost": _l("Lost"),
    "token_damaged": _l("Damaged"),
    "token_locked": _l("Locked"),
    "token_revoked": _l("Revoked"),
    # the shelf: its items and movements
    "stock_key": _l("Blank keys"),
    "stock_envelope": _l("Password card envelopes"),
    "stock_received": _l("Received"),
    "stock_used": _l("Used"),
    "stock_returned": _l("Returned to the shelf"),
    "stock_written_off": _l("Written off"),
}


BILLING_LABELS = {
    # business types, named as on the order pages
    **{code: LABELS[code] for code in ("new", "renewal", "unlock", "replacement", "info_change", "revocation")},
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
    "materials_lapsed": _l("More materials not sent in time"),
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


# The outboxes' messages: the channel each went by, what it was about, where it stands. Tables of their
# own: "failed" and "expired" mean other things in LABELS.
MESSAGE_CHANNELS = {"sms": _l("SMS"), "email": _l("E-mail"), "transfer": _l("0.01-yuan transfer")}
MESSAGE_KINDS = {
    "order_signature": _l("Signature code"),
    "order_query": _l("Order query"),
    "review_approved": _l("Approved"),
    "review_approved_transfer": _l("Approved"),
    "review_approved_info_change": _l("Approved"),
    "review_rejected": _l("Rejected"),
    "more_materials": _l("More materials requested"),
    "certificate_password": _l("Certificate password"),
    "refund_succeeded": _l("Refund succeeded"),
    "invoice_blue": _l("Blue invoice"),
    "invoice_red": _l("Red invoice"),
    "certificate_revoked": _l("Certificate revoked"),
}
DELIVERY_STATES = {"queued": _l("Queued"), "sending": _l("Sending"), "sent": _l("Sent"), "failed": _l("Not delivered"),
                   "unknown": _l("Outcome unknown"), "expired": _l("Expired unsent")}


# On a personal certificate's order the holder is in the agent's place: the codes that name "the
# agent" name the holder, who applies for themselves.
HOLDER_LABELS = {
    "phone": _l("Phone real-name check"),
    "bank_card": _l("Bank card check"),
    "agent_id_front": _l("ID card, portrait side"),
    "agent_id_back": _l("ID card, national emblem side"),
}


def label(code, personal: bool = False) -> str:
    """The code's name; `personal`: as a personal certificate's order reads it (HOLDER_LABELS)."""
    value = getattr(code, "value", code)
    if personal and value in HOLDER_LABELS:
        return str(HOLDER_LABELS[value])
    return str(LABELS.get(value, value))


def request_labels():
    """`label` for one request's templates: each code is translated once per request
    (a queue page shows the same few statuses on every row)."""
    cache: dict = {}

    def cached(code, personal: bool = False) -> str:
        key = (getattr(code, "value", code), personal)
        if key not in cache:
            cache[key] = label(*key)
        return cache[key]

    return cached


def catalogue_name(item) -> str:
    """A product's or key model's name in the page's language (the Chinese one where the
    catalogue has no English name)."""
    english = getattr(item, "name_en", None)
    return english if english and get_locale().language == "en" else item.name


def billing_label(code) -> str:
    """The name of a payment, refund, notification, invoice or reconciliation code."""
    value = getattr(code, "value", code)
    return str(BILLING_LABELS.get(value, value)) if value is not None else ""


def message_label(channel: str, kind: str | None = None) -> str:
    """The channel a message went by ("SMS"), and with its kind what it was about ("SMS · Approved")."""
    name = str(MESSAGE_CHANNELS.get(channel, channel))
    return name if kind is None else f"{name} · {MESSAGE_KINDS.get(kind, kind)}"


def delivery_label(status) -> str:
    """Where a message of an outbox stands (a Delivery)."""
    value = getattr(status, "value", status)
    return str(DELIVERY_STATES.get(value, value))
