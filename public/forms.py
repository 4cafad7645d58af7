"""The application form, shared by the public pages and the JSON API.

Field names are the API's field names. Every check runs on the server; a field that
fails keeps what the applicant typed and shows its message beside it.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, Length, StopValidation, ValidationError

from documents import regions
from models import AgentIdentityMethod, IdentityMethod, IdType
from public import validators
from web.errors import InvalidValue
from web.forms import Form
from web.labels import catalogue_name

IDENTITY_METHODS = [
    (IdentityMethod.CORPORATE_TRANSFER.value,
     _l("Corporate account transfer (password in the 0.01-yuan transfer memo)")),
    (IdentityMethod.LEGAL_REP_PHONE.value, _l("Legal representative phone real-name check (password by SMS)")),
    (IdentityMethod.LEGAL_REP_BANK_CARD.value, _l("Legal representative bank card check (password by SMS)")),
]
AGENT_IDENTITY_METHODS = [
    (AgentIdentityMethod.PHONE.value, _l("Agent phone real-name check")),
    (AgentIdentityMethod.BANK_CARD.value, _l("Agent bank card check")),
]
ID_TYPES = [
    (IdType.RESIDENT_ID.value, _l("Resident ID card")),
    (IdType.PASSPORT.value, _l("Passport")),
    (IdType.MILITARY_OFFICER.value, _l("Military officer card")),
    (IdType.TAIWAN_PERMIT.value, _l("Taiwan compatriot permit")),
    (IdType.HOME_RETURN_PERMIT.value, _l("Home Return Permit (Hong Kong / Macao)")),
]
MEDIA_TYPES = [
    ("card", _l("Card-style commemorative edition")),
    ("uk", _l("UK media")),
]
OWN_KEY = "own"
PROVINCE_FIELDS = {
    "region_province": "region_city",
    "bank_province": "bank_city",
    "mailing_province": "mailing_city",
}


# The value a ticked checkbox sends (BooleanField's own); nothing else counts as agreement.
AGREED = "y"


def form_fields(form_class: type) -> dict[str, type]:
    """Each field of a form class by name, with its field class (before any form is built)."""
    return {name: unbound.field_class for cls in reversed(form_class.__mro__)
            for name, unbound in vars(cls).items() if isinstance(unbound, UnboundField)}


class Agreed:
    """A consent is the checkbox's own value, ticked: "false", "0" or "off" is no agreement."""

    field_flags = {"required": True}

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field) -> None:
        if field.raw_data != [AGREED]:
            raise StopValidation(self.message)


