"""The Alipay adapter against a local fake gateway that speaks Alipay's wire format and
checks signatures with its own code, not ours."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import socket
import urllib.parse
import zipfile

import pytest
from alipay import AliPay as SdkAliPay
from alipay import DCAliPay as SdkDCAliPay
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from billing.payments.alipay import AlipayProvider, cents_to_yuan, yuan_to_cents
from billing.payments.interfaces import (
    BadNotification,
    BadSignature,
    ProviderError,
    RefundQuery,
    RefundState,
    TradeState,
)
from tests.fake_service import file_service, local_service

APP_ID = "2021000123456789"
SELLER_ID = "2088102177846880"


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def content(params: dict[str, str], *left_out: str) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in left_out and params[k])


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for name in ("app", "alipay", "stranger")}


class FakeAlipay:
    """Alipay's side: trades, refunds, and what it received."""

    def __init__(self, app_key: rsa.RSAPublicKey, alipay_key: rsa.RSAPrivateKey):
        self.app_key = app_key
        self.alipay_key = alipay_key
        self.trades: dict[str, dict] = {}
        self.refunds: dict[tuple[str, str], str] = {}
        self.received: list[dict[str, str]] = []
        self.spoil_answer_signature = False

    def answer(self, params: dict[str, str]) -> str:
        self.received.append(params)
        node = params["method"].replace(".", "_") + "_response"
        try:
            self.app_key.verify(base64.b64decode(params["sign"]), content(params, "sign").encode(),
                                padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return self.signed(node, {"code": "40002", "msg": "Invalid Arguments",
                                      "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"})
        biz = json.loads(params["biz_content"])
        method = params["method"]
        handler = getattr(self, method.removeprefix("alipay.trade.").replace(".", "_"), None) or \
            getattr(self, method.split(".")[-1])
        return self.signed(node, handler(biz, params))

    def signed(self, node: str, payload: dict) -> str:
        # Spaced differently from how we would serialise it: the adapter must verify the exact text.
        raw = json.dumps(payload, ensure_ascii=False, separators=(", ", ": "))
        signature = sign(self.alipay_key, raw + ("x" if self.spoil_answer_signature else ""))
        cert_sn = f'"alipay_cert_sn": "{self.cert_sn}", ' if self.cert_sn else ""
        return f'{{"{node}": {raw}, {cert_sn}"sign": "{signature}"}}'

    cert_sn: str | None = None  # certificate mode: the SN of the certificate whose key signs the answers

    def precreate(self, biz: dict, params: dict) -> dict:
        self.trades[biz["out_trade_no"]] = {"total_amount": biz["total_amount"], "status": "WAIT_BUYER_PAY",
                                            "subject": biz["subject"], "notify_url": params["notify_url"]}
        return {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"],
                "qr_code": "https://qr.alipay.com/bax00000000000000000"}

    def query(self, biz: dict, params: dict) -> dict:
        trade = self.trades.get(biz["out_trade_no"])
        if trade is None or "trade_no" not in trade:
            return not_exist()
        return {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"],
                "trade_no": trade["trade_no"], "trade_status": trade["status"],
                "total_amount": trade["total_amount"], "send_pay_date": trade["gmt_payment"]}

    def refund(self, biz: dict, params: dict) -> dict:
        trade = self.trades[biz["out_trade_no"]]
        key = (biz["out_trade_no"], biz["out_request_no"])
        fund_change = "N" if key in self.refunds else "Y"
        self.refunds.setdefault(key, biz["refund_amount"])
        total = sum(float(amount) for (out, _), amount in self.refunds.items() if out == biz["out_trade_no"])
        return {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"], "out_trade_no": biz["out_trade_no"],
                "fund_change": fund_change, "refund_fee": f"{total:.2f}"}

    def fastpay_refund_query(self, biz: dict, params: dict) -> dict:
        """As Alipay answers: the refund's data if it was made, only the request's numbers if not."""
        trade = self.trades.get(biz["out_trade_no"])
        if trade is None or "trade_no" not in trade:
            return not_exist()
        answer = {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"],
                  "out_trade_no": biz["out_trade_no"], "out_request_no": biz["out_request_no"]}
        amount = self.refunds.get((biz["out_trade_no"], biz["out_request_no"]))
        if amount is None:
            return answer
        return {**answer, "total_amount": trade["total_amount"], "refund_amount": amount,
                **({} if self.old_refund_answers else {"refund_status": "REFUND_SUCCESS"})}

    old_refund_answers = False

    def close(self, biz: dict, params: dict) -> dict:
        trade = self.trades.get(biz["out_trade_no"])
        if trade is None:
            return not_exist()
        trade["status"] = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"]}

    def pay(self, out_trade_no: str) -> dict[str, str]:
        """The buyer pays; returns the notification Alipay would post."""
        trade = self.trades[out_trade_no]
        trade.update(status="TRADE_SUCCESS", trade_no="2024061022001400001234567890", gmt_payment="2024-06-10 12:00:05")
        params = {"notify_time": "2024-06-10 12:00:06", "notify_type": "trade_status_sync",
                  "notify_id": "2024061000222120006001234567890", "app_id": APP_ID, "seller_id": SELLER_ID,
                  "charset": "utf-8",
                  "version": "1.0", "trade_no": trade["trade_no"], "out_trade_no": out_trade_no,
                  "trade_status": "TRADE_SUCCESS", "total_amount": trade["total_amount"],
                  "subject": trade["subject"], "gmt_payment": trade["gmt_payment"], "sign_type": "RSA2"}
        params["sign"] = sign(self.alipay_key, content(params, "sign", "sign_type"))
        return params


def not_exist() -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}


