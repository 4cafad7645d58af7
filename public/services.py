"""The services of the public home page, in the seed portal's order and words: each with its
one-line explanation, and where it is done."""
from __future__ import annotations

from dataclasses import dataclass

from web.errors import N_


@dataclass(frozen=True)
class Service:
    slug: str
    title: str  # N_: translated where shown
    explanation: str
    endpoint: str  # the public blueprint's view
    per_channel: bool = False  # its view takes the channel (an order arrives through one)


SERVICES = (
    Service("new-unit", N_("New unit certificate"), N_("Apply online for a unit certificate on a USB key (UKEY)"),
            "public.new_application", per_channel=True),
    Service("new-personal", N_("New personal certificate"),
            N_("Apply online for a personal certificate on a USB key (UKEY)"), "public.new_personal_application",
            per_channel=True),
    Service("query", N_("Order query"),
            N_("If you have applied for a digital certificate, query your orders to see how far they are"),
            "public.order_query"),
    Service("renewal", N_("Certificate renewal"),
            N_("A digital certificate is valid for one year from issue; renew it before it expires"),
            "public.renewal_start", per_channel=True),
    Service("unlock", N_("Certificate unlock"),
            N_("Forgot the password, or entered it wrongly 10 times and the USB key is locked: unlock the "
               "certificate"), "public.unlock_start", per_channel=True),
    Service("change", N_("Information change"),
            N_("When your organisation's information changes, this is the service to use"), "public.change_start",
            per_channel=True),
    Service("replacement", N_("Certificate replacement"),
            N_("When your certificate (USB key) is lost or damaged, this is the service to use"),
            "public.replacement_orders"),
    Service("revocation", N_("Certificate revocation"),
            N_("When you stop using the digital certificate, you can apply to revoke it"),
            "public.revocation_certificates"),
)
BY_SLUG = {service.slug: service for service in SERVICES}
