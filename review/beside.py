"""What each document must match, shown beside it on the review screen: the licence against the
organisation and its credit code, the ID scans against the agent, the forms against the organisation
and the people they name; a personal certificate's ID scans against its holder."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from models import MaterialKind, Order
from web.labels import label


def fields_for(order: Order) -> dict[MaterialKind, list[tuple[str, str]]]:
    if order.personal:
        return _personal(order)
    o, lr, ag = order.organisation, order.legal_rep, order.agent
    organisation = [(_l("Organisation name"), o.name), (_l("Unified social credit code"), o.credit_code)]
    agent = [(_l("Agent"), ag.name), (_l("ID number"), ag.id_number_masked)]
    return {
        MaterialKind.BUSINESS_LICENCE: [*organisation, (_l("Legal representative"), lr.name)],
        MaterialKind.AGENT_ID_FRONT: agent,
        MaterialKind.AGENT_ID_BACK: agent,
        MaterialKind.ESEAL_SAMPLE_FORM: organisation,
        MaterialKind.AUTHORISATION_LETTER: [*organisation, (_l("Legal representative"), lr.name), agent[0]],
    }


def _personal(order: Order) -> dict[MaterialKind, list[tuple[str, str]]]:
    h = order.holder
    holder = [(_l("Holder"), h.name), (_l("ID type"), label(h.id_type) if h.id_type else ""),
              (_l("ID number"), h.id_number_masked)]
    return {MaterialKind.AGENT_ID_FRONT: holder, MaterialKind.AGENT_ID_BACK: holder,
            MaterialKind.PAYMENT_PROOF: [(_l("Holder"), h.name)]}