def fake_gateway(alipay: FakeAlipay):
    def respond(body: bytes, _headers: dict) -> tuple[int, str, bytes]:
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        return 200, "text/html;charset=utf-8", alipay.answer(params).encode()

    return local_service(respond, "/gateway.do")


@pytest.fixture
def alipay(keys):
    return FakeAlipay(keys["app"].public_key(), keys["alipay"])


@pytest.fixture
def gateway(alipay):
    with fake_gateway(alipay) as url:
        yield url


@pytest.fixture
def provider(keys, gateway):
    return AlipayProvider(APP_ID, private_pem(keys["app"]), public_pem(keys["alipay"]), gateway_url=gateway, timeout=5,
                          seller_id=SELLER_ID)


def test_precreate_sends_signed_common_params(provider, alipay):
    qr = provider.precreate("CA20240610001", 1, "证书申请 · 单位证书", "https://ca.example/pay/notify")

    assert qr.qr_code == "https://qr.alipay.com/bax00000000000000000"
    sent = alipay.received[0]
    assert {k: sent[k] for k in ("app_id", "method", "format", "charset", "sign_type", "version", "notify_url")} == {
        "app_id": APP_ID, "method": "alipay.trade.precreate", "format": "JSON", "charset": "utf-8",
        "sign_type": "RSA2", "version": "1.0", "notify_url": "https://ca.example/pay/notify"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", sent["timestamp"])
    assert json.loads(sent["biz_content"]) == {
        "out_trade_no": "CA20240610001", "total_amount": "0.01", "subject": "证书申请 · 单位证书"}


def test_request_signed_with_another_key_is_refused_by_alipay(keys, gateway):
    impostor = AlipayProvider(APP_ID, private_pem(keys["stranger"]), public_pem(keys["alipay"]), gateway_url=gateway)

    with pytest.raises(ProviderError) as refused:
        impostor.precreate("CA1", 100, "order", "https://ca.example/notify")

    assert (refused.value.code, refused.value.sub_code) == ("40002", "isv.invalid-signature")


def test_answer_with_a_wrong_signature_is_refused(provider, alipay):
    alipay.spoil_answer_signature = True

    with pytest.raises(ProviderError, match="signature does not verify"):
        provider.precreate("CA1", 100, "order", "https://ca.example/notify")


def test_query_reads_the_trade_in_cents(provider, alipay):
    provider.precreate("CA2", 30000, "order", "https://ca.example/notify")
    assert provider.query("CA2").status is TradeState.NOT_FOUND

    alipay.pay("CA2")
    status = provider.query("CA2")

    assert status.status is TradeState.TRADE_SUCCESS
    assert status.amount_cents == 30000
    assert status.trade_no == "2024061022001400001234567890"
    assert status.paid_at == dt.datetime(2024, 6, 10, 4, 0, 5, tzinfo=dt.UTC)


def test_refund_is_idempotent_per_request_number(provider, alipay):
    provider.precreate("CA3", 30000, "order", "https://ca.example/notify")
    alipay.pay("CA3")

    first = provider.refund("CA3", 10000, "CA3-R1", "rejected")
    again = provider.refund("CA3", 10000, "CA3-R1", "rejected")

    assert first == again
    assert first.refunded_total_cents == 10000
    assert list(alipay.refunds) == [("CA3", "CA3-R1")]
    assert json.loads(alipay.received[-1]["biz_content"])["refund_amount"] == "100.00"


@pytest.mark.parametrize("old_answers", [False, True], ids=["refund_status", "no-refund_status"])
def test_refund_query_settles_a_refund_whose_answer_was_lost(provider, alipay, old_answers):
    alipay.old_refund_answers = old_answers
    provider.precreate("CA3Q", 30000, "order", "https://ca.example/notify")
    assert provider.query_refund("CA3Q", "CA3Q-R1").state is RefundState.NOT_REFUNDED  # no trade yet
    alipay.pay("CA3Q")
    assert provider.query_refund("CA3Q", "CA3Q-R1") == RefundQuery(
        "CA3Q", "CA3Q-R1", RefundState.NOT_REFUNDED, None, "2024061022001400001234567890")

    provider.refund("CA3Q", 30000, "CA3Q-R1", "rejected")  # suppose its answer never came back
    found = provider.query_refund("CA3Q", "CA3Q-R1")

    assert found == RefundQuery("CA3Q", "CA3Q-R1", RefundState.REFUNDED, 30000, "2024061022001400001234567890")
    sent = alipay.received[-1]
    assert sent["method"] == "alipay.trade.fastpay.refund.query"
    assert json.loads(sent["biz_content"]) == {"out_trade_no": "CA3Q", "out_request_no": "CA3Q-R1"}


@pytest.mark.parametrize(("answer", "expected"), [
    ({"refund_status": "REFUND_FAILED", "refund_amount": "300.00"}, RefundState.NOT_REFUNDED),
    ({"out_request_no": "CA3Q-R9", "refund_amount": "300.00"}, "another refund"),
    ({"refund_amount": "3e2"}, "cannot read"),
])
def test_refund_query_answers_we_read_warily(provider, alipay, monkeypatch, answer, expected):
    monkeypatch.setattr(alipay, "fastpay_refund_query", lambda biz, params: {
        "code": "10000", "msg": "Success", "out_trade_no": "CA3Q", "out_request_no": "CA3Q-R1", **answer})
    if isinstance(expected, RefundState):
        assert provider.query_refund("CA3Q", "CA3Q-R1").state is expected
    else:
        with pytest.raises(ProviderError, match=expected):
            provider.query_refund("CA3Q", "CA3Q-R1")


def test_close_an_unpaid_trade_and_one_alipay_never_saw(provider, alipay):
    provider.precreate("CA4", 100, "order", "https://ca.example/notify")

    provider.close("CA4")
    provider.close("never-scanned")

    assert alipay.trades["CA4"]["status"] == "TRADE_CLOSED"


def test_notification_with_a_good_signature_is_read(provider, alipay):
    provider.precreate("CA5", 1, "order", "https://ca.example/notify")

    notification = provider.verify_notification(alipay.pay("CA5"))

    assert notification.out_trade_no == "CA5"
    assert notification.status is TradeState.TRADE_SUCCESS
    assert notification.amount_cents == 1
    assert notification.notify_id == "2024061000222120006001234567890"
    assert notification.paid_at == dt.datetime(2024, 6, 10, 4, 0, 5, tzinfo=dt.UTC)


def sdk_signed(params: dict[str, str], alipay_key: rsa.RSAPrivateKey, app_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """A notification signed by python-alipay-sdk (its own string to sign, its own RSA code),
    in Alipay's place: every parameter but sign_type, empty ones too."""
    sdk = SdkAliPay(APP_ID, app_private_key_string=private_pem(alipay_key),
                    alipay_public_key_string=public_pem(app_key))
    signed = urllib.parse.parse_qs(sdk.sign_data(dict(params)), keep_blank_values=True)
    return {**{k: v[0] for k, v in signed.items()}, "sign_type": "RSA2"}


def test_notification_with_an_empty_parameter_signed_by_the_sdk_is_read(provider, alipay, keys):
    provider.precreate("CA5E", 1, "order", "https://ca.example/notify")
    posted = alipay.pay("CA5E")
    params = sdk_signed({**{k: v for k, v in posted.items() if k not in ("sign", "sign_type")},
                         "passback_params": "", "body": ""}, keys["alipay"], keys["app"])
    assert params["passback_params"] == ""

    notification = provider.verify_notification(params)

    assert (notification.out_trade_no, notification.amount_cents) == ("CA5E", 1)
    # The empty parameters are signed: leaving one out, or filling it in, breaks the signature.
    with pytest.raises(BadSignature):
        provider.verify_notification({k: v for k, v in params.items() if k != "passback_params"})
    with pytest.raises(BadSignature):
        provider.verify_notification({**params, "passback_params": "x"})


def test_sdk_verifies_the_notifications_we_sign(keys):
    from billing.payments.alipay import load_private_key, sign_notification

    signed = sign_notification({"app_id": APP_ID, "out_trade_no": "CA5S", "passback_params": "",
                                "trade_status": "TRADE_SUCCESS"}, load_private_key(private_pem(keys["alipay"])))
    sdk = SdkAliPay(APP_ID, app_private_key_string=private_pem(keys["app"]),
                    alipay_public_key_string=public_pem(keys["alipay"]))
    signature = signed.pop("sign")

    assert sdk.verify(signed, signature)


@pytest.mark.parametrize("change", [
    {"total_amount": "0.02"},
    {"trade_status": "TRADE_FINISHED"},
    {"sign": base64.b64encode(b"\0" * 256).decode()},
    {"sign": "not base64!"},
    {"sign": ""},
])
def test_changed_notification_fails_verification(provider, alipay, change):
    provider.precreate("CA6", 1, "order", "https://ca.example/notify")

    with pytest.raises(BadSignature):
        provider.verify_notification({**alipay.pay("CA6"), **change})


def test_notification_signed_by_someone_else_fails(provider, alipay, keys):
    provider.precreate("CA7", 1, "order", "https://ca.example/notify")
    params = alipay.pay("CA7")
    params["sign"] = sign(keys["stranger"], content(params, "sign", "sign_type"))

    with pytest.raises(BadSignature):
        provider.verify_notification(params)


@pytest.mark.parametrize("change", [{"out_trade_no": None}, {"total_amount": "1.001"}, {"app_id": "2021000999"},
                                    {"seller_id": "2088000000000999"}, {"seller_id": None}])
def test_signed_notification_we_cannot_use_is_refused(provider, alipay, keys, change):
    provider.precreate("CA8", 1, "order", "https://ca.example/notify")
    params = {k: v for k, v in {**alipay.pay("CA8"), **change}.items() if v is not None}
    params["sign"] = sign(keys["alipay"], content(params, "sign", "sign_type"))

    with pytest.raises(BadNotification) as refused:
        provider.verify_notification(params)

    assert not isinstance(refused.value, BadSignature)


@pytest.mark.parametrize(("yuan", "cents"), [("0.01", 1), ("300.00", 30000), ("0.10", 10), ("12345.67", 1234567)])
def test_amounts_convert_exactly(yuan, cents):
    assert yuan_to_cents(yuan) == cents
    assert cents_to_yuan(cents) == yuan


@pytest.mark.parametrize("yuan", ["0.001", "-1.00", "1e3", " 1.00", "NaN", ""])
def test_odd_amounts_are_refused(yuan):
    with pytest.raises(ValueError):
        yuan_to_cents(yuan)


def test_unreachable_gateway_is_a_provider_error(keys):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    provider = AlipayProvider(APP_ID, private_pem(keys["app"]), public_pem(keys["alipay"]),
                              gateway_url=f"http://127.0.0.1:{port}/gateway.do", timeout=2)

    with pytest.raises(ProviderError) as failed:
        provider.query("CA9")

    assert failed.value.code is None


# --- the trade bill: alipay.data.dataservice.bill.downloadurl.query, then a ZIP by GET ------------

BILL_METHOD = "alipay.data.dataservice.bill.downloadurl.query"
BILL_PREFIX = "20880000000000000156_20240610"
BILL_TEXT = (
    "#支付宝业务明细查询\n#账号：[20880000000000000156]\n"
    "#-----------------------------------------业务明细列表----------------------------------------\n"
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
    "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,"
    "商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n"
    "2024061022001400001234567890\t,20240610U000001\t,交易\t,证书申请 · 单位证书\t,2024-06-10 12:00:00\t,"
    "2024-06-10 12:00:05\t,\t,\t,\t,\t,张**\t,300.00\t,300.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,"
    "0.00\t,0.00\t,\t\n"
    "#-----------------------------------------业务明细列表结束------------------------------------\n"
    "#交易合计：1笔，商家实收共300.00元\n#退款合计：0笔，商家实收共0.00元\n#导出时间：[2024年06月11日 09:00:00]\n"
)
SUMMARY_TEXT = "#支付宝业务汇总查询\n门店编号,门店名称,交易订单总笔数,退款订单总笔数\n合计,,1,0\n"


class GbkZipInfo(zipfile.ZipInfo):
    """A member named in GBK without the UTF-8 flag, as Alipay's archives are."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits


def bill_zip(members: dict[str, str], *, gbk_names: bool = True) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            info = GbkZipInfo(name) if gbk_names else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("gbk"))
    return out.getvalue()


def alipay_bill_zip(text: str = BILL_TEXT, **options) -> bytes:
    return bill_zip({f"{BILL_PREFIX}_业务明细.csv": text, f"{BILL_PREFIX}_业务明细(汇总).csv": SUMMARY_TEXT}, **options)


class FakeAlipayWithBills(FakeAlipay):
    """Alipay that also hands out the download URL of a day's bill, for the dates in ``bill_urls``."""

    def __init__(self, *args):
        super().__init__(*args)
        self.bill_urls: dict[str, str] = {}

    def query(self, biz: dict, params: dict) -> dict:
        if params["method"] != BILL_METHOD:
            return super().query(biz, params)
        if biz.get("bill_type") != "trade" or biz.get("bill_date") not in self.bill_urls:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist",
                    "sub_msg": "账单不存在"}
        return {"code": "10000", "msg": "Success", "bill_download_url": self.bill_urls[biz["bill_date"]]}


@pytest.fixture
def bill_files():
    """Path → (HTTP status, body) on the download host; filled by the test."""
    return {}


@pytest.fixture
def bills(keys, bill_files):
    alipay = FakeAlipayWithBills(keys["app"].public_key(), keys["alipay"])
    with fake_gateway(alipay) as gateway, file_service(bill_files) as (download_host, _requested):
        provider = AlipayProvider(APP_ID, private_pem(keys["app"]), public_pem(keys["alipay"]), gateway_url=gateway,
                                  timeout=5)
        yield provider, alipay, download_host


def offer_bill(bills, bill_files, data: bytes, status: int = 200, day: str = "2024-06-10") -> None:
    _, alipay, host = bills
    bill_files[f"/downloadBill/{day}.zip"] = (status, data)
    # Like Alipay's: a signed, short-lived URL with a query string.
    alipay.bill_urls[day] = f"{host}/downloadBill/{day}.zip?bizType=trade&fileId=1&timestamp=1718000000&sign=abc"


@pytest.mark.parametrize("gbk_names", [True, False], ids=["gbk-names", "utf8-names"])
def test_download_bill_reads_the_detail_csv_of_the_zip_in_gbk(bills, bill_files, gbk_names):
    provider, alipay, _ = bills
    offer_bill(bills, bill_files, alipay_bill_zip(gbk_names=gbk_names))

    text = provider.download_bill(dt.date(2024, 6, 10))

    assert text == BILL_TEXT
    assert "证书申请 · 单位证书" in text  # decoded from GBK, not mojibake
    sent = alipay.received[-1]
    assert sent["method"] == BILL_METHOD
    assert json.loads(sent["biz_content"]) == {"bill_type": "trade", "bill_date": "2024-06-10"}


def test_downloaded_bill_parses_for_reconciliation(bills, bill_files):
    from billing.reconciliation import parse_bill

    provider, _, _ = bills
    offer_bill(bills, bill_files, alipay_bill_zip())

    [row] = parse_bill(provider.download_bill(dt.date(2024, 6, 10)))

    assert (row.trade_no, row.out_trade_no, row.kind, row.amount_cents) == (
        "2024061022001400001234567890", "20240610U000001", "trade", 30000)
    assert row.finished_at == dt.datetime(2024, 6, 10, 4, 0, 5, tzinfo=dt.UTC)


def test_a_day_without_a_bill_is_alipays_business_error(bills):
    provider, _, _ = bills

    with pytest.raises(ProviderError) as refused:
        provider.download_bill(dt.date(2024, 6, 9))

    assert (refused.value.code, refused.value.sub_code) == ("40004", "isp.bill_not_exist")


@pytest.mark.parametrize(("status", "data", "message"), [
    (404, b"gone", "HTTP 404"),
    (200, b"<html>not a zip</html>", "cannot be read"),
    (200, bill_zip({f"{BILL_PREFIX}_业务明细(汇总).csv": SUMMARY_TEXT}), "one \\*_业务明细.csv"),
    (200, bill_zip({f"{BILL_PREFIX}_业务明细.csv": "a,b\n", f"x/{BILL_PREFIX}_业务明细.csv": "c\n"}), "one"),
])
def test_a_bad_download_is_a_provider_error(bills, bill_files, status, data, message):
    provider, _, _ = bills
    offer_bill(bills, bill_files, data, status=status)

    with pytest.raises(ProviderError, match=message):
        provider.download_bill(dt.date(2024, 6, 10))


def test_a_detail_file_that_is_not_gbk_is_a_provider_error(bills, bill_files):
    provider, _, _ = bills
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"{BILL_PREFIX}_业务明细.csv", b"\xff\xff\xff")
    offer_bill(bills, bill_files, out.getvalue())

    with pytest.raises(ProviderError, match="not GBK"):
        provider.download_bill(dt.date(2024, 6, 10))


