"""What the billing operations are handed: the payment provider, the invoice issuer and the
document store (which keeps the invoice PDFs), which the service registry finds (web.services,
the one way to find them), beside billing's settings
(the seller's details, the drawer, the public base URL, the payment window) and the PDF renderer.

The operations take this bundle as an argument rather than looking services up themselves: the
caller decides, once per request or command, and may hand them another provider (the demo data
replays its history with a sandbox provider on its own clock)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from billing.invoice_pdf import Party
from billing.issuers import InvoiceIssuer
from billing.payments.interfaces import PaymentProvider
from documents.storage import DocumentStore
from models import Order
from reports.pdf import PdfRenderer, get_renderer
from web.errors import UserError
from web.services import find_service

NOTIFY_PATH = "/pay/notify"


class BillingError(UserError):
    """An action the order's payment or invoice state does not allow."""


@dataclass
class BillingServices:
    provider: PaymentProvider
    provider_name: str
    issuer: InvoiceIssuer
    seller: Party
    drawer: str
    public_base_url: str
    payment_window: dt.timedelta
    store: DocumentStore

    def payment_deadline(self, order: Order) -> dt.datetime | None:
        """When a signed order's trade closes and the order is cancelled if still unpaid."""
        return order.signed_at + self.payment_window if order.signed_at else None

    @property
    def notify_url(self) -> str:
        return self.public_base_url.rstrip("/") + NOTIFY_PATH

    @property
    def renderer(self) -> PdfRenderer:
        return get_renderer()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], provider: PaymentProvider,
                    issuer: InvoiceIssuer, store: DocumentStore) -> BillingServices:
        return cls(
            provider=provider,
            provider_name=config["PAYMENT_PROVIDER"],
            issuer=issuer,
            seller=Party(config["SELLER_NAME"], config["SELLER_TAXPAYER_ID"], config["SELLER_ADDRESS_PHONE"],
                         config["SELLER_BANK_ACCOUNT"]),
            drawer=config["INVOICE_DRAWER"],
            public_base_url=config["PUBLIC_BASE_URL"],
            payment_window=dt.timedelta(hours=config["PAYMENT_WINDOW_HOURS"]),
            store=store,
        )


def current_services() -> BillingServices:
    """The current app's provider, issuer and store, as the registry finds them, with its billing settings."""
    return BillingServices.from_config(current_app.config, find_service(PaymentProvider), find_service(InvoiceIssuer),
                                       find_service(DocumentStore))
