"""The admin screens: Flask-Admin at /console/admin, for the admin role only.

Staff accounts, the reference data (catalogue, channels, reason templates, SLA targets,
calendar overrides, the deny list) and a read-only audit log. Nothing is ever deleted:
records are retained. Every create and edit writes an "admin.change" audit entry with the
fields it changed (never a secret). Rules about accounts live in web.staff_accounts.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Callable

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.form import SecureForm
from flask_admin.model.template import BaseListRowAction
from flask_admin.model.typefmt import BASE_FORMATTERS
from flask_admin.theme import Bootstrap4Theme
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import inspect, select
from wtforms import PasswordField, SelectChoice, SelectField, StringField, ValidationError
from wtforms.validators import InputRequired, Length, NumberRange, Regexp

from backoffice.admin_search import FilterConverter, LiteralSearch
from issuance import profiles
from models import (
    AuditEntry,
    BusinessType,
    CalendarOverride,
    CertificateProfile,
    CertKind,
    Channel,
    DenyListEntry,
    MediaModel,
    Price,
    Product,
    RejectionReason,
    SlaPolicy,
    Staff,
    StaffRole,
    StockItem,
    StockLevel,
    record,
)
from models.business_time import BUSINESS_TZ
from web import guards, security, staff_accounts
from web.extensions import db
from web.forms import TextChecks
from web.labels import LABELS
from web.request_guard import bounded_int

# Never written into an audit entry, never shown.
SECRET_FIELDS = frozenset({"password_hash", "totp_secret", "api_key_hash", "id_number", "id_number_digest"})

ENUM_LABELS = {
    StaffRole.REVIEWER: _l("Reviewer"),
    StaffRole.SENIOR_REVIEWER: _l("Senior reviewer"),
    StaffRole.FULFILLMENT: _l("Fulfillment"),
    StaffRole.FINANCE: _l("Finance"),
    StaffRole.ADMIN: _l("Administrator"),
    CertKind.UNIT: _l("Unit certificate"),
    CertKind.PERSONAL: _l("Personal certificate"),
    StockItem.KEY: LABELS["stock_key"],
    StockItem.ENVELOPE: LABELS["stock_envelope"],
}


def enum_label(member: enum.Enum):
    """The member's label, lazy: form choices and filters are built once, pages in either language."""
    return ENUM_LABELS.get(member) or LABELS.get(member.value, member.value)


def enum_select(enum_class: type[enum.Enum]) -> dict:
    """form_args for a SelectField over an enum (Flask-Admin's own enum field mixes names and values)."""
    return {"choices": [SelectChoice(member.value, enum_label(member)) for member in enum_class],
            "coerce": enum_class}


class _EnumEqualFilter(sqla_filters.EnumEqualFilter):
    """Flask-Admin's enum filter looks members up by name and fails (500) on an unknown one;
    here an unknown name is an invalid filter, which the list ignores."""

    def clean(self, value):
        try:
            return super().clean(value)
        except KeyError:
            raise ValueError(f"no member {value!r}") from None


def enum_filter(column, name, enum_class: type[enum.Enum]) -> sqla_filters.EnumEqualFilter:
    return _EnumEqualFilter(column, name, options=[(m.name, enum_label(m)) for m in enum_class])


def _local_time(view, value: dt.datetime, name: str) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm")


def _enum_formatter(view, value: enum.Enum, name: str) -> str:
    return str(enum_label(value))


TYPE_FORMATTERS = {**BASE_FORMATTERS, enum.Enum: _enum_formatter, dt.datetime: _local_time}


