"""SMS gateways: a sandbox that behaves like a carrier, and the real HTTP adapter."""
from __future__ import annotations

import secrets
import time

from flask import Flask

from notifications.http import ServiceUnavailable, SignedJsonService
from notifications.interfaces import SmsContent, SmsDeliveryError, SmsGateway
from web import services
from web.services import Implementation


class SandboxSmsGateway:
    """Delivers nowhere, like a carrier would accept a message.

    Deterministic triggers let tests and demos see the failures a real gateway has:
    a number ending in 0000 is refused (empty or unreachable number), one ending in
    9999 is accepted only after a delay, and for one ending in 8888 the gateway does not
    answer in time: after the delay it fails as the HTTP adapter does when its timeout runs
    out, and nothing was delivered (the outbox tries again later).
    """

    def __init__(self, delay_seconds: float = 0.5):
        self.delay_seconds = delay_seconds

    def send(self, phone: str, message: SmsContent) -> str:
        if phone.endswith("0000"):
            raise SmsDeliveryError("sandbox: number unreachable")
        if phone.endswith(("9999", "8888")):
            time.sleep(self.delay_seconds)
        if phone.endswith("8888"):
            raise SmsDeliveryError("sandbox: gateway unreachable: timed out")
        return "sbx-" + secrets.token_hex(8)


class HttpSmsGateway:
    """Posts JSON to the carrier's endpoint, signed with HMAC-SHA256 of the body: the phone, the
    approved template's code and its parameters, as Chinese carriers (Aliyun, Tencent Cloud) take
    an SMS. The carrier adds the registered signature and the template's fixed words."""

    def __init__(self, url: str, key: str, timeout: float = 5.0):
        self.service = SignedJsonService(url, key, timeout,
                                         missing="the HTTP SMS gateway needs SMS_HTTP_URL and SMS_HTTP_KEY")

    def send(self, phone: str, message: SmsContent) -> str:
        try:
            answer = self.service.post({"phone": phone, "template_code": message.template_code,
                                        "params": message.params})
        except ServiceUnavailable as exc:
            raise SmsDeliveryError(f"gateway {exc}") from exc
        if not answer.get("ok"):
            raise SmsDeliveryError(answer.get("error", "gateway refused the message"))
        return str(answer["id"])


def register(app: Flask) -> None:
    """SMS_GATEWAY chooses: `sandbox` (the default) delivers nowhere, so production refuses it;
    `http` needs the carrier's URL and key."""
    services.register(app, SmsGateway, "SMS_GATEWAY", {
        "http": Implementation(lambda config: HttpSmsGateway(config["SMS_HTTP_URL"], config["SMS_HTTP_KEY"]),
                               needs=("SMS_HTTP_URL", "SMS_HTTP_KEY")),
        "sandbox": Implementation(lambda config: SandboxSmsGateway(), sandbox=True),
    })