def test_a_bill_url_that_is_not_http_is_refused(bills, tmp_path):
    provider, alipay, _ = bills
    local = tmp_path / "bill.zip"
    local.write_bytes(alipay_bill_zip())
    alipay.bill_urls["2024-06-10"] = local.as_uri()

    with pytest.raises(ProviderError, match="not http"):
        provider.download_bill(dt.date(2024, 6, 10))


def test_an_unreachable_download_host_is_a_provider_error(bills):
    provider, alipay, _ = bills
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    alipay.bill_urls["2024-06-10"] = f"http://127.0.0.1:{port}/downloadBill/2024-06-10.zip"

    with pytest.raises(ProviderError) as failed:
        provider.download_bill(dt.date(2024, 6, 10))

    assert failed.value.code is None


def test_precreate_asks_alipay_to_close_the_trade_at_the_deadline(provider, alipay):
    deadline = dt.datetime(2024, 6, 11, 4, 0, 5, tzinfo=dt.UTC)  # 12:00:05 in Beijing
    provider.precreate("CA20240610002", 30000, "证书申请", "https://ca.example/pay/notify", expires_at=deadline)
    assert json.loads(alipay.received[0]["biz_content"])["time_expire"] == "2024-06-11 12:00:05"


# --- certificate mode (公钥证书) ---------------------------------------------------------------