def _plain(value):
    """A value as the audit log's JSON keeps it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):  # and datetimes
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def changed_fields(model) -> tuple[dict, dict]:
    """(before, after) of the columns and to-one relations changed on `model` since it was loaded."""
    state = inspect(model)
    before, after = {}, {}
    for attribute in state.attrs:
        if attribute.key in SECRET_FIELDS or getattr(state.mapper.attrs[attribute.key], "uselist", False):
            continue
        history = attribute.history
        if history.has_changes():
            before[attribute.key] = _plain(history.deleted[0]) if history.deleted else None
            after[attribute.key] = _plain(history.added[0]) if history.added else None
    return before, after


class AdminForm(SecureForm):
    """SecureForm's CSRF token, under its own name and with the app's CSRF switch.

    The app-wide Flask-WTF check also guards these POSTs; Flask-Admin's templates render its
    `csrf_token` too, so SecureForm's field must not share that name.
    """

    class Meta(TextChecks):
        csrf_field_name = "admin_csrf_token"

        @property
        def csrf(self) -> bool:
            return current_app.config.get("WTF_CSRF_ENABLED", True)


class AdminOnly:
    def is_accessible(self) -> bool:
        return guards.has_role(current_user, StaffRole.ADMIN)

    def inaccessible_callback(self, name, **kwargs):
        return guards.refuse()


class HomeView(AdminOnly, AdminIndexView):
    @expose("/")
    def index(self):
        return redirect(url_for("admin_staff.index_view"))

    def is_visible(self) -> bool:
        return False


class PostRowAction(BaseListRowAction):
    """A button in a list row that POSTs to one of the view's endpoints (no inline script: CSP)."""

    def __init__(self, endpoint: str, icon_class: str, title, shown: Callable[[object], bool]) -> None:
        super().__init__(title=title)
        self.endpoint, self.icon_class, self.shown = endpoint, icon_class, shown

    def render(self, context, row_id, row):
        if not self.shown(row):
            return ""
        get_url = self._resolve_symbol(context, "get_url")
        return Markup(
            '<form class="icon" method="post" action="{}"><input type="hidden" name="id" value="{}">'
            '<input type="hidden" name="csrf_token" value="{}">'
            '<button type="submit" title="{}" aria-label="{}"><span class="{}"></span></button></form>'
        ).format(get_url(self.endpoint), row_id, generate_csrf(), self.title, self.title, self.icon_class)


# Column headings, filter names and form labels of every admin view, in the page's language.
COLUMN_LABELS = {
    "username": _l("Username"), "display_name": _l("Name"), "email": _l("E-mail"), "role": _l("Role"),
    "active": _l("Active"), "totp_confirmed_at": _l("Second factor since"), "failed_logins": _l("Failed sign-ins"),
    "locked_until": _l("Locked until"), "last_login_at": _l("Last sign-in"), "password": _l("Initial password"),
    "code": _l("Code"), "name": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
    "cert_kind": _l("Certificate type"), "validity_months": _l("Validity (months)"), "tax_rate": _l("Tax rate"),
    "product": _l("Product"), "product_id": _l("Product"), "channel_id": _l("Channel"),
    "business_type": _l("Business type"), "amount_cents": _l("Amount (fen)"), "price_cents": _l("Price (fen)"),
    "created_at": _l("Created"), "position": _l("Position"), "text_zh": _l("Text (Chinese)"),
    "text_en": _l("Text (English)"), "target_days": _l("Target (working days)"),
    "limit_days": _l("Limit (working days)"), "shipping_days": _l("Shipping (working days)"), "day": _l("Day"),
    "is_workday": _l("Working day"), "note": _l("Note"), "added_by": _l("Added by"),
    "id_number": _l("ID number"), "id_number_masked": _l("ID number"), "reason": _l("Reason"),
    "seq": _l("Sequence"), "at": _l("Time"), "actor": _l("Actor"), "action": _l("Action"), "order_id": _l("Order"),
    "target": _l("Target"), "before": _l("Before"), "after": _l("After"), "entry_hash": _l("Entry hash"),
    "profile": _l("Certificate profile"), "profile_id": _l("Certificate profile"), "key_types": _l("Key types"),
    "key_usage": _l("Key usage"), "extended_key_usage": _l("Extended key usage"), "policy_oid": _l("Policy OID"),
    "item": _l("Stock item"), "media_model": _l("Key model"), "media_model_id": _l("Key model"),
    "low_level": _l("Low level"), "alerted_at": _l("Low-stock e-mail sent"),
}


MAX_LIST_PAGE = 100_000


class AuditedView(AdminOnly, LiteralSearch, ModelView):
    form_base_class = AdminForm
    filter_converter = FilterConverter()
    can_delete = False
    page_size = 50
    column_type_formatters = TYPE_FORMATTERS
    column_labels = COLUMN_LABELS

    def _get_list_extra_args(self):
        # Flask-Admin reads page numbers with int(): keep the offset within what a database binds.
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), MAX_LIST_PAGE)
        if args.page_size not in self.page_size_options:
            args.page_size = 0  # the view's own
        return args

    def apply_rules(self, form, model, is_created: bool) -> None:
        """The view's own rules, applied before the change is audited."""

    def audit_notes(self, model, is_created: bool) -> dict:
        return {}

    def audit_target(self, model) -> str:
        return f"{model.__tablename__}:{model.id}"

    def on_model_change(self, form, model, is_created: bool) -> None:
        self.apply_rules(form, model, is_created)
        before, after = changed_fields(model)
        after.update(self.audit_notes(model, is_created))
        db.session.flush()
        if is_created or after:
            record(db.session, current_user.actor, "admin.change", target=self.audit_target(model),
                   before=None if is_created else before, after=after, note="create" if is_created else "edit")


