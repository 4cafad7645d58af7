"""The service registry: every external service registered by its interface, chosen by its
setting, made once per app on its first lookup, found one way; tests put in their own."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Protocol

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from billing.issuers import InvoiceIssuer, SandboxIssuer, TaxPlatformIssuer
from billing.payments.alipay import AlipayProvider
from billing.payments.interfaces import PaymentProvider
from billing.payments.sandbox import SandboxProvider
from notifications.gateways import HttpSmsGateway, SandboxSmsGateway
from notifications.interfaces import MailGateway, SmsGateway, TransferGateway
from notifications.mail import SandboxMailer, SmtpMailer
from notifications.transfers import HttpTransferGateway, SandboxTransferGateway
from review.identity import HttpVerifier, IdentityVerifier, SandboxVerifier
from tests.conftest import PRODUCTION
from web import services
from web.services import Implementation, find_service

ROOT = Path(__file__).resolve().parents[2]

# Each service: its interface, the setting that chooses, and the class of each implementation.
SERVICES = [
    (PaymentProvider, "PAYMENT_PROVIDER", {"sandbox": SandboxProvider, "alipay": AlipayProvider}),
    (InvoiceIssuer, "INVOICE_ISSUER", {"sandbox": SandboxIssuer, "tax_platform": TaxPlatformIssuer}),
    (SmsGateway, "SMS_GATEWAY", {"sandbox": SandboxSmsGateway, "http": HttpSmsGateway}),
    (MailGateway, "MAIL_GATEWAY", {"sandbox": SandboxMailer, "smtp": SmtpMailer}),
    (TransferGateway, "BANK_TRANSFER_GATEWAY", {"sandbox": SandboxTransferGateway, "http": HttpTransferGateway}),
    (IdentityVerifier, "IDENTITY_VERIFIER", {"sandbox": SandboxVerifier, "http": HttpVerifier}),
]


def test_the_sandboxes_by_default_each_made_once(app):
    with app.app_context():
        for interface, _setting, classes in SERVICES:
            assert type(find_service(interface)) is classes["sandbox"]
            assert find_service(interface) is find_service(interface)


def test_the_real_services_as_their_settings_choose(make_app):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = {"ALIPAY_PRIVATE_KEY": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()).decode(),
            "ALIPAY_PUBLIC_KEY": key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()}
    real = make_app(**{**PRODUCTION, "APP_ENV": "test", **keys})
    with real.app_context():
        for interface, setting, classes in SERVICES:
            assert type(find_service(interface)) is classes[PRODUCTION[setting]]
        mailer = find_service(MailGateway)
        assert (mailer.host, mailer.port, mailer.starttls, mailer.sender) == ("smtp.example", 587, True,
                                                                              real.config["MAIL_FROM"])


@pytest.mark.parametrize(("overrides", "refusal"), [
    ({"SMS_GATEWAY": "carrier"}, "SMS_GATEWAY=carrier is none of http, sandbox"),
    ({"IDENTITY_VERIFIER": "http"}, "IDENTITY_HTTP_URL is empty and IDENTITY_VERIFIER=http needs it"),
    ({"PAYMENT_PROVIDER": "alipay"}, "ALIPAY_SELLER_ID is empty and PAYMENT_PROVIDER=alipay needs it"),
])
def test_a_service_that_cannot_be_made_stops_the_app_at_start_in_any_environment(make_app, overrides, refusal):
    with pytest.raises(RuntimeError, match=re.escape(refusal)):
        make_app(**overrides)


def test_no_module_finds_a_service_another_way():
    """Services are kept and found by web.services alone: no module outside the web base reads
    or stores anything on app.extensions (as the gateways and the verifier once were)."""
    offenders = [str(path.relative_to(ROOT))
                 for package in ("backoffice", "public", "review", "finance", "billing", "documents", "issuance",
                                 "notifications", "reports", "models")
                 for path in sorted((ROOT / package).rglob("*.py"))
                 if re.search(r"\.extensions\s*(\[|\.get\b|\.setdefault\b|\.pop\b)", path.read_text())]
    assert offenders == []


# --- the registry itself, on a bare app ------------------------------------------------------


class Clock(Protocol):
    def now(self) -> str: ...


class Fixed:
    def __init__(self, at: str):
        self.at = at

    def now(self) -> str:
        return self.at


@pytest.fixture
def bare():
    """A bare app providing Clock by CLOCK ("fixed" by default, or the sandbox "test"), counting makes."""
    app = Flask(__name__)
    app.config.update(CLOCK="fixed", CLOCK_AT="10:00")
    made = []

    def make(config):
        time.sleep(0.05)  # slow enough for lookups at once to meet
        made.append(config["CLOCK"])
        return Fixed(config["CLOCK_AT"])

    services.register(app, Clock, "CLOCK", {"fixed": Implementation(make, needs=("CLOCK_AT",)),
                                            "test": Implementation(make, sandbox=True)})
    app.made = made
    return app


def test_a_service_is_made_on_its_first_lookup_with_the_final_config(bare):
    assert bare.made == []
    bare.config["CLOCK_AT"] = "11:00"  # a test's override after the app was set up
    with bare.app_context():
        assert find_service(Clock).now() == "11:00"
        assert find_service(Clock) is find_service(Clock)
    assert bare.made == ["fixed"]


def test_lookups_at_once_make_one_service(bare):
    found = []

    def look_up():
        with bare.app_context():
            found.append(find_service(Clock))

    threads = [threading.Thread(target=look_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bare.made == ["fixed"] and len({id(service) for service in found}) == 1


def test_a_test_puts_in_its_own_service_and_the_app_finds_its_own_after(bare):
    with bare.app_context():
        with services.service_replaced(bare, Clock, Fixed("12:00")):
            assert find_service(Clock).now() == "12:00"
        assert find_service(Clock).now() == "10:00"
        with services.service_replaced(bare, Clock, Fixed("13:00")):
            assert find_service(Clock).now() == "13:00"
        assert find_service(Clock).now() == "10:00"
    assert bare.made == ["fixed"]


def test_an_interface_nobody_registered_is_a_lookup_error(bare):
    class Courier(Protocol):
        pass

    with bare.app_context(), pytest.raises(LookupError, match="Courier"):
        find_service(Courier)
    with pytest.raises(LookupError, match="Courier"), services.service_replaced(bare, Courier, object()):
        pass
    with pytest.raises(ValueError, match="registered already"):
        services.register(bare, Clock, "CLOCK", {})


def test_check_names_each_setting_and_refuses_a_sandbox_in_production_only(bare):
    services.check(bare, production=True)
    bare.config["CLOCK"] = "test"
    services.check(bare, production=False)
    with pytest.raises(RuntimeError, match="CLOCK=test is a sandbox"):
        services.check(bare, production=True)
    bare.config.update(CLOCK="fixed", CLOCK_AT="")
    with pytest.raises(RuntimeError, match="CLOCK_AT is empty and CLOCK=fixed needs it"):
        services.check(bare, production=False)