def choices_of(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class Checked:
    """Runs one of public.validators on a filled field and keeps its normalised value."""

    def __init__(self, check: Callable[[str], str]):
        self.check = check

    def __call__(self, form, field) -> None:
        if field.data:
            check_field(field, self.check)


def check_field(field, check: Callable[[str], str]) -> None:
    """Run `check` on the field's value and keep what it answers, or show its message."""
    try:
        field.data = check(field.data)
    except InvalidValue as exc:
        raise ValidationError(gettext(str(exc))) from exc


def region_choices(province_field, city_field) -> None:
    """The provinces, and the cities of the province chosen, as a form's choices."""
    province_field.choices = choices_of(
        [("", _l("Please choose"))] + [(p["code"], p["name"]) for p in regions.provinces()])
    cities = regions.cities(province_field.data or "")
    city_field.choices = choices_of([("", _l("Please choose"))] + [(c["code"], c["name"]) for c in cities])


def check_id_number(type_field, number_field) -> None:
    """A filled ID number checked by the rules of the ID type chosen beside it."""
    if number_field.data:
        check_field(number_field, partial(validators.id_number, type_field.data))


def offer_products(form, products, media_models) -> None:
    """The catalogue's products and key models as the form's choices (and the applicant's own
    key); the first of each chosen unless the form holds a choice."""
    form.product.choices = choices_of((p.code, catalogue_name(p)) for p in products)
    form.media_model.choices = choices_of(
        [(m.code, catalogue_name(m)) for m in media_models] + [(OWN_KEY, _l("No key: I bring my own"))]
    )
    if form.product.data is None and form.product.choices:
        form.product.data = form.product.choices[0].value
    if form.media_model.data is None and media_models:
        form.media_model.data = media_models[0].code


def input_required():
    return InputRequired(message=_l("This field is required."))


def text_field(label, required=True, max_length=100, *extra):
    # No Optional() for the others: it would stop the chain before the checks that make
    # a field required for one identity method.
    first = [input_required()] if required else []
    return StringField(label, validators=[*first, Length(max=max_length), *extra])


def _province(label):
    return SelectField(label, validators=[input_required()])


def _city(label):
    return SelectField(label, validators=[input_required()])


class ApplicationForm(Form):
    identity_method = RadioField(
        _l("Identity method"), choices=choices_of(IDENTITY_METHODS),
        default=IdentityMethod.CORPORATE_TRANSFER.value, validators=[input_required()],
    )
    org_name = text_field(_l("Organisation name"), True, 100)
    org_department = text_field(_l("Department"), False, 60)
    credit_code = text_field(_l("Unified social credit code"), True, 30,
                        Checked(validators.unified_social_credit_code))
    region_province = _province(_l("Region (province)"))
    region_city = _city(_l("Region (city)"))
    org_phone = text_field(_l("Organisation phone"), False, 30, Checked(validators.landline_or_mobile))

    legal_rep_name = text_field(_l("Legal representative's name"), True, 50)
    legal_rep_phone = text_field(_l("Legal representative's mobile phone"), False, 20,
                            Checked(validators.mainland_mobile))
    legal_rep_id_type = SelectField(_l("ID type"), choices=choices_of(ID_TYPES),
                                    default=IdType.RESIDENT_ID.value, validators=[input_required()])
    legal_rep_id_number = text_field(_l("Legal representative's ID number"), True, 30)
    legal_rep_bank_card = text_field(_l("Legal representative's bank card number"), False, 40,
                                Checked(validators.bank_account_number))

    product = SelectField(_l("Certificate product"), validators=[input_required()])
    media_type = RadioField(_l("Media type"), choices=choices_of(MEDIA_TYPES), default="card",
                            validators=[input_required()])
    media_model = RadioField(_l("Key model"), validators=[input_required()])

    account_number = text_field(_l("Account number"), True, 40, Checked(validators.bank_account_number))
    bank_name = text_field(_l("Bank name"), True, 60)
    bank_province = _province(_l("Bank address (province)"))
    bank_city = _city(_l("Bank address (city)"))

    invoice_taxpayer_id = text_field(_l("Taxpayer ID"), True, 30, Checked(validators.taxpayer_id))
    invoice_address_phone = text_field(_l("Address and phone"), False, 120)
    invoice_bank_account = text_field(_l("Bank and account"), False, 120)

    agent_identity_method = SelectField(
        _l("Agent identity method"), choices=choices_of(AGENT_IDENTITY_METHODS),
        default=AgentIdentityMethod.PHONE.value, validators=[input_required()],
    )
    agent_name = text_field(_l("Agent's name"), True, 50)
    agent_phone = text_field(_l("Agent's mobile phone"), True, 20, Checked(validators.mainland_mobile))
    agent_id_type = SelectField(_l("Agent's ID type"), choices=choices_of(ID_TYPES),
                                default=IdType.RESIDENT_ID.value, validators=[input_required()])
    agent_id_number = text_field(_l("Agent's ID number"), True, 30)
    agent_bank_account = text_field(_l("Agent's bank card number"), False, 40,
                               Checked(validators.bank_account_number))
    agent_email = text_field(_l("Agent's e-mail"), True, 120, Checked(validators.email_address))

    mailing_province = _province(_l("Mailing province"))
    mailing_city = _city(_l("Mailing city"))
    mailing_address = text_field(_l("Mailing address"), True, 200)

    consent = BooleanField(
        _l("I have read and agree to the service agreement, the privacy policy and the risk notice"),
        validators=[Agreed(message=_l("Please read and accept the three documents."))],
    )

    def __init__(self, *args, products=(), media_models=(), **kwargs):
        super().__init__(*args, **kwargs)
        offer_products(self, products, media_models)
        for province_field, city_field in PROVINCE_FIELDS.items():
            region_choices(getattr(self, province_field), getattr(self, city_field))

    def validate_legal_rep_id_number(self, field) -> None:
        check_id_number(self.legal_rep_id_type, field)

    def validate_agent_id_number(self, field) -> None:
        check_id_number(self.agent_id_type, field)

    def validate_legal_rep_phone(self, field) -> None:
        if not field.data and self.identity_method.data != IdentityMethod.CORPORATE_TRANSFER:
            raise ValidationError(gettext(
                "The certificate password will be sent to this phone: it is required "
                "for the chosen identity method."))

    def validate_legal_rep_bank_card(self, field) -> None:
        if not field.data and self.identity_method.data == IdentityMethod.LEGAL_REP_BANK_CARD:
            raise ValidationError(gettext("The bank card check needs the bank card number."))

    def validate_agent_bank_account(self, field) -> None:
        if not field.data and self.agent_identity_method.data == AgentIdentityMethod.BANK_CARD:
            raise ValidationError(gettext("The bank card check needs the bank card number."))


class PublicApplicationForm(ApplicationForm):
    """The browser form adds the image captcha."""

    captcha = StringField(_l("Captcha"), validators=[input_required(), Length(max=8)])