def ca_name(common_name: str) -> x509.Name:
    # Encoded C, O, OU, CN as Alipay's certificates are: its SN reads CN=…,OU=…,O=…,C=….
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ant Financial"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certification Authority"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(subject: x509.Name, key, issuer: x509.Name, issuer_key, serial: int,
                algorithm=hashes.SHA256()) -> x509.Certificate:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(serial).not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
            .sign(issuer_key, algorithm))


def pem(*certs: x509.Certificate) -> str:
    # Alipay's root certificate file: the chain's certificates with a blank line between them.
    return "\n".join(cert.public_bytes(serialization.Encoding.PEM).decode() for cert in certs)


@pytest.fixture(scope="module")
def certs(keys) -> dict[str, str]:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    old_root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_root_key = ec.generate_private_key(ec.SECP256R1())  # stands for the chain's SM2 root, left out of the SN
    root = certificate(ca_name("Ant Financial Certification Authority R2"), root_key,
                       ca_name("Ant Financial Certification Authority R2"), root_key, 0x2F4D5C6B)
    old_root = certificate(ca_name("Ant Financial Certification Authority R1"), old_root_key,
                           ca_name("Ant Financial Certification Authority R1"), old_root_key, 2, hashes.SHA384())
    ec_root = certificate(ca_name("Ant Financial Certification Authority E1"), ec_root_key,
                          ca_name("Ant Financial Certification Authority E1"), ec_root_key, 3)
    issuer = ca_name("Ant Financial Certification Authority Class 1 R1")
    app = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                     x509.NameAttribute(NameOID.ORGANIZATION_NAME, "某某数字证书认证中心有限公司"),
                     x509.NameAttribute(NameOID.COMMON_NAME, APP_ID)])
    alipay = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "支付宝(中国)网络技术有限公司"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "支付宝(中国)网络技术有限公司-2088000000000000")])
    return {
        "app": pem(certificate(app, keys["app"], issuer, root_key, 0x20240610123456789ABCDEF)),
        "alipay": pem(certificate(alipay, keys["alipay"], issuer, root_key, 0x2024061098765)),
        "stranger": pem(certificate(app, keys["stranger"], issuer, root_key, 77)),
        "root": pem(old_root, ec_root, root),
    }


