"""The shelf's page at the station (fulfillment and admin): the stock of keys per model and of
password card envelopes, receiving keys by their serials (as a barcode scanner types them, one per
line) and envelopes by count, writing off, and the latest movements (fulfillment.stock)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from fulfillment import stock
from models import MediaModel, StaffRole, StockItem, StockMovement
from web.errors import UserError
from web.extensions import db
from web.forms import Form
from web.guards import roles_required
from web.labels import catalogue_name

STAFF = (StaffRole.FULFILLMENT, StaffRole.ADMIN)
LATEST = 50


class ReceiveKeysForm(Form):
    media_model = SelectField(_l("Key model"), coerce=int, validators=[InputRequired()])
    serials = TextAreaField(_l("Serials (media no.), one per line"), validators=[
        InputRequired(), Length(max=stock.MAX_KEYS_PER_RECEIPT * 42)])


class ReceiveEnvelopesForm(Form):
    count = IntegerField(_l("Envelopes"), validators=[InputRequired(), NumberRange(min=1, max=stock.MAX_QUANTITY)])


class WriteOffForm(Form):
    stock_line = SelectField(_l("Stock item"), validators=[InputRequired()])
    quantity = IntegerField(_l("Quantity"), validators=[InputRequired(), NumberRange(min=1, max=stock.MAX_QUANTITY)])
    note = StringField(_l("Reason"), validators=[InputRequired(), Length(max=255)])


def _models(active_only: bool) -> list[MediaModel]:
    query = select(MediaModel).order_by(MediaModel.code)
    return list(db.session.scalars(query.where(MediaModel.active.is_(True)) if active_only else query))


def _line_value(item: StockItem, model: MediaModel | None) -> str:
    return f"key-{model.id}" if model else item.value


def _forms(submitted: str | None = None) -> dict:
    """The page's three forms; only the one just submitted reads the request."""
    def form(name: str, kind):
        return kind() if name == submitted else kind(formdata=None)

    keys, envelopes, write_off = (form("keys", ReceiveKeysForm), form("envelopes", ReceiveEnvelopesForm),
                                  form("write_off", WriteOffForm))
    keys.media_model.choices = [(m.id, f"{m.code} · {catalogue_name(m)}") for m in _models(active_only=True)]
    write_off.stock_line.choices = [
        (_line_value(line.item, line.media_model), _line_name(line)) for line in stock.levels(db.session)]
    return {"keys_form": keys, "envelopes_form": envelopes, "write_off_form": write_off}


def _line_name(line: stock.Level) -> str:
    if line.media_model is None:
        return _("Password card envelopes")
    return _("Keys %(model)s", model=line.media_model.code)


def _page(forms: dict, status: int = 200):
    movements = db.session.scalars(select(StockMovement).options(
        selectinload(StockMovement.media_model), selectinload(StockMovement.token),
        selectinload(StockMovement.order)).order_by(StockMovement.at.desc(), StockMovement.id.desc()).limit(LATEST))
    return render_template("station/stock.html", levels=stock.levels(db.session), movements=list(movements),
                           **forms), status


def _refused(forms: dict, field, refused: UserError):
    field.errors = [_(refused.message, **refused.params)]
    return _page(forms, 422)


@roles_required(*STAFF)
def stock_page():
    return _page(_forms())


@roles_required(*STAFF)
def receive_keys():
    forms = _forms("keys")
    form = forms["keys_form"]
    if not form.validate_on_submit():
        return _page(forms, 422)
    model = db.session.get(MediaModel, form.media_model.data)
    if model is None or not model.active:
        form.media_model.errors = [_("Choose the key model.")]
        return _page(forms, 422)
    try:
        tokens = stock.receive_keys(db.session, model, form.serials.data.splitlines(), current_user.actor)
    except UserError as refused:
        return _refused(forms, form.serials, refused)
    flash(_("%(count)d keys %(model)s received.", count=len(tokens), model=model.code), "success")
    return redirect(url_for("station.stock_page"))


@roles_required(*STAFF)
def receive_envelopes():
    forms = _forms("envelopes")
    form = forms["envelopes_form"]
    if not form.validate_on_submit():
        return _page(forms, 422)
    try:
        stock.receive_envelopes(db.session, form.count.data, current_user.actor)
    except UserError as refused:
        return _refused(forms, form.count, refused)
    flash(_("%(count)d envelopes received.", count=form.count.data), "success")
    return redirect(url_for("station.stock_page"))


@roles_required(*STAFF)
def write_off():
    forms = _forms("write_off")
    form = forms["write_off_form"]
    if not form.validate_on_submit():
        return _page(forms, 422)
    item, model = StockItem.ENVELOPE, None
    if form.stock_line.data.startswith("key-"):
        item, model = StockItem.KEY, db.session.get(MediaModel, int(form.stock_line.data.removeprefix("key-")))
    try:
        stock.write_off(db.session, item, model, form.quantity.data, current_user.actor, form.note.data)
    except UserError as refused:
        return _refused(forms, form.quantity, refused)
    flash(_("%(quantity)d written off.", quantity=form.quantity.data), "success")
    return redirect(url_for("station.stock_page"))
