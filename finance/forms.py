"""Forms of the finance console: the buttons carry nothing but the CSRF token; voiding an
invoice needs a reason."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from web.forms import Form


class ActionForm(Form):
    """A button (confirm or send a refund, reverse an invoice, issue one again)."""


class VoidForm(Form):
    reason = StringField(_l("Reason for voiding"), validators=[DataRequired(), Length(max=200)])