def sdk_in_cert_mode(keys, certs) -> SdkDCAliPay:
    return SdkDCAliPay(APP_ID, app_private_key_string=private_pem(keys["app"]), app_public_key_cert_string=certs["app"],
                       alipay_public_key_cert_string=certs["alipay"], alipay_root_cert_string=certs["root"])


@pytest.fixture
def cert_provider(keys, certs, alipay, gateway):
    provider = AlipayProvider(APP_ID, private_pem(keys["app"]), None, gateway_url=gateway, timeout=5,
                              seller_id=SELLER_ID, app_cert=certs["app"], alipay_root_cert=certs["root"],
                              alipay_public_cert=certs["alipay"])
    alipay.cert_sn = provider.alipay_cert_sn
    return provider


# python-alipay-sdk reads certificates with pyOpenSSL calls that pyOpenSSL now marks deprecated.
SDK_USES_DEPRECATED_PYOPENSSL = pytest.mark.filterwarnings("ignore:X509.*deprecated:DeprecationWarning")


@SDK_USES_DEPRECATED_PYOPENSSL
def test_certificate_sns_are_the_sdks(cert_provider, keys, certs):
    sdk = sdk_in_cert_mode(keys, certs)

    assert cert_provider.app_cert_sn == sdk.app_cert_sn == SdkDCAliPay.get_cert_sn(certs["app"])
    assert cert_provider.alipay_root_cert_sn == sdk.alipay_root_cert_sn
    assert cert_provider.alipay_root_cert_sn.count("_") == 1  # two RSA-signed roots, the EC one left out
    assert cert_provider.alipay_cert_sn == SdkDCAliPay.get_cert_sn(certs["alipay"])
    assert len({cert_provider.app_cert_sn, cert_provider.alipay_cert_sn}) == 2


