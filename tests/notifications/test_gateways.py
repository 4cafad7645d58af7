"""SMS gateways: the sandbox carrier, and the HTTP adapter posting the provider's template code
with its parameters, as Chinese carriers take an SMS."""
from __future__ import annotations

import pytest

from notifications import outbox
from notifications.delivery import current_gateways, current_policy, deliver_pending
from notifications.gateways import HttpSmsGateway, SandboxSmsGateway
from notifications.interfaces import SmsContent, SmsDeliveryError
from notifications.messages import render_sms
from tests.fake_service import signed_json_service
from web import edge
from web.extensions import db

KEY = "carrier-key-for-tests"
PASSWORD_SMS = SmsContent("certificate_password", "SMS_000007", {"number": "20261207U000001", "password": "12345678"},
                          "【数字证书】订单20261207U000001的证书密码为12345678，请妥善保管，勿告知他人。")


def _carrier(request: dict) -> dict:
    """Answers like a carrier: an empty number is refused."""
    if request["phone"].endswith("0000"):
        return {"ok": False, "error": "isv.MOBILE_NUMBER_ILLEGAL"}
    return {"ok": True, "id": "BIZ-1"}


@pytest.fixture
def carrier():
    with signed_json_service(KEY, _carrier, "/sms") as (url, received):
        yield url, received


def test_http_gateway_posts_the_template_code_and_parameters(carrier):
    url, received = carrier
    assert HttpSmsGateway(url, KEY).send("13700006666", PASSWORD_SMS) == "BIZ-1"
    assert received == [{"phone": "13700006666", "template_code": "SMS_000007",
                         "params": {"number": "20261207U000001", "password": "12345678"}}]


def test_http_gateway_reports_a_refusal_and_a_bad_signature(carrier):
    url, _ = carrier
    with pytest.raises(SmsDeliveryError, match="MOBILE_NUMBER_ILLEGAL"):
        HttpSmsGateway(url, KEY).send("13700000000", PASSWORD_SMS)
    with pytest.raises(SmsDeliveryError, match="HTTP 403"):
        HttpSmsGateway(url, "wrong-key").send("13700006666", PASSWORD_SMS)


def test_an_sms_queued_goes_to_the_carrier_with_the_configured_code(make_app, db_session, carrier):
    url, received = carrier
    app = make_app(SMS_GATEWAY="http", SMS_HTTP_URL=url, SMS_HTTP_KEY=KEY,
                   SMS_TEMPLATE_CODES={"refund_succeeded": "SMS_778899"})
    with app.app_context():
        message = outbox.queue_sms(db.session, "13700006666",
                                   render_sms("refund_succeeded", number="20261207U000001", amount="300.00"))
        edge.commit()
        deliver_pending(db.session, current_gateways(), current_policy())
        assert (message.status, message.provider_ref, message.template_code) == ("sent", "BIZ-1", "SMS_778899")
        assert message.text == ("【数字证书】您的订单20261207U000001的款项300.00元已按原支付方式退回，"
                                "一般1-3个工作日到账。")
    assert received == [{"phone": "13700006666", "template_code": "SMS_778899",
                         "params": {"number": "20261207U000001", "amount": "300.00"}}]


def test_sandbox_refuses_a_number_ending_0000():
    with pytest.raises(SmsDeliveryError, match="unreachable"):
        SandboxSmsGateway().send("13700000000", PASSWORD_SMS)
    assert SandboxSmsGateway().send("13700006666", PASSWORD_SMS).startswith("sbx-")
