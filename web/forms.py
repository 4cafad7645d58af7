"""The base of every form: text fields refuse what a database or a screen cannot hold.

Each text field of a form built on `Form` (or with `TextChecks` in its Meta, as Flask-Admin's
are) is stripped of surrounding whitespace, refuses control and invisible characters with a
clear message (multi-line fields keep their line breaks), and, when required, refuses what is
blank once trimmed. Nothing else runs on a refused value, so no check or query ever sees it.
"""
from __future__ import annotations

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation

from web.errors import InvalidValue
from web.text import plain_text


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class PlainText:
    """The first validator of every text field (see the module's docstring)."""

    def __init__(self, multiline: bool):
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        raw = field.data if isinstance(field.data, str) else ""
        try:
            plain_text(raw, multiline=self.multiline)
        except InvalidValue as exc:
            raise StopValidation(gettext(str(exc))) from exc
        if field.flags.required and not raw.strip():
            raise StopValidation(gettext("This field is required."))


class TextChecks:
    """A Meta mixin: binds `PlainText` (and trimming, except for passwords) to each text field."""

    def bind_field(self, form, unbound_field, options):
        field = super().bind_field(form, unbound_field, options)
        if isinstance(field, StringField):
            field.validators = [PlainText(isinstance(field, TextAreaField)), *field.validators]
            if not isinstance(field, PasswordField):
                field.filters = [_strip, *field.filters]
        return field


class Form(FlaskForm):
    class Meta(TextChecks):
        pass
