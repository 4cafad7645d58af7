"""Every SMS and e-mail text is a template (templates/sms/, templates/emails/) rendered with the
configured signature, CA name, service phone and lifetimes; an SMS carries its provider's
template code and parameters."""
from __future__ import annotations

import pathlib

import jinja2
import pytest

from notifications.messages import render_email, render_sms, render_transfer_memo
from public.sms_codes import CodePolicy

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRODUCT = ("backoffice", "public", "review", "finance", "billing", "documents", "issuance", "notifications",
           "reports", "web", "models")


@pytest.fixture
def other_ca(make_app):
    return make_app(SMS_SIGNATURE="【示例认证】", CA_NAME="示例认证中心", CA_SERVICE_PHONE="400-123-4567",
                    SMS_CODE_TTL_SECONDS=600)


def test_every_sms_template_has_a_provider_code_and_every_code_a_template(app):
    kinds = {path.stem for path in (ROOT / "templates" / "sms").glob("*.txt")}
    assert kinds == set(app.config["SMS_TEMPLATE_CODES"])


def test_a_code_sms_says_the_configured_signature_and_lifetime(other_ca):
    with other_ca.app_context():
        minutes = CodePolicy.from_config(other_ca.config).ttl_minutes
        sms = render_sms("order_signature", number="20261207U000001", code="123456", minutes=minutes)
    assert sms.text == ("【示例认证】您正在确认数字证书业务订单20261207U000001，验证码123456，10分钟内有效。"
                        "如非本人操作请忽略。")
    assert sms.template_code == other_ca.config["SMS_TEMPLATE_CODES"]["order_signature"]
    assert sms.params == {"number": "20261207U000001", "code": "123456", "minutes": "10"}, \
        "the facts only: the carrier's template has the signature and the words"


def test_an_e_mail_names_the_configured_ca_and_its_service_phone(other_ca):
    with other_ca.app_context():
        mail = render_email("review_rejected", agent_name="张伟", number="20261207U000001", reasons="印章模糊")
    assert mail.subject == "订单20261207U000001审核未通过"
    assert mail.body == ("张伟，您好：\n\n很抱歉，您的订单20261207U000001未通过审核。原因：印章模糊。\n\n"
                         "如有疑问请致电客服 400-123-4567。\n示例认证中心")


def test_the_rejection_sms_gives_the_service_phone_once(other_ca):
    with other_ca.app_context():
        sms = render_sms("review_rejected", number="20261207U000001", reasons="印章模糊")
    assert sms.text.startswith("【示例认证】很抱歉") and sms.text.count("400-123-4567") == 1


@pytest.mark.parametrize(("reason", "said"), [("请加盖公章", "说明：请加盖公章。"), ("", "")])
def test_more_materials_says_the_reviewer_s_reason_only_when_given(app, reason, said):
    with app.app_context():
        sms = render_sms("more_materials", number="N1", documents="营业执照复印件（加盖公章）", reason=reason,
                         until="2026-12-22", link="https://ca.example/m/abc")
    assert sms.text == (f"【数字证书】您的订单N1需补充材料：营业执照复印件（加盖公章）。{said}"
                        "请于2026-12-22前通过以下链接重新上传：https://ca.example/m/abc")


def test_the_invoice_mail_and_the_memo(app):
    with app.app_context():
        mail = render_email("invoice_blue", number="26110108000000000001", order="N1", total="300.00", title="某公司")
        memo = render_transfer_memo("certificate_password", number="N1", password="12345678")
    assert mail.subject == "【数字证书】电子发票 26110108000000000001"
    assert "价税合计 300.00 元" in mail.body and "发票抬头：某公司" in mail.body
    assert mail.body.endswith(app.config["CA_NAME"])
    assert memo == "数字证书N1密码12345678"


def test_a_fact_missing_from_a_message_is_an_error_not_a_gap(app):
    with app.app_context(), pytest.raises(jinja2.UndefinedError, match="code"):
        render_sms("order_signature", number="N1", minutes=5)


def test_no_message_text_is_left_in_the_code():
    """The signature was written into six modules: it is a setting now, and texts are templates."""
    found = [str(path.relative_to(ROOT)) for package in PRODUCT for path in (ROOT / package).rglob("*.py")
             if "【数字证书】" in path.read_text(encoding="utf-8") and path.name != "config.py"]
    assert found == []
