"""Every text the product sends, rendered from its template: an SMS from templates/sms/<kind>.txt,
an e-mail from templates/emails/<kind>/subject.txt and body.txt, a transfer's memo from
templates/transfers/<kind>.txt.

The producers give the facts (the order number, the code and its lifetime, the reasons); the
configuration gives what every message shares: the SMS signature (SMS_SIGNATURE), the CA's name
and service phone (CA_NAME, CA_SERVICE_PHONE), and for an SMS the provider's template code
(SMS_TEMPLATE_CODES). A Chinese carrier sends an approved template by its code with the
parameters, never our text, so the parameters are the producer's facts only: the signature and
the fixed words are the provider's template's. The rendered text is what the outbox keeps and
the sandbox "sends", so tests and `flask sms outbox` read the words the applicant reads.

The texts are Chinese templates, not gettext messages: they go to Chinese applicants whatever
language the staff member who caused them reads the console in. A fact missing from a template's
parameters is an error (StrictUndefined), never an empty gap in a message to an applicant.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from notifications.interfaces import SmsContent


@dataclass(frozen=True)
class EmailContent:
    kind: str  # templates/emails/<kind>/
    subject: str
    body: str


def render_sms(kind: str, **params: object) -> SmsContent:
    """The SMS of this kind with these parameters (each sent to the provider as text)."""
    config = current_app.config
    facts = {name: str(value) for name, value in params.items()}
    return SmsContent(kind=kind, template_code=config["SMS_TEMPLATE_CODES"][kind], params=facts,
                      text=_render(f"sms/{kind}.txt", facts).strip())


def render_email(kind: str, **params: object) -> EmailContent:
    return EmailContent(kind=kind, subject=_render(f"emails/{kind}/subject.txt", params).strip(),
                        body=_render(f"emails/{kind}/body.txt", params))


def render_transfer_memo(kind: str, **params: object) -> str:
    return _render(f"transfers/{kind}.txt", params).strip()


def _render(name: str, params: dict[str, object]) -> str:
    config = current_app.config
    shared = {"signature": config["SMS_SIGNATURE"], "ca_name": config["CA_NAME"],
              "service_phone": config["CA_SERVICE_PHONE"]}
    folder = os.path.join(current_app.root_path, current_app.template_folder)
    return _environment(folder).get_template(name).render({**shared, **params})


@functools.cache
def _environment(folder: str) -> Environment:
    """The templates, without the pages' HTML escaping and context (a message is plain text,
    rendered in a command as well as in a request); made once per folder."""
    return Environment(loader=FileSystemLoader(folder), undefined=StrictUndefined, autoescape=False)
