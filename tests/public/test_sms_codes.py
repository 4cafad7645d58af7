"""SMS codes expire, are single-use, and are rate-limited per phone and per IP."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import SmsCode
from notifications.interfaces import SmsContent
from public.sms_codes import CodeInvalid, CodePolicy, CodeRefused, send_code, use_code
from tests.conftest import sms_code_in

POLICY = CodePolicy(ttl_seconds=300, max_attempts=3, per_phone_per_hour=3, per_ip_per_hour=4,
                    min_interval_seconds=60)


def _send(db_session, phone="13600001234", ip="10.0.0.1"):
    return send_code(db_session, POLICY, phone=phone, purpose="t",
                     message=lambda code: SmsContent("t", "SMS_T", {"code": code}, f"验证码{code}"), client_ip=ip)


def _age(db_session, seconds):
    for record in db_session.scalars(select(SmsCode)):
        record.created_at -= dt.timedelta(seconds=seconds)
        record.expires_at -= dt.timedelta(seconds=seconds)
    db_session.flush()


def test_code_is_single_use(db_session, latest_sms):
    _send(db_session)
    code = sms_code_in(latest_sms("13600001234"))
    use_code(db_session, POLICY, phone="13600001234", purpose="t", code=code)
    with pytest.raises(CodeInvalid):
        use_code(db_session, POLICY, phone="13600001234", purpose="t", code=code)


def test_code_expires(db_session, latest_sms):
    _send(db_session)
    code = sms_code_in(latest_sms("13600001234"))
    _age(db_session, 301)
    with pytest.raises(CodeInvalid, match="expired"):
        use_code(db_session, POLICY, phone="13600001234", purpose="t", code=code)


def test_wrong_tries_are_limited(db_session, latest_sms):
    _send(db_session)
    code = sms_code_in(latest_sms("13600001234"))
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(POLICY.max_attempts):
        with pytest.raises(CodeInvalid, match="wrong"):
            use_code(db_session, POLICY, phone="13600001234", purpose="t", code=wrong)
    with pytest.raises(CodeInvalid, match="Too many"):
        use_code(db_session, POLICY, phone="13600001234", purpose="t", code=code)


def test_rate_limits_per_phone_and_interval(db_session):
    _send(db_session)
    with pytest.raises(CodeRefused, match="less than a minute"):
        _send(db_session)
    for _ in range(POLICY.per_phone_per_hour - 1):
        _age(db_session, 61)
        _send(db_session)
    _age(db_session, 61)
    with pytest.raises(CodeRefused, match="this phone"):
        _send(db_session)


def test_rate_limit_per_ip(db_session):
    for n in range(POLICY.per_ip_per_hour):
        _send(db_session, phone=f"1360000{n:04d}")
    with pytest.raises(CodeRefused, match="network"):
        _send(db_session, phone="13699999999")


def test_a_code_for_another_purpose_need_not_wait_but_counts_in_the_hour(db_session):
    """补办 and 吊销 send the order query's code and, a moment later, the signature's to one phone."""
    def signature_code():
        return send_code(db_session, POLICY, phone="13600001234", purpose="signature",
                         message=lambda code: SmsContent("s", "SMS_S", {"code": code}, f"验证码{code}"),
                         client_ip="10.0.0.1")

    _send(db_session)
    signature_code()
    with pytest.raises(CodeRefused, match="less than a minute"):
        signature_code()
    for _ in range(POLICY.per_phone_per_hour - 2):
        _age(db_session, 61)
        _send(db_session)
    _age(db_session, 61)
    with pytest.raises(CodeRefused, match="this phone"):
        signature_code()
