"""The Alipay adapter, speaking Alipay's OpenAPI wire format (the classic gateway).

A request is a form POST of the common parameters plus ``biz_content`` (JSON), signed RSA2:
every non-empty parameter but ``sign``, sorted by key, joined ``k=v`` with ``&``, signed
SHA256withRSA (PKCS#1 v1.5) with the app's private key, base64. The answer is JSON with a
``<method>_response`` object and a ``sign`` over that object's exact text, made with
Alipay's key. Asynchronous notifications are signed the same way, without ``sign_type`` and
keeping the parameters whose value is empty (``passback_params=``), as Alipay's Java and
Python SDKs verify them.
The sandbox provider signs its notifications with these same helpers.

Certificate mode (公钥证书), which many merchant apps must use: each request also carries
``app_cert_sn`` (of the app's public-key certificate) and ``alipay_root_cert_sn`` (of Alipay's
root certificate chain), Alipay's public key is taken from Alipay's public-key certificate, and
an answer's ``alipay_cert_sn`` must name that certificate. A certificate's SN is the MD5 (hex)
of its issuer's DN, most specific attribute first (``CN=…,OU=…,O=…,C=…``), followed by its
serial number in decimal; the root's is that of each RSA-signed certificate of the chain,
joined by ``_`` (the chain's SM2 certificate is left out), as Alipay's SDKs compute them.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import http.client
import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping
from decimal import Decimal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from billing.payments.interfaces import (
    BadNotification,
    BadSignature,
    Notification,
    ProviderError,
    QrTrade,
    RefundQuery,
    RefundResult,
    RefundState,
    TradeState,
    TradeStatus,
)
from models.business_time import BUSINESS_TZ

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SUCCESS = "10000"
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"

REFUND_QUERY_METHOD = "alipay.trade.fastpay.refund.query"
REFUND_SUCCESS = "REFUND_SUCCESS"

BILL_METHOD = "alipay.data.dataservice.bill.downloadurl.query"
# The trade bill's detail file in the ZIP, e.g. 20880000000000000156_20240610_业务明细.csv (beside it
# lies …_业务明细(汇总).csv, the summary, which is not wanted).
BILL_DETAIL_SUFFIX = "_业务明细.csv"
# A day of thousands of trades is a few MB; refuse anything far beyond that (a ZIP bomb, a wrong file).
MAX_BILL_BYTES = 256 * 1024 * 1024

_YUAN = re.compile(r"\d+(\.\d{1,2})?")
_SPACE = re.compile(r"\s*")


def cents_to_yuan(cents: int) -> str:
    """1 → "0.01", 30000 → "300.00"."""
    if isinstance(cents, bool) or not isinstance(cents, int) or cents < 0:
        raise ValueError(f"an amount must be whole cents, not {cents!r}")
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def yuan_to_cents(yuan: str) -> int:
    """ "0.01" → 1, "300.00" → 30000; anything but a plain amount with at most two decimals is refused."""
    if not isinstance(yuan, str) or not _YUAN.fullmatch(yuan):
        raise ValueError(f"not an amount in yuan: {yuan!r}")
    return int(Decimal(yuan) * 100)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime(TIME_FORMAT)


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BUSINESS_TZ)


def load_private_key(key: str | bytes) -> rsa.RSAPrivateKey:
    """A PEM, or the bare base64 body Alipay's key tool hands out."""
    data = key.encode() if isinstance(key, str) else key
    if b"-----BEGIN" in data:
        loaded = serialization.load_pem_private_key(data, password=None)
    else:
        loaded = serialization.load_der_private_key(base64.b64decode(data), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError("RSA2 signing needs an RSA private key")
    return loaded


def load_public_key(key: str | bytes) -> rsa.RSAPublicKey:
    data = key.encode() if isinstance(key, str) else key
    if b"-----BEGIN" in data:
        loaded = serialization.load_pem_public_key(data)
    else:
        loaded = serialization.load_der_public_key(base64.b64decode(data))
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise ValueError("RSA2 verification needs an RSA public key")
    return loaded


# Signature algorithms of the RSA family (PKCS #1: md5WithRSAEncryption, sha256WithRSAEncryption, …).
_RSA_SIGNATURE_OID_PREFIX = "1.2.840.113549.1.1."


def load_certificates(pem: str | bytes) -> list[x509.Certificate]:
    """The certificates of a PEM file (one, or a chain such as Alipay's root certificate)."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ValueError(f"not a PEM certificate: {exc}") from exc


def cert_sn(cert: x509.Certificate) -> str:
    """The certificate's SN as Alipay counts it: MD5 of the issuer DN, most specific attribute
    first, and the serial number in decimal."""
    issuer = ",".join(f"{attribute.rfc4514_attribute_name}={attribute.value}"
                      for attribute in reversed(list(cert.issuer)))
    return hashlib.md5((issuer + str(cert.serial_number)).encode("utf-8")).hexdigest()


def root_cert_sn(pem: str | bytes) -> str:
    """``alipay_root_cert_sn``: the SNs of the chain's RSA-signed certificates joined by ``_``."""
    sns = [cert_sn(cert) for cert in load_certificates(pem)
           if cert.signature_algorithm_oid.dotted_string.startswith(_RSA_SIGNATURE_OID_PREFIX)]
    if not sns:
        raise ValueError("Alipay's root certificate holds no RSA-signed certificate")
    return "_".join(sns)


def signing_string(params: Mapping[str, str], leave_out: Iterable[str] = ("sign",), *,
                   keep_empty: bool = False) -> str:
    """What is signed: a request leaves out its empty parameters; a notification keeps them
    (``keep_empty``), since Alipay signs every parameter it posts."""
    left_out = set(leave_out)
    return "&".join(f"{key}={'' if value is None else value}" for key, value in sorted(params.items())
                    if key not in left_out and (keep_empty or value not in ("", None)))


def rsa2_sign(private_key: rsa.RSAPrivateKey, text: str) -> str:
    signature = private_key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(public_key: rsa.RSAPublicKey, text: str, sign: str) -> bool:
    try:
        public_key.verify(base64.b64decode(sign, validate=True), text.encode("utf-8"),
                          padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def sign_notification(params: Mapping[str, str], private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The params with ``sign_type`` and ``sign`` added, as Alipay posts them to a notify URL."""
    signed = {**params, "sign_type": "RSA2"}
    signed["sign"] = rsa2_sign(private_key, signing_string(signed, ("sign", "sign_type"), keep_empty=True))
    return signed


def read_notification(params: Mapping[str, str], public_key: rsa.RSAPublicKey, app_id: str,
                      seller_id: str | None = None) -> Notification:
    """Verify a notification's signature, then read it; see BadSignature and BadNotification.
    With `seller_id` (the merchant's Alipay account, 2088…) the notification must name it too."""
    sign = params.get("sign")
    if not sign or params.get("sign_type", "RSA2") != "RSA2":
        raise BadSignature("notification is not signed RSA2")
    if not rsa2_verify(public_key, signing_string(params, ("sign", "sign_type"), keep_empty=True), sign):
        raise BadSignature("notification signature does not verify")
    if params.get("app_id") != app_id:
        raise BadNotification(f"notification is for app {params.get('app_id')!r}, not ours")
    if seller_id and params.get("seller_id") != seller_id:
        raise BadNotification(f"notification is for seller {params.get('seller_id')!r}, not ours")
    try:
        status = TradeState(params["trade_status"])
        if status is TradeState.NOT_FOUND:
            raise ValueError("NOT_FOUND is no trade status")
        return Notification(
            out_trade_no=_present(params, "out_trade_no"),
            trade_no=_present(params, "trade_no"),
            status=status,
            amount_cents=yuan_to_cents(params["total_amount"]),
            paid_at=parse_time(params.get("gmt_payment")),
            notify_id=_present(params, "notify_id"),
        )
    except (KeyError, ValueError) as exc:
        raise BadNotification(f"notification cannot be read: {exc}") from exc


def read_bill_archive(data: bytes) -> str:
    """The 业务明细 CSV of the ZIP Alipay serves as a trade bill, decoded. Alipay writes the file
    names and the text in GBK (GB 18030, its superset, is used to read both). ValueError if the
    archive is unreadable or does not hold exactly one detail file."""
    try:
        # Names without the ZIP's UTF-8 flag are read as GBK, as Alipay writes them.
        with zipfile.ZipFile(io.BytesIO(data), metadata_encoding="gb18030") as archive:
            details = [info for info in archive.infolist()
                       if info.filename.rsplit("/", 1)[-1].endswith(BILL_DETAIL_SUFFIX)]
            if len(details) != 1:
                names = ", ".join(info.filename for info in archive.infolist()) or "nothing"
                raise ValueError(f"the bill archive should hold one *{BILL_DETAIL_SUFFIX} file, it holds {names}")
            [detail] = details
            if detail.file_size > MAX_BILL_BYTES:
                raise ValueError(f"{detail.filename} is {detail.file_size} bytes, more than a bill can be")
            with archive.open(detail) as member:
                raw = member.read(MAX_BILL_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, UnicodeDecodeError, NotImplementedError, EOFError) as exc:
        raise ValueError(f"the bill archive cannot be read: {exc}") from exc
    if len(raw) > MAX_BILL_BYTES:
        raise ValueError(f"{detail.filename} is larger than a bill can be")
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{detail.filename} is not GBK text: {exc}") from exc


def _present(params: Mapping[str, str], key: str) -> str:
    value = params[key]
    if not value:
        raise ValueError(f"{key} is empty")
    return value


def _top_level_spans(text: str) -> dict[str, tuple[int, int]]:
    """Where each top-level value of a JSON object lies in ``text``: Alipay signs the
    response object's exact text, so it must be cut out, not re-serialised."""
    decoder = json.JSONDecoder()
    spans: dict[str, tuple[int, int]] = {}
    pos = _SPACE.match(text).end()
    if text[pos:pos + 1] != "{":
        raise ValueError("not a JSON object")
    pos = _SPACE.match(text, pos + 1).end()
    if text[pos:pos + 1] == "}":
        return spans
    while True:
        key, pos = decoder.raw_decode(text, pos)
        pos = _SPACE.match(text, pos).end()
        if not isinstance(key, str) or text[pos:pos + 1] != ":":
            raise ValueError("not a JSON object")
        start = _SPACE.match(text, pos + 1).end()
        _, end = decoder.raw_decode(text, start)
        spans[key] = (start, end)
        pos = _SPACE.match(text, end).end()
        if text[pos:pos + 1] == "}":
            return spans
        if text[pos:pos + 1] != ",":
            raise ValueError("not a JSON object")
        pos = _SPACE.match(text, pos + 1).end()


class AlipayProvider:
    """Trades paid by scanning a QR code (alipay.trade.precreate and its companions)."""

    def __init__(self, app_id: str, app_private_key: str, alipay_public_key: str | None,
                 gateway_url: str = DEFAULT_GATEWAY, timeout: float = 10.0, seller_id: str | None = None, *,
                 app_cert: str | None = None, alipay_root_cert: str | None = None,
                 alipay_public_cert: str | None = None):
        """Public-key mode with `alipay_public_key`; certificate mode with all three of
        `app_cert` (the app's public-key certificate), `alipay_root_cert` (Alipay's root
        certificate chain) and `alipay_public_cert` (Alipay's public-key certificate, whose key
        then replaces `alipay_public_key`)."""
        certs = (app_cert, alipay_root_cert, alipay_public_cert)
        if any(certs) and not all(certs):
            raise ValueError("certificate mode needs the app's certificate, Alipay's root certificate "
                             "and Alipay's public-key certificate")
        if not app_id or not app_private_key or not (alipay_public_key or alipay_public_cert):
            raise ValueError("the Alipay adapter needs an app id, the app's private key and Alipay's public key")
        self.app_id = app_id
        self.private_key = load_private_key(app_private_key)
        self.app_cert_sn = self.alipay_root_cert_sn = self.alipay_cert_sn = None
        if alipay_public_cert:
            [app_certificate, *_] = load_certificates(app_cert)
            if app_certificate.public_key().public_numbers() != self.private_key.public_key().public_numbers():
                raise ValueError("the app's certificate is not of the app's private key")
            [alipay_certificate, *_] = load_certificates(alipay_public_cert)
            key = alipay_certificate.public_key()
            if not isinstance(key, rsa.RSAPublicKey):
                raise ValueError("Alipay's public-key certificate holds no RSA key")
            self.alipay_public_key = key
            self.app_cert_sn = cert_sn(app_certificate)
            self.alipay_root_cert_sn = root_cert_sn(alipay_root_cert)
            self.alipay_cert_sn = cert_sn(alipay_certificate)
        else:
            self.alipay_public_key = load_public_key(alipay_public_key)
        self.gateway_url = gateway_url
        self.timeout = timeout
        self.seller_id = seller_id

    def precreate(self, out_trade_no: str, amount_cents: int, subject: str, notify_url: str,
                  expires_at: dt.datetime | None = None) -> QrTrade:
        if amount_cents <= 0:
            raise ValueError("a trade needs a positive amount")
        biz = {"out_trade_no": out_trade_no, "total_amount": cents_to_yuan(amount_cents), "subject": subject}
        if expires_at is not None:
            biz["time_expire"] = format_time(expires_at)  # Beijing time; Alipay closes the trade then
        answer = self._call("alipay.trade.precreate", biz, notify_url=notify_url)
        return QrTrade(qr_code=self._field(answer, "qr_code"))

    def query(self, out_trade_no: str) -> TradeStatus:
        try:
            answer = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        except ProviderError as exc:
            if exc.sub_code == TRADE_NOT_EXIST:
                return TradeStatus(TradeState.NOT_FOUND, None, None, None)
            raise
        try:
            return TradeStatus(
                status=TradeState(answer["trade_status"]),
                trade_no=answer.get("trade_no"),
                amount_cents=yuan_to_cents(answer["total_amount"]),
                paid_at=parse_time(answer.get("send_pay_date")),
            )
        except (KeyError, ValueError) as exc:
            raise ProviderError(f"alipay.trade.query answered something we cannot read: {exc}") from exc

    def refund(self, out_trade_no: str, refund_cents: int, out_request_no: str, reason: str) -> RefundResult:
        if refund_cents <= 0:
            raise ValueError("a refund needs a positive amount")
        answer = self._call("alipay.trade.refund", {
            "out_trade_no": out_trade_no, "refund_amount": cents_to_yuan(refund_cents),
            "out_request_no": out_request_no, "refund_reason": reason,
        })
        try:
            refunded_total = yuan_to_cents(answer["refund_fee"])
        except (KeyError, ValueError) as exc:
            raise ProviderError(f"alipay.trade.refund answered something we cannot read: {exc}") from exc
        return RefundResult(out_trade_no=out_trade_no, out_request_no=out_request_no, refund_cents=refund_cents,
                            refunded_total_cents=refunded_total, trade_no=answer.get("trade_no"))

    def query_refund(self, out_trade_no: str, out_request_no: str) -> RefundQuery:
        """alipay.trade.fastpay.refund.query: an answer with the refund's data and ``refund_status``
        REFUND_SUCCESS (or, as older answers have it, no ``refund_status``) is a refund made; an
        answer without data, or another status, is none: Alipay did not receive it (or it failed).
        Alipay advises asking no sooner than ten seconds after the refund was sent."""
        none = RefundQuery(out_trade_no, out_request_no, RefundState.NOT_REFUNDED, None, None)
        try:
            answer = self._call(REFUND_QUERY_METHOD, {"out_trade_no": out_trade_no, "out_request_no": out_request_no})
        except ProviderError as exc:
            if exc.sub_code == TRADE_NOT_EXIST:
                return none
            raise
        if answer.get("out_request_no") not in (None, "", out_request_no) or \
                answer.get("out_trade_no") not in (None, "", out_trade_no):
            raise ProviderError(f"{REFUND_QUERY_METHOD} answered about another refund "
                                f"({answer.get('out_trade_no')!r}, {answer.get('out_request_no')!r})")
        status = answer.get("refund_status")
        if not answer.get("refund_amount") or (status and status != REFUND_SUCCESS):
            return RefundQuery(out_trade_no, out_request_no, RefundState.NOT_REFUNDED, None, answer.get("trade_no"))
        try:
            refund_cents = yuan_to_cents(answer["refund_amount"])
        except ValueError as exc:
            raise ProviderError(f"{REFUND_QUERY_METHOD} answered something we cannot read: {exc}") from exc
        return RefundQuery(out_trade_no, out_request_no, RefundState.REFUNDED, refund_cents, answer.get("trade_no"))

    def close(self, out_trade_no: str) -> None:
        try:
            self._call("alipay.trade.close", {"out_trade_no": out_trade_no})
        except ProviderError as exc:
            # Until the buyer scans, Alipay has no trade to close.
            if exc.sub_code != TRADE_NOT_EXIST:
                raise

    def verify_notification(self, params: dict[str, str]) -> Notification:
        return read_notification(params, self.alipay_public_key, self.app_id, self.seller_id)

    def download_bill(self, day: dt.date) -> str:
        """The day's trade bill: Alipay answers with a short-lived URL of a ZIP of CSV files,
        of which the 业务明细 one is read (see ``read_bill_archive``)."""
        answer = self._call(BILL_METHOD, {"bill_type": "trade", "bill_date": day.isoformat()})
        url = self._field(answer, "bill_download_url")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ProviderError(f"{BILL_METHOD}: the bill URL is not http(s): {url[:100]!r}")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                data = response.read(MAX_BILL_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ProviderError(f"the bill download answered HTTP {exc.code}") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise ProviderError(f"the bill download failed: {exc}") from exc
        if len(data) > MAX_BILL_BYTES:
            raise ProviderError("the bill download is larger than a bill can be")
        try:
            return read_bill_archive(data)
        except ValueError as exc:
            raise ProviderError(f"the bill of {day.isoformat()}: {exc}") from exc

    def _call(self, method: str, biz_content: dict, notify_url: str | None = None) -> dict:
        params = {
            "app_id": self.app_id, "method": method, "format": "JSON", "charset": "utf-8",
            "sign_type": "RSA2", "timestamp": format_time(dt.datetime.now(BUSINESS_TZ)), "version": "1.0",
            "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":")),
        }
        if notify_url:
            params["notify_url"] = notify_url
        if self.app_cert_sn:
            params["app_cert_sn"] = self.app_cert_sn
            params["alipay_root_cert_sn"] = self.alipay_root_cert_sn
        params["sign"] = rsa2_sign(self.private_key, signing_string(params))
        return self._read_answer(method, self._post(params))

    def _post(self, params: dict[str, str]) -> str:
        request = urllib.request.Request(
            self.gateway_url, data=urllib.parse.urlencode(params).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ProviderError(f"Alipay answered HTTP {exc.code}") from exc
        except (OSError, http.client.HTTPException, UnicodeDecodeError) as exc:  # timed out, reset, cut short
            raise ProviderError(f"Alipay unreachable: {exc}") from exc

    def _read_answer(self, method: str, body: str) -> dict:
        try:
            spans = _top_level_spans(body)
            node = method.replace(".", "_") + "_response"
            if node not in spans:
                node = "error_response"
            start, end = spans[node]
            answer = json.loads(body[start:end])
            sign = json.loads(body[slice(*spans["sign"])]) if "sign" in spans else None
            answered_cert_sn = json.loads(body[slice(*spans["alipay_cert_sn"])]) if "alipay_cert_sn" in spans else None
        except (KeyError, ValueError) as exc:
            raise ProviderError(f"{method} answered something we cannot read") from exc
        if not isinstance(answer, dict):
            raise ProviderError(f"{method} answered something we cannot read")
        if self.alipay_cert_sn and answered_cert_sn and answered_cert_sn != self.alipay_cert_sn:
            raise ProviderError(f"{method}: Alipay signed with its certificate {answered_cert_sn}, ours is "
                                f"{self.alipay_cert_sn}: Alipay's new public-key certificate is needed")
        if sign:
            if not rsa2_verify(self.alipay_public_key, body[start:end], sign):
                raise ProviderError(f"{method}: the answer's signature does not verify")
        elif answer.get("code") == SUCCESS:
            raise ProviderError(f"{method}: an unsigned answer claims success")
        if answer.get("code") != SUCCESS:
            raise ProviderError(f"{method}: {answer.get('msg')} {answer.get('sub_msg') or ''}".strip(),
                                code=answer.get("code"), sub_code=answer.get("sub_code"))
        return answer

    @staticmethod
    def _field(answer: dict, key: str) -> str:
        value = answer.get(key)
        if not value or not isinstance(value, str):
            raise ProviderError(f"the answer has no {key}")
        return value
