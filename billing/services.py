"""What the billing operations need from outside, chosen by configuration: the payment
provider, the invoice issuer, the seller's details and the PDF renderer."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from billing.invoice_pdf import Party
from billing.issuers import InvoiceIssuer, build_issuer
from billing.payments import build_provider
from billing.payments.interfaces import PaymentProvider
from models import Order
from reports.pdf import PdfRenderer, get_renderer
from web.errors import UserError

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

    def payment_deadline(self, order: Order) -> dt.datetime | None:
        """When a signed order's trade closes and the order is cancelled if still unpaid."""
        return order.signed_at + self.payment_window if order.signed_at else None

    @property
    def notify_url(self) -> str:
        return self.public_base_url.rstrip("/") + NOTIFY_PATH

    @property
    def renderer(self) -> PdfRenderer:
        return get_renderer()


def build_services(config: dict) -> BillingServices:
    return BillingServices(
        provider=build_provider(config),
        provider_name=config["PAYMENT_PROVIDER"],
        issuer=build_issuer(config),
        seller=Party(config["SELLER_NAME"], config["SELLER_TAXPAYER_ID"], config["SELLER_ADDRESS_PHONE"],
                     config["SELLER_BANK_ACCOUNT"]),
        drawer=config["INVOICE_DRAWER"],
        public_base_url=config["PUBLIC_BASE_URL"],
        payment_window=dt.timedelta(hours=config["PAYMENT_WINDOW_HOURS"]),
    )
