"""The form of an internal note on an order, and the draft a refused note leaves behind.

A refused note goes back to the order page through the session (it may be too long for a URL):
the view keeps it under DRAFT_KEY with its order's number, and that order's page takes it once."""
from __future__ import annotations

from flask import session
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

from review.context import NOTE_MAX_LENGTH
from web.forms import Form

DRAFT_KEY = "note_draft"


def _unix_line_breaks(value):
    """Browsers send CRLF, and count a line break as one character against maxlength."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


class NoteForm(Form):
    note_text = TextAreaField(_l("Internal note"), filters=[_unix_line_breaks],
                              validators=[InputRequired(), Length(max=NOTE_MAX_LENGTH)])


def keep_draft(number: str, text: str | None) -> None:
    """Keep a refused note for the order's page (cut to the longest note: the session is a cookie)."""
    if text:
        session[DRAFT_KEY] = {"order": number, "text": text[:NOTE_MAX_LENGTH]}


def note_form(number: str) -> NoteForm:
    """The add-note form of an order's page, holding the note refused a moment ago, if any."""
    form = NoteForm(formdata=None)
    draft = session.pop(DRAFT_KEY, None)
    if isinstance(draft, dict) and draft.get("order") == number:
        form.note_text.data = draft.get("text")
    return form
