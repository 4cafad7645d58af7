"""Forms of the station pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Regexp

from web.forms import Form


class ActionForm(Form):
    """A button with nothing but the CSRF token (claim, resume, wipe, release)."""


class StartForm(Form):
    """Where to program the job's key: a station and one of the keys plugged in there."""

    station = SelectField(_l("Station"), coerce=int, validators=[InputRequired()])
    serial = SelectField(_l("Key (media no.)"), validators=[InputRequired()])
    batch = BooleanField(_l("Batch mode: open the next job by itself when this key is done"))


class StationForm(Form):
    name = StringField(_l("Station name"), validators=[InputRequired(), Length(max=40), Regexp(
        r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, dot, dash and underscore only."))])


class ShipForm(Form):
    """The parcel: the courier and its tracking number, typed or scanned (a scanner types and presses Enter)."""

    courier = SelectField(_l("Courier"), coerce=int, validators=[InputRequired()])
    tracking_number = StringField(_l("Tracking number"), filters=[lambda v: v.strip().replace(" ", "") if v else v],
                                  validators=[InputRequired(), Length(min=6, max=40), Regexp(
                                      r"^[A-Za-z0-9-]+$", message=_l("Letters, digits and dashes only."))])


class ReturnForm(Form):
    reason = TextAreaField(_l("Why it came back"), validators=[InputRequired(), Length(max=200)])


class KeyReturnForm(Form):
    """A key sent back after its certificate was revoked (or mailed in locked, to unlock): its serial,
    typed or scanned."""

    serial = StringField(_l("Media no."), filters=[lambda v: v.strip() if v else v],
                         validators=[InputRequired(), Length(max=40)])
