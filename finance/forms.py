"""Forms of the finance console: the buttons carry nothing but the CSRF token; voiding an
invoice needs a reason; matching a bank transfer, the statement's line; refusing a payment
proof, a reason."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from web.forms import Form


class ActionForm(Form):
    """A button (confirm or send a refund, reverse an invoice, issue one again)."""


class VoidForm(Form):
    reason = StringField(_l("Reason for voiding"), validators=[DataRequired(), Length(max=200)])


# A bank's reference (流水号) of a transfer in or out of the CA's account.
BANK_REFERENCE = [Length(max=64), Regexp(r"^[A-Za-z0-9][A-Za-z0-9/_-]*$",
                                         message=_l("A reference has letters, digits, '-', '_' and '/' only."))]


class PaidBackForm(Form):
    """The CA's transfer that paid a refund of a bank transfer back (billing.refunds.record_paid_back)."""

    reference = StringField(_l("Bank reference (流水号)"), validators=[
        DataRequired(message=_l("Give the reference of the transfer that paid it back.")), *BANK_REFERENCE])


class MatchForm(Form):
    """The bank statement's line that pays an order finance matches (billing.transfers)."""

    reference = StringField(_l("Bank reference (流水号)"), validators=[
        DataRequired(message=_l("Give the statement line's reference.")), *BANK_REFERENCE])
    amount = StringField(_l("Amount (yuan)"), validators=[
        DataRequired(message=_l("Give the amount on the statement.")), Length(max=16)])
    value_date = DateField(_l("Value date"), validators=[DataRequired(message=_l("Give the value date."))])
    payer_name = StringField(_l("Payer's name"), validators=[
        DataRequired(message=_l("Give the payer's name on the statement.")), Length(max=100)])

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.amount_cents: int | None = None

    def validate_amount(self, field) -> None:
        try:
            amount = Decimal(field.data.strip().replace(",", ""))
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:
            raise ValidationError(_l("An amount in yuan, such as 280.00."))
        self.amount_cents = int(amount * 100)

    def validate_value_date(self, field) -> None:
        if field.data > self.today:
            raise ValidationError(_l("The value date cannot be after today."))


class RefuseProofForm(Form):
    reason = StringField(_l("Reason, told to the applicant"), validators=[
        DataRequired(message=_l("Say why the proof is refused; the applicant reads it.")), Length(max=200)])
