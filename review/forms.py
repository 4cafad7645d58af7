"""Forms of the review console. The decision form carries the checklist, reasons and note."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from models import BusinessType, MaterialKind, RevocationReason
from models.business import ORDER_CHECKLIST_KEY, order_checks
from web.forms import Form

# What a reviewer confirms for each document kind before approving.
CHECKLIST: dict[MaterialKind, tuple[str, ...]] = {
    MaterialKind.BUSINESS_LICENCE: ("legible", "seal_present", "names_match", "valid_dates"),
    MaterialKind.AGENT_ID_FRONT: ("legible", "names_match"),
    MaterialKind.AGENT_ID_BACK: ("legible", "valid_dates"),
    MaterialKind.ESEAL_SAMPLE_FORM: ("legible", "seal_present", "names_match"),
    MaterialKind.AUTHORISATION_LETTER: ("legible", "seal_present", "names_match", "valid_dates"),
    MaterialKind.PAYMENT_PROOF: ("legible", "amount_matches", "payer_is_organisation"),
}
# Tab titles short enough for five tabs on one line of a laptop screen.
SHORT_KIND_LABELS = {
    MaterialKind.BUSINESS_LICENCE: _l("Business licence"),
    MaterialKind.AGENT_ID_FRONT: _l("ID portrait side"),
    MaterialKind.AGENT_ID_BACK: _l("ID emblem side"),
    MaterialKind.ESEAL_SAMPLE_FORM: _l("E-seal form"),
    MaterialKind.AUTHORISATION_LETTER: _l("Authorisation"),
    MaterialKind.PAYMENT_PROOF: _l("Payment proof"),
}
CHECK_LABELS = {
    "legible": _l("Legible"),
    "seal_present": _l("Seal present"),
    "names_match": _l("Names and numbers match the form"),
    "valid_dates": _l("Dates valid"),
    "amount_matches": _l("Amount is the order's price"),
    "payer_is_organisation": _l("Paid from the organisation's account"),
}
# The checks of the order as a whole (models.business.order_checks), by business type.
ORDER_CHECK_LABELS = {
    "same_organisation": _l("Same organisation as the earlier order"),
    "earlier_certificate_found": _l("The earlier certificate is the one to revoke"),
    "payment_matched": _l("Finance matched the payment proof to the bank statement"),
    "certificate_identified": _l("The certificate to revoke is identified"),
    "requester_entitled": _l("The requester may revoke it (agent and legal representative checked)"),
    "reason_stated": _l("The reason is stated and fits"),
    "changes_match_documents": _l("The new values match the documents"),
}
# The same checks as a personal certificate's reviewer reads them: the holder in the organisation's place.
PERSONAL_SHORT_KIND_LABELS = {**SHORT_KIND_LABELS, MaterialKind.AGENT_ID_FRONT: _l("ID front"),
                              MaterialKind.AGENT_ID_BACK: _l("ID back")}
PERSONAL_CHECK_LABELS = {**CHECK_LABELS, "payer_is_organisation": _l("Paid by the holder")}
PERSONAL_ORDER_CHECK_LABELS = {
    **ORDER_CHECK_LABELS,
    "same_organisation": _l("Same holder as the earlier order"),
    "requester_entitled": _l("The requester may revoke it (the holder checked)"),
}
# A personal order's identity checks (review.identity: the holder's, run as the agent's).
PERSONAL_METHOD_LABELS = {"agent_phone": _l("Holder phone real-name check"),
                          "agent_bank_card": _l("Holder bank card check"),
                          "phone": _l("Holder phone real-name check"),
                          "bank_card": _l("Holder bank card check")}


def labels_for(order) -> dict:
    """The review screen's labels of checks and documents, for a unit's or a person's order."""
    if order.personal:
        return {"check_labels": PERSONAL_CHECK_LABELS, "order_check_labels": PERSONAL_ORDER_CHECK_LABELS,
                "short_labels": PERSONAL_SHORT_KIND_LABELS, "method_labels": PERSONAL_METHOD_LABELS}
    return {"check_labels": CHECK_LABELS, "order_check_labels": ORDER_CHECK_LABELS,
            "short_labels": SHORT_KIND_LABELS, "method_labels": {}}


DECISIONS = ("approve", "reject", "more_materials")
REVEALABLE = ("legal_rep_id_number", "agent_id_number", "account_number", "legal_rep_bank_card", "agent_bank_card")


class DecisionForm(Form):
    decision = StringField(validators=[InputRequired(), AnyOf(DECISIONS)])
    reason_ids = SelectMultipleField(_l("Reasons"), coerce=int, validators=[Optional()])
    kinds = SelectMultipleField(_l("Documents to upload again"), validators=[Optional()],
                                choices=[k.value for k in MaterialKind])
    note = TextAreaField(_l("Note to the applicant"), validators=[Optional(), Length(max=500)])

    def checklist(self, materials: dict[MaterialKind, object], formdata,
                  business_type: BusinessType) -> dict[str, dict[str, bool | None]]:
        """Each check of each current material: holds (True, "y"), fails (False, "n") or not answered
        (None): {"<material id>": {"legible": True, "seal_present": False, ...}}; and the business
        type's checks of the order as a whole under "order" ("check-order-<check>"), when it has any."""
        answers = {"y": True, "n": False}
        checklist = {str(material.id): {item: answers.get(formdata.get(f"check-{material.id}-{item}"))
                                        for item in CHECKLIST[kind]}
                     for kind, material in materials.items()}
        if checks := order_checks(business_type):
            checklist[ORDER_CHECKLIST_KEY] = {item: answers.get(formdata.get(f"check-order-{item}"))
                                              for item in checks}
        return checklist


class ReassignForm(Form):
    staff_id = SelectField(_l("Reviewer"), coerce=int, validators=[InputRequired()])


class RevealForm(Form):
    field = StringField(validators=[InputRequired(), AnyOf(REVEALABLE)])


class ActionForm(Form):
    """A button with nothing but the CSRF token (claim, release, verify)."""


class RemindersForm(Form):
    """The button that turns the applicant's renewal reminders off, or back on."""

    reminders = StringField(validators=[InputRequired(), AnyOf(("on", "off"))])


REVOCATION_REASONS = [
    (RevocationReason.KEY_COMPROMISE, _l("Key compromise (keyCompromise)")),
    (RevocationReason.AFFILIATION_CHANGED, _l("Affiliation changed (affiliationChanged)")),
    (RevocationReason.SUPERSEDED, _l("Superseded (superseded)")),
    (RevocationReason.CESSATION_OF_OPERATION, _l("Cessation of operation (cessationOfOperation)")),
    (RevocationReason.PRIVILEGE_WITHDRAWN, _l("Privilege withdrawn (privilegeWithdrawn)")),
    (RevocationReason.CA_COMPROMISE, _l("CA compromise (cACompromise)")),
    (RevocationReason.UNSPECIFIED, _l("Unspecified (unspecified)")),
]


class RevocationForm(Form):
    """The first senior reviewer's request: an RFC 5280 reason code and a note."""

    reason = SelectField(_l("Reason (RFC 5280)"), coerce=int,
                         choices=[SelectChoice(int(code), text) for code, text in REVOCATION_REASONS],
                         validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])


class RiskOverrideForm(Form):
    """A senior reviewer's written reason to approve despite a deny-list match."""

    reason = TextAreaField(_l("Why it may still be approved"), validators=[InputRequired(), Length(min=10, max=1000)])
