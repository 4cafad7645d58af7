"""What each document must match, shown beside it on the review screen: the licence against the
organisation and its credit code, the ID scans against the agent, the forms against the organisation
and the people they name."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from models import MaterialKind, Order


def fields_for(order: Order) -> dict[MaterialKind, list[tuple[str, str]]]:
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