class _PasswordOnce(PasswordField):
    """Read by the view and hashed; never copied onto the model."""

    def populate_obj(self, obj, name) -> None:
        pass


class StaffView(AuditedView):
    column_list = ["username", "display_name", "email", "role", "active", "totp_confirmed_at", "failed_logins",
                   "locked_until", "last_login_at"]
    column_searchable_list = ["username", "display_name", "email"]
    column_filters = [enum_filter(Staff.role, _l("Role"), StaffRole), "active"]
    column_default_sort = "username"
    form_columns = ["username", "display_name", "email", "role", "active", "password"]
    form_overrides = {"role": SelectField}
    form_args = {
        "role": enum_select(StaffRole),
        "username": {"validators": [Regexp(r"^[a-z0-9._-]{2,40}$", message=_l(
            "2 to 40 characters: lower-case letters, digits, dot, dash, underscore."))]},
    }
    form_extra_fields = {
        "password": _PasswordOnce(_l("Initial password"), validators=[
            InputRequired(), Length(min=staff_accounts.MIN_PASSWORD_LENGTH, max=200)]),
    }
    column_extra_row_actions = [
        PostRowAction(".reset_second_factor", "fa fa-mobile", _l("Reset second factor"),
                      shown=lambda staff: staff.totp_confirmed_at is not None or staff.totp_secret is not None),
        PostRowAction(".lift_lockout", "fa fa-unlock", _l("Lift lock-out"),
                      shown=lambda staff: staff.locked_until is not None or staff.failed_logins > 0),
    ]

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        del form.username, form.password  # the username is fixed; passwords are not set here
        return form

    def apply_rules(self, form, model, is_created: bool) -> None:
        if is_created:
            staff_accounts.set_password(model, form.password.data)

    def audit_notes(self, model, is_created: bool) -> dict:
        return {"password": "set"} if is_created else {}

    def audit_target(self, model) -> str:
        return model.actor

    def _posted_staff(self) -> Staff:
        staff = db.session.get(Staff, request.form.get("id", type=bounded_int) or 0)
        if staff is None:
            abort(404)
        return staff

    @expose("/reset-second-factor", methods=["POST"])
    def reset_second_factor(self):
        staff = self._posted_staff()
        staff_accounts.reset_second_factor(db.session, staff, actor=current_user.actor)
        flash(_("The second factor of %(name)s was reset: they set up a new one at their next sign-in.",
                name=staff.display_name), "success")
        return redirect(self.get_url(".index_view"))

    @expose("/lift-lockout", methods=["POST"])
    def lift_lockout(self):
        staff = self._posted_staff()
        staff_accounts.lift_lockout(db.session, staff, actor=current_user.actor)
        flash(_("%(name)s may sign in again.", name=staff.display_name), "success")
        return redirect(self.get_url(".index_view"))


