"""Payment providers: what they promise (`interfaces`), the Alipay adapter speaking
Alipay's OpenAPI wire format (`alipay`), and the sandbox provider with its own ledger
(`sandbox`), the default."""
from __future__ import annotations

from flask import Flask

from billing.payments.alipay import AlipayProvider
from billing.payments.interfaces import PaymentProvider
from billing.payments.sandbox import SandboxProvider
from web import services
from web.services import Implementation

CERTIFICATE_SETTINGS = ("ALIPAY_APP_CERT", "ALIPAY_ROOT_CERT", "ALIPAY_PUBLIC_CERT")


def register(app: Flask) -> None:
    """PAYMENT_PROVIDER chooses: `sandbox` (the default) takes no money, so production refuses it;
    `alipay` needs its keys, and the seller ID every notification must name."""
    services.register(app, PaymentProvider, "PAYMENT_PROVIDER", {
        "alipay": Implementation(_alipay, needs=("ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY", *_alipay_keys(app.config),
                                                 "ALIPAY_SELLER_ID")),
        "sandbox": Implementation(_sandbox, sandbox=True),
    })


def _alipay_keys(config) -> tuple[str, ...]:
    """What Alipay's key comes from: in certificate mode (any of its certificates set: one left
    empty is then a mistake to name at start) all three certificates, ALIPAY_PUBLIC_CERT holding
    Alipay's key; else ALIPAY_PUBLIC_KEY."""
    if any(config.get(name) for name in CERTIFICATE_SETTINGS):
        return CERTIFICATE_SETTINGS
    return ("ALIPAY_PUBLIC_KEY",)


def _alipay(config) -> PaymentProvider:
    """Certificate mode when ALIPAY_APP_CERT, ALIPAY_ROOT_CERT and ALIPAY_PUBLIC_CERT (PEM) are set:
    Alipay's key is then the one of ALIPAY_PUBLIC_CERT."""
    return AlipayProvider(config["ALIPAY_APP_ID"], config["ALIPAY_PRIVATE_KEY"], config["ALIPAY_PUBLIC_KEY"] or None,
                          config["ALIPAY_GATEWAY_URL"], seller_id=config["ALIPAY_SELLER_ID"],
                          app_cert=config["ALIPAY_APP_CERT"] or None,
                          alipay_root_cert=config["ALIPAY_ROOT_CERT"] or None,
                          alipay_public_cert=config["ALIPAY_PUBLIC_CERT"] or None)


def _sandbox(config) -> PaymentProvider:
    return SandboxProvider(config["SANDBOX_PAY_LEDGER"], delay_seconds=config["SANDBOX_PAY_DELAY_SECONDS"])