@SDK_USES_DEPRECATED_PYOPENSSL
def test_requests_in_certificate_mode_carry_the_sns_and_are_signed_as_the_sdk_signs(cert_provider, alipay, keys,
                                                                                   certs):
    # Alipay's key comes from its certificate: the answer verifies without ALIPAY_PUBLIC_KEY.
    qr = cert_provider.precreate("CA20240610C01", 100, "证书申请 · 单位证书", "https://ca.example/pay/notify")

    assert qr.qr_code == "https://qr.alipay.com/bax00000000000000000"
    sent = alipay.received[-1]
    sdk = sdk_in_cert_mode(keys, certs)
    assert (sent["app_cert_sn"], sent["alipay_root_cert_sn"]) == (sdk.app_cert_sn, sdk.alipay_root_cert_sn)
    resigned = urllib.parse.parse_qs(sdk.sign_data({k: v for k, v in sent.items() if k != "sign"}))
    assert resigned["sign"] == [sent["sign"]]


def test_an_answer_from_another_alipay_certificate_is_refused(cert_provider, alipay):
    alipay.cert_sn = "0" * 32  # Alipay changed its certificate: the new one must be configured

    with pytest.raises(ProviderError, match="certificate"):
        cert_provider.query("CA1")


def test_answers_signed_by_another_key_are_refused_in_certificate_mode(keys, certs, alipay, gateway):
    provider = AlipayProvider(APP_ID, private_pem(keys["app"]), public_pem(keys["alipay"]), gateway_url=gateway,
                              app_cert=certs["app"], alipay_root_cert=certs["root"],
                              alipay_public_cert=certs["stranger"])  # the cert of another key than Alipay's
    alipay.cert_sn = provider.alipay_cert_sn

    with pytest.raises(ProviderError, match="signature does not verify"):
        provider.precreate("CA1", 100, "order", "https://ca.example/notify")


