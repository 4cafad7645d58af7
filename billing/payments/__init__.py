"""Payment providers: what they promise (`interfaces`), the Alipay adapter speaking
Alipay's OpenAPI wire format (`alipay`), and the sandbox provider with its own ledger
(`sandbox`), the default."""
from __future__ import annotations

from billing.payments.interfaces import PaymentProvider


def build_provider(config: dict) -> PaymentProvider:
    """The configured provider; the sandbox unless production names Alipay and its keys."""
    if config["PAYMENT_PROVIDER"] == "alipay":
        from billing.payments.alipay import AlipayProvider

        return AlipayProvider(config["ALIPAY_APP_ID"], config["ALIPAY_PRIVATE_KEY"], config["ALIPAY_PUBLIC_KEY"],
                              config["ALIPAY_GATEWAY_URL"], seller_id=config["ALIPAY_SELLER_ID"] or None)
    from billing.payments.sandbox import SandboxProvider

    return SandboxProvider(config["SANDBOX_PAY_LEDGER"], delay_seconds=config["SANDBOX_PAY_DELAY_SECONDS"])
