"""Forms of the finance console: the buttons carry nothing but the CSRF token; voiding an
invoice needs a reason."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ActionForm(FlaskForm):
    """A button (confirm or send a refund, reverse an invoice, issue one again)."""


class VoidForm(FlaskForm):
    reason = StringField(_l("Reason for voiding"), filters=[_stripped],
                         validators=[DataRequired(), Length(max=200)])