def test_notification_in_certificate_mode_verifies_with_the_certificates_key(cert_provider, alipay):
    cert_provider.precreate("CA5C", 1, "order", "https://ca.example/notify")

    assert cert_provider.verify_notification(alipay.pay("CA5C")).out_trade_no == "CA5C"


@pytest.mark.parametrize("leave_out", ["app_cert", "alipay_root_cert", "alipay_public_cert"])
def test_certificate_mode_needs_all_three_certificates(keys, certs, leave_out):
    given = {"app_cert": certs["app"], "alipay_root_cert": certs["root"], "alipay_public_cert": certs["alipay"]}
    with pytest.raises(ValueError, match="certificate mode needs"):
        AlipayProvider(APP_ID, private_pem(keys["app"]), public_pem(keys["alipay"]), **{**given, leave_out: None})


def test_an_app_certificate_of_another_key_is_refused(keys, certs):
    with pytest.raises(ValueError, match="not of the app's private key"):
        AlipayProvider(APP_ID, private_pem(keys["app"]), None, app_cert=certs["stranger"],
                       alipay_root_cert=certs["root"], alipay_public_cert=certs["alipay"])


def test_the_settings_choose_certificate_mode(keys, certs):
    from billing.payments import _alipay

    settings = {"ALIPAY_APP_ID": APP_ID, "ALIPAY_PRIVATE_KEY": private_pem(keys["app"]),
                "ALIPAY_PUBLIC_KEY": public_pem(keys["stranger"]), "ALIPAY_GATEWAY_URL": "https://gw.invalid/gateway.do",
                "ALIPAY_SELLER_ID": SELLER_ID, "ALIPAY_APP_CERT": "", "ALIPAY_ROOT_CERT": "", "ALIPAY_PUBLIC_CERT": ""}
    assert _alipay(settings).app_cert_sn is None  # the certificate settings empty: public-key mode

    provider = _alipay({**settings, "ALIPAY_APP_CERT": certs["app"], "ALIPAY_ROOT_CERT": certs["root"],
                        "ALIPAY_PUBLIC_CERT": certs["alipay"]})

    assert provider.app_cert_sn and provider.alipay_root_cert_sn
    assert provider.alipay_public_key.public_numbers() == keys["alipay"].public_key().public_numbers()


