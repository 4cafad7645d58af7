"""The forms of the services done with the key at the applicant's PC: renewal's contact data and seal
services (the seed's 证书更新 form), and the information change's (在线信息变更)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, SelectMultipleField, widgets

from public import validators
from public.forms import (
    ID_TYPES,
    ApplicationForm,
    Checked,
    check_id_number,
    choices_of,
    input_required,
    region_choices,
    text_field,
)
from web.forms import Form

SEAL_SERVICE_LABELS = {
    "personal_seal": _l("Personal seal"),
    "handwritten_signature": _l("Personal seal (handwritten signature)"),
    "legal_rep_seal": _l("Legal representative's seal"),
    "official_seal": _l("Official seal"),
}


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class MailingForm(Form):
    """The mailing address, as the application form has it."""

    mailing_province = ApplicationForm.mailing_province
    mailing_city = ApplicationForm.mailing_city
    mailing_address = ApplicationForm.mailing_address

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        region_choices(self.mailing_province, self.mailing_city)


class ContactForm(MailingForm):
    """The agent and the mailing address, as the application form has them: renewal, information change
    and the unlock's identity share them."""

    agent_name = ApplicationForm.agent_name
    agent_phone = ApplicationForm.agent_phone
    agent_id_type = ApplicationForm.agent_id_type
    agent_id_number = ApplicationForm.agent_id_number
    agent_email = ApplicationForm.agent_email

    def validate_agent_id_number(self, field) -> None:
        check_id_number(self.agent_id_type, field)


class LegalRepFields:
    """The legal representative, whose phone is required here (a code may go to it)."""

    legal_rep_name = ApplicationForm.legal_rep_name
    legal_rep_phone = text_field(_l("Legal representative's mobile phone"), True, 20,
                                 Checked(validators.mainland_mobile))
    legal_rep_id_type = ApplicationForm.legal_rep_id_type
    legal_rep_id_number = ApplicationForm.legal_rep_id_number

    def validate_legal_rep_id_number(self, field) -> None:
        check_id_number(self.legal_rep_id_type, field)


class HolderContactForm(MailingForm):
    """A personal certificate's holder's phone and e-mail and the mailing address: their name and ID are the
    certificate's (public.holder_orders)."""

    holder_phone = text_field(_l("Mobile phone"), True, 20, Checked(validators.mainland_mobile))
    holder_email = text_field(_l("E-mail"), True, 120, Checked(validators.email_address))


class SealServicesFields:
    """The seal services offered with the certificate (models.business.SEAL_SERVICES), and the consent."""

    seal_services = CheckboxesField(_l("Seal services"), validate_choice=True)
    consent = ApplicationForm.consent

    def __init__(self, *args, seal_services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.seal_services.choices = choices_of((code, SEAL_SERVICE_LABELS[code]) for code in seal_services)


class RenewalForm(SealServicesFields, ContactForm):
    pass


class PersonalRenewalForm(SealServicesFields, HolderContactForm):
    """A personal certificate's renewal: the holder as on file, their contact data and the seal services."""


class InfoChangeForm(LegalRepFields, RenewalForm):
    """The seed's 在线信息变更: the organisation (its credit code is not the form's: a new credit code is
    another organisation), its legal representative, the seal services, the invoice (its title is the
    organisation's name) and the contact data."""

    org_name = ApplicationForm.org_name
    org_department = ApplicationForm.org_department
    region_province = ApplicationForm.region_province
    region_city = ApplicationForm.region_city
    org_phone = ApplicationForm.org_phone
    invoice_taxpayer_id = ApplicationForm.invoice_taxpayer_id
    invoice_address_phone = ApplicationForm.invoice_address_phone
    invoice_bank_account = ApplicationForm.invoice_bank_account

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        region_choices(self.region_province, self.region_city)


class PersonalInfoChangeForm(HolderContactForm):
    """A personal certificate's information change: the holder's name (a legal change of name) and contact
    data; the ID type and number are not the form's (another ID is another person)."""

    holder_name = text_field(_l("Name"), True, 50)
    consent = ApplicationForm.consent


class UnlockIdentityForm(LegalRepFields, ContactForm):
    """The seed's identity-verified unlock: who asks, as on a first application, and whose phone gets the
    authorisation code."""

    person = RadioField(_l("Authorisation method"), validators=[input_required()])
    org_name = ApplicationForm.org_name
    org_department = ApplicationForm.org_department
    credit_code = ApplicationForm.credit_code
    org_phone = ApplicationForm.org_phone

    def __init__(self, *args, persons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.person.choices = choices_of(persons)


class PersonalUnlockIdentityForm(Form):
    """A personal certificate's identity-verified unlock: the holder's name and ID document, as in the
    application (the authorisation code goes to the holder's phone on file: no choice of phone)."""

    holder_name = text_field(_l("Holder's name"), True, 50)
    holder_id_type = SelectField(_l("ID type"), choices=choices_of(ID_TYPES), validators=[input_required()])
    holder_id_number = text_field(_l("ID number"), True, 30)

    def validate_holder_id_number(self, field) -> None:
        check_id_number(self.holder_id_type, field)