class ProductView(AuditedView):
    column_list = ["code", "name", "name_en", "cert_kind", "validity_months", "tax_rate", "profile", "active"]
    # A plain select over the profile's id: Flask-Admin's relation field yields the tuples WTForms 3.3 deprecates.
    form_columns = ["code", "name", "name_en", "cert_kind", "validity_months", "tax_rate", "profile_id", "active"]
    form_overrides = {"cert_kind": SelectField, "profile_id": SelectField}
    form_args = {"cert_kind": enum_select(CertKind),
                 "profile_id": {"coerce": lambda value: int(value) if value else None}}
    column_searchable_list = ["code", "name", "name_en"]

    def create_form(self, obj=None):
        return self._with_profiles(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_profiles(super().edit_form(obj))

    def _with_profiles(self, form):
        profiles = db.session.scalars(select(CertificateProfile).where(CertificateProfile.active.is_(True))
                                      .order_by(CertificateProfile.code))
        form.profile_id.choices = [SelectChoice("", _("None: its certificates cannot be issued"))] + [
            SelectChoice(p.id, f"{p.code} · {p.name}") for p in profiles]
        return form


class CertificateProfileView(AuditedView):
    """What a product's certificates carry besides subject and key; a profile that could not make
    a certificate (an unknown key type or usage, a policy that is no OID) is refused here."""

    column_list = ["code", "name", "key_types", "key_usage", "extended_key_usage", "policy_oid", "active"]
    form_columns = column_list
    column_descriptions = {
        "key_types": _l("Comma-separated: rsa2048, rsa3072, rsa4096, ec_p256, ec_p384"),
        "key_usage": _l("Comma-separated: digital_signature, non_repudiation, key_encipherment, …"),
        "extended_key_usage": _l("Comma-separated names (client_auth, email_protection, …) or dotted OIDs"),
        "policy_oid": _l("The CA's certificate policy OID, dotted"),
    }

    def apply_rules(self, form, model, is_created: bool) -> None:
        if found := profiles.problems(model):
            raise ValidationError("; ".join(found))


class PriceView(AuditedView):
    column_list = ["product", "channel_id", "business_type", "amount_cents"]
    column_formatters = {"channel_id": lambda view, context, price, name: _channel_name(price.channel_id)}
    # Plain selects over the ids: Flask-Admin's relation field yields the tuples WTForms 3.3 deprecates.
    form_columns = ["product_id", "channel_id", "business_type", "amount_cents"]
    form_overrides = {"product_id": SelectField, "channel_id": SelectField, "business_type": SelectField}
    form_args = {"product_id": {"coerce": int},
                 "channel_id": {"coerce": lambda value: int(value) if value else None},
                 "business_type": enum_select(BusinessType)}

    def create_form(self, obj=None):
        return self._with_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_choices(super().edit_form(obj))

    def _with_choices(self, form):
        products = db.session.scalars(select(Product).order_by(Product.code))
        channels = db.session.scalars(select(Channel).order_by(Channel.code))
        form.product_id.choices = [SelectChoice(p.id, p.name) for p in products]
        form.channel_id.choices = [SelectChoice("", _("Every channel"))] + [SelectChoice(c.id, c.name)
                                                                             for c in channels]
        return form


def _channel_name(channel_id: int | None) -> str:
    if channel_id is None:
        return _("Every channel")
    channel = db.session.get(Channel, channel_id)
    return channel.name if channel else str(channel_id)


class MediaModelView(AuditedView):
    column_list = ["code", "name", "name_en", "price_cents", "active"]
    form_columns = column_list


class StockLevelView(AuditedView):
    """The shelf's low-stock levels (fulfillment.stock): per key model, and one for the envelopes.
    An item without a row here is low at 20."""

    column_list = ["item", "media_model", "low_level", "alerted_at"]
    form_columns = ["item", "media_model_id", "low_level"]
    form_overrides = {"item": SelectField, "media_model_id": SelectField}
    form_args = {"item": enum_select(StockItem),
                 "media_model_id": {"coerce": lambda value: int(value) if value else None},
                 "low_level": {"validators": [InputRequired(), NumberRange(min=0, max=100_000)]}}

    def create_form(self, obj=None):
        return self._with_models(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_models(super().edit_form(obj))

    def _with_models(self, form):
        models = db.session.scalars(select(MediaModel).order_by(MediaModel.code))
        form.media_model_id.choices = [SelectChoice("", _("None (envelopes)"))] + [
            SelectChoice(m.id, f"{m.code} · {m.name}") for m in models]
        return form

    def apply_rules(self, form, model, is_created: bool) -> None:
        if model.item is StockItem.KEY and model.media_model_id is None:
            raise ValidationError(_("Keys have a level per key model: choose one."))
        if model.item is StockItem.ENVELOPE:
            model.media_model_id = None
        same_model = StockLevel.media_model_id.is_(None) if model.media_model_id is None \
            else StockLevel.media_model_id == model.media_model_id
        with db.session.no_autoflush:
            others = select(StockLevel.id).where(StockLevel.item == model.item, same_model)
            taken = db.session.scalar(others if model.id is None else others.where(StockLevel.id != model.id))
        if taken is not None:
            raise ValidationError(_("That item has its level already: edit it."))


class ChannelView(AuditedView):
    # The API key is issued by `flask channel create`, which shows it once; only its hash is kept.
    column_list = ["code", "name", "active", "created_at"]
    column_searchable_list = ["code", "name"]
    form_columns = ["code", "name", "active"]


class RejectionReasonView(AuditedView):
    column_list = ["position", "text_zh", "text_en", "active"]
    column_default_sort = "position"
    form_columns = column_list


class SlaPolicyView(AuditedView):
    column_list = ["business_type", "cert_kind", "target_days", "limit_days", "shipping_days"]
    form_columns = column_list
    form_overrides = {"business_type": SelectField, "cert_kind": SelectField}
    form_args = {"business_type": enum_select(BusinessType), "cert_kind": enum_select(CertKind)}


class CalendarOverrideView(AuditedView):
    column_list = ["day", "is_workday", "note", "added_by"]
    column_default_sort = ("day", True)
    form_columns = ["day", "is_workday", "note"]

    def apply_rules(self, form, model, is_created: bool) -> None:
        if is_created:
            model.added_by = current_user.actor


class DenyListView(AuditedView):
    column_list = ["id_number_masked", "reason", "active", "added_by", "created_at"]
    column_searchable_list = ["reason"]
    column_filters = ["active"]
    column_default_sort = ("created_at", True)
    form_columns = ["id_number", "reason", "active"]
    form_extra_fields = {"id_number": StringField(_l("ID number"), validators=[InputRequired(), Length(max=40)])}

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        del form.id_number  # an entry is about one number; a different number is a new entry
        return form

    def apply_rules(self, form, model, is_created: bool) -> None:
        if not is_created:
            return
        with db.session.no_autoflush:
            taken = db.session.scalar(select(DenyListEntry.id).where(
                DenyListEntry.id_number_digest == model.id_number_digest, DenyListEntry.id != model.id))
        if taken is not None:
            raise ValidationError(_("This ID number is already on the deny list."))
        model.added_by = current_user.actor

    def audit_notes(self, model, is_created: bool) -> dict:
        return {"id_number": model.id_number_masked} if is_created else {}


class _InConsoleTime:
    """Filter times are typed in business time, as the console shows them; the column holds UTC."""

    def clean(self, value):
        cleaned = super().clean(value)
        if isinstance(cleaned, list):
            return [moment.replace(tzinfo=BUSINESS_TZ) for moment in cleaned]
        return cleaned.replace(tzinfo=BUSINESS_TZ)


class _AtAfter(_InConsoleTime, sqla_filters.DateTimeGreaterFilter):
    pass


class _AtBefore(_InConsoleTime, sqla_filters.DateTimeSmallerFilter):
    pass


class _AtBetween(_InConsoleTime, sqla_filters.DateTimeBetweenFilter):
    pass


class AuditLogView(AuditedView):
    can_create = can_edit = can_delete = False
    can_view_details = True
    column_list = ["at", "actor", "action", "order_id", "target", "note"]
    column_details_list = ["seq", "at", "actor", "action", "order_id", "target", "before", "after", "note",
                           "entry_hash"]
    column_searchable_list = ["actor", "target"]
    column_filters = ["action", "actor", "order_id",
                      _AtAfter(AuditEntry.at, _l("Time")), _AtBefore(AuditEntry.at, _l("Time")),
                      _AtBetween(AuditEntry.at, _l("Time"))]
    column_default_sort = [("at", True), ("id", True)]


def init_app(app: Flask) -> Admin:
    admin = Admin(app, name=_l("Administration"), url="/console/admin",
                  index_view=HomeView(name=_l("Administration"), url="/console/admin"),
                  theme=Bootstrap4Theme(fluid=True), csp_nonce_generator=security.csp_nonce)
    catalogue, review = _l("Catalogue"), _l("Review settings")
    admin.add_views(
        StaffView(Staff, db, _l("Staff"), endpoint="admin_staff", url="staff"),
        ProductView(Product, db, _l("Products"), catalogue, endpoint="admin_product", url="products"),
        PriceView(Price, db, _l("Prices"), catalogue, endpoint="admin_price", url="prices"),
        CertificateProfileView(CertificateProfile, db, _l("Certificate profiles"), catalogue,
                               endpoint="admin_certificate_profile", url="profiles"),
        MediaModelView(MediaModel, db, _l("Key models"), catalogue, endpoint="admin_media_model", url="media"),
        StockLevelView(StockLevel, db, _l("Low-stock levels"), catalogue, endpoint="admin_stock_level",
                       url="stock-levels"),
        ChannelView(Channel, db, _l("Channels"), catalogue, endpoint="admin_channel", url="channels"),
        RejectionReasonView(RejectionReason, db, _l("Reason templates"), review,
                            endpoint="admin_rejection_reason", url="reasons"),
        SlaPolicyView(SlaPolicy, db, _l("SLA targets"), review, endpoint="admin_sla_policy", url="sla"),
        CalendarOverrideView(CalendarOverride, db, _l("Calendar overrides"), review,
                             endpoint="admin_calendar_override", url="calendar"),
        DenyListView(DenyListEntry, db, _l("Deny list"), review, endpoint="admin_deny_list", url="deny-list"),
        AuditLogView(AuditEntry, db, _l("Audit log"), endpoint="admin_audit_log", url="audit"),
    )
    return admin