def test_an_app_in_certificate_mode_starts_without_alipays_public_key(make_app, keys, certs):
    """Alipay's key comes from ALIPAY_PUBLIC_CERT: ALIPAY_PUBLIC_KEY is not asked for."""
    from billing.payments.interfaces import PaymentProvider
    from web.services import find_service

    app = make_app(PAYMENT_PROVIDER="alipay", ALIPAY_APP_ID=APP_ID, ALIPAY_PRIVATE_KEY=private_pem(keys["app"]),
                   ALIPAY_PUBLIC_KEY="", ALIPAY_SELLER_ID=SELLER_ID, ALIPAY_APP_CERT=certs["app"],
                   ALIPAY_ROOT_CERT=certs["root"], ALIPAY_PUBLIC_CERT=certs["alipay"])

    with app.app_context():
        provider = find_service(PaymentProvider)
    assert provider.alipay_public_key.public_numbers() == keys["alipay"].public_key().public_numbers()


@pytest.mark.parametrize("missing", ["ALIPAY_APP_CERT", "ALIPAY_ROOT_CERT", "ALIPAY_PUBLIC_CERT"])
def test_an_app_in_certificate_mode_missing_a_certificate_is_refused_at_start(make_app, keys, certs, missing):
    settings = {"ALIPAY_APP_CERT": certs["app"], "ALIPAY_ROOT_CERT": certs["root"],
                "ALIPAY_PUBLIC_CERT": certs["alipay"], missing: ""}
    with pytest.raises(RuntimeError, match=f"{missing} is empty and PAYMENT_PROVIDER=alipay needs it"):
        make_app(PAYMENT_PROVIDER="alipay", ALIPAY_APP_ID=APP_ID, ALIPAY_PRIVATE_KEY=private_pem(keys["app"]),
                 ALIPAY_PUBLIC_KEY=public_pem(keys["alipay"]), ALIPAY_SELLER_ID=SELLER_ID, **settings)


def test_an_app_in_public_key_mode_still_needs_alipays_public_key(make_app, keys):
    with pytest.raises(RuntimeError, match="ALIPAY_PUBLIC_KEY is empty and PAYMENT_PROVIDER=alipay needs it"):
        make_app(PAYMENT_PROVIDER="alipay", ALIPAY_APP_ID=APP_ID, ALIPAY_PRIVATE_KEY=private_pem(keys["app"]),
                 ALIPAY_PUBLIC_KEY="", ALIPAY_SELLER_ID=SELLER_ID)
