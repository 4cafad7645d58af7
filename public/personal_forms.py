"""The personal certificate's application form (个人数字证书): the holder applies for themselves.

No organisation, legal representative, corporate account or taxpayer ID. The holder takes the
agent's place on the order (models.Order.holder), so their fields keep the agent's names: the
data of a personal order reads like a unit order's agent part wherever an after-sale form copies it.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from models import AgentIdentityMethod, IdType
from public import validators
from public.forms import (
    ID_TYPES,
    ApplicationForm,
    Checked,
    PublicApplicationForm,
    choices_of,
    input_required,
    offer_products,
    region_choices,
    text_field,
)
from web.forms import Form

# The holder's real-name check.
HOLDER_IDENTITY_METHODS = [
    (AgentIdentityMethod.PHONE.value, _l("Phone real-name check")),
    (AgentIdentityMethod.BANK_CARD.value, _l("Bank card check")),
]


class PersonalApplicationForm(Form):
    agent_name = text_field(_l("Name"), True, 50)
    agent_id_type = SelectField(_l("ID type"), choices=choices_of(ID_TYPES), default=IdType.RESIDENT_ID.value,
                                validators=[input_required()])
    agent_id_number = text_field(_l("ID number"), True, 30)
    agent_phone = text_field(_l("Mobile phone"), True, 20, Checked(validators.mainland_mobile))
    agent_identity_method = SelectField(
        _l("Identity method"), choices=choices_of(HOLDER_IDENTITY_METHODS),
        default=AgentIdentityMethod.PHONE.value, validators=[input_required()],
    )
    agent_bank_account = text_field(_l("Bank card number"), False, 40, Checked(validators.bank_account_number))
    agent_email = text_field(_l("E-mail"), True, 120, Checked(validators.email_address))

    product = ApplicationForm.product
    media_type = ApplicationForm.media_type
    media_model = ApplicationForm.media_model

    mailing_province = ApplicationForm.mailing_province
    mailing_city = ApplicationForm.mailing_city
    mailing_address = ApplicationForm.mailing_address

    consent = ApplicationForm.consent
    captcha = PublicApplicationForm.captcha

    def __init__(self, *args, products=(), media_models=(), **kwargs):
        super().__init__(*args, **kwargs)
        offer_products(self, products, media_models)
        region_choices(self.mailing_province, self.mailing_city)

    # The ID number by its type's rules; the bank card number required for the bank card check.
    validate_agent_id_number = ApplicationForm.validate_agent_id_number
    validate_agent_bank_account = ApplicationForm.validate_agent_bank_account
