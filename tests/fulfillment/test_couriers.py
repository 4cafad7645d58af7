"""The courier tracking service: the Kuaidi100 adapter against a local stand-in, the sandbox's
rules, and the registry's choice."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import threading
import urllib.parse

import pytest

from fulfillment.courier_sandbox import SandboxCourierTracking
from fulfillment.couriers import CourierTracking, Tracking, TrackingState, TrackingUnavailable
from fulfillment.kuaidi100 import Kuaidi100Tracking, sign
from tests.conftest import PRODUCTION
from tests.fake_service import local_service
from web.services import find_service

CUSTOMER = "C0FFEE0123456789"
KEY = "kuaidi100-key-for-tests"
SHIPPED = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
KUAIDI100 = {"COURIER_TRACKING": "kuaidi100", "KUAIDI100_CUSTOMER": CUSTOMER, "KUAIDI100_KEY": KEY}


def _answer(state: str, *events: tuple[str, str]) -> dict:
    return {"message": "ok", "nu": "SF1234567890", "ischeck": "1" if state == "3" else "0", "condition": "F00",
            "com": "shunfeng", "status": "200", "state": state,
            "data": [{"time": time, "ftime": time, "context": context} for time, context in events]}


@pytest.fixture
def kuaidi100():
    """Kuaidi100's query API: answers what the test puts in `answers` (HTTP status, JSON), the
    last one again when they run out; yields (url, the forms received)."""
    received: list[dict] = []
    answers: list[tuple[int, dict]] = []

    def respond(body: bytes, headers: dict) -> tuple[int, str, bytes]:
        form = {name: values[0] for name, values in urllib.parse.parse_qs(body.decode(), strict_parsing=True).items()}
        received.append({"content_type": headers.get("Content-Type"), **form})
        status, answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return status, "application/json;charset=UTF-8", json.dumps(answer, ensure_ascii=False).encode()

    with local_service(respond, "/poll/query.do") as url:
        yield url, received, answers


def _track(url: str, number: str = "SF1234567890", phone: str | None = None, **kwargs) -> Tracking:
    return Kuaidi100Tracking(url, CUSTOMER, KEY, **kwargs).track("shunfeng", number, shipped_at=SHIPPED, phone=phone)


def test_the_query_is_the_form_kuaidi100_expects_signed_with_md5_of_param_key_customer(kuaidi100):
    url, received, answers = kuaidi100
    answers.append((200, _answer("0", ("2026-12-05 09:00:00", "顺丰速运 已收取快件"))))
    _track(url, phone="+86 138-0013-8000")
    form = received[0]
    assert form.pop("content_type").startswith("application/x-www-form-urlencoded")
    assert set(form) == {"customer", "sign", "param"} and form["customer"] == CUSTOMER
    assert json.loads(form["param"]) == {"com": "shunfeng", "num": "SF1234567890", "phone": "8000", "resultv2": "0"}
    expected = hashlib.md5((form["param"] + KEY + CUSTOMER).encode()).hexdigest().upper()
    assert form["sign"] == expected == sign(form["param"], KEY, CUSTOMER)
    assert len(expected) == 32 and expected == expected.upper()
    assert KEY not in json.dumps(received), "the key signs the query and is never sent"


def test_without_a_phone_the_query_has_none(kuaidi100):
    url, received, answers = kuaidi100
    answers.append((200, _answer("0")))
    assert _track(url) == Tracking(TrackingState.IN_TRANSIT, None, "")
    assert json.loads(received[0]["param"]) == {"com": "shunfeng", "num": "SF1234567890", "resultv2": "0"}


def test_signed_is_delivered_at_the_latest_event_in_utc(kuaidi100):
    url, _, answers = kuaidi100
    answers.append((200, _answer("3", ("2026-12-06 10:20:00", "【郑州市】已签收，签收人凭取件码签收。 "),
                                 ("2026-12-06 08:01:00", "【郑州市】快件交给张三，正在派送途中"))))
    tracking = _track(url)
    assert tracking == Tracking(TrackingState.DELIVERED, dt.datetime(2026, 12, 6, 2, 20, tzinfo=dt.UTC),
                                "【郑州市】已签收，签收人凭取件码签收。")
    assert tracking.at.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("state", ["4", "6", "14"])  # 退签, 退回, 拒签
def test_returned_signed_returned_and_refused_are_returned(kuaidi100, state):
    url, _, answers = kuaidi100
    answers.append((200, _answer(state, ("2026-12-07 00:30:00", "快件已退回寄件人"))))
    assert _track(url) == Tracking(TrackingState.RETURNED, dt.datetime(2026, 12, 6, 16, 30, tzinfo=dt.UTC),
                                   "快件已退回寄件人")


@pytest.mark.parametrize("state", ["0", "1", "2", "5", "7", "8", "10", "99"])
def test_every_other_state_is_in_transit(kuaidi100, state):
    url, _, answers = kuaidi100
    answers.append((200, _answer(state, ("2026-12-05 21:00:00", "快件到达【郑州转运中心】"))))
    assert _track(url) == Tracking(TrackingState.IN_TRANSIT, dt.datetime(2026, 12, 5, 13, 0, tzinfo=dt.UTC),
                                   "快件到达【郑州转运中心】")


@pytest.mark.parametrize(("code", "message"), [("500", "查询无结果，请隔段时间再查"), ("503", "验证签名失败"),
                                               ("400", "找不到对应公司")])
def test_an_error_answer_is_unavailable(kuaidi100, code, message):
    url, _, answers = kuaidi100
    answers.append((200, {"result": False, "returnCode": code, "message": message}))
    with pytest.raises(TrackingUnavailable, match=f"{code}: {message}"):
        _track(url)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_an_http_error_is_unavailable(kuaidi100, status):
    url, _, answers = kuaidi100
    answers.append((status, {"message": "Bad Gateway"}))
    with pytest.raises(TrackingUnavailable, match=f"HTTP {status}"):
        _track(url)


def test_an_answer_that_is_not_json_is_unavailable():
    with local_service(lambda body, headers: (200, "text/html", b"<html>maintenance</html>")) as url, \
            pytest.raises(TrackingUnavailable, match="unreachable"):
        _track(url)


def test_a_timeout_or_an_unreachable_service_is_unavailable():
    released = threading.Event()

    def stall(body: bytes, headers: dict) -> tuple[int, str, bytes]:
        released.wait(10)
        return 200, "application/json", json.dumps(_answer("3")).encode()

    with local_service(stall) as url:
        try:
            with pytest.raises(TrackingUnavailable, match="unreachable"):
                _track(url, timeout=0.2)
        finally:
            released.set()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/poll/query.do"
    with pytest.raises(TrackingUnavailable, match="unreachable"):
        _track(closed, timeout=2)


def test_the_key_is_never_logged_nor_shown(kuaidi100, caplog):
    url, _, answers = kuaidi100
    answers.append((200, {"result": False, "returnCode": "503", "message": "验证签名失败"}))
    with pytest.raises(TrackingUnavailable) as unavailable:
        _track(url)
    assert "503" in caplog.text
    assert KEY not in caplog.text and KEY not in str(unavailable.value)
    assert KEY not in repr(Kuaidi100Tracking(url, CUSTOMER, KEY))


# The sandbox: its rules are in fulfillment/courier_sandbox.py's docstring.

def _sandbox(now: dt.datetime, hours: float = 24) -> SandboxCourierTracking:
    return SandboxCourierTracking(dt.timedelta(hours=hours), now=lambda: now)


def test_the_sandbox_parcel_is_in_transit_until_the_delay_then_delivered():
    arrives = SHIPPED + dt.timedelta(hours=24)
    in_transit = _sandbox(arrives - dt.timedelta(seconds=1)).track("ems", "EM123456789CN", shipped_at=SHIPPED)
    assert in_transit == Tracking(TrackingState.IN_TRANSIT, SHIPPED, "快件已揽收")
    for now in (arrives, arrives + dt.timedelta(days=30)):
        delivered = _sandbox(now).track("ems", "EM123456789CN", shipped_at=SHIPPED)
        assert delivered == Tracking(TrackingState.DELIVERED, arrives, "已签收")


def test_the_sandbox_delay_is_the_setting():
    shipped = SHIPPED.astimezone(dt.timezone(dt.timedelta(hours=8)))
    tracking = _sandbox(SHIPPED + dt.timedelta(hours=2), hours=2).track("jd", "JD0001", shipped_at=shipped)
    assert tracking == Tracking(TrackingState.DELIVERED, SHIPPED + dt.timedelta(hours=2), "已签收")
    assert tracking.at.tzinfo == dt.UTC


def test_the_sandbox_returns_a_tracking_number_ending_in_r_after_the_delay():
    arrives = SHIPPED + dt.timedelta(hours=24)
    assert _sandbox(arrives - dt.timedelta(hours=1)).track("shunfeng", "SF100R", shipped_at=SHIPPED).state == \
        TrackingState.IN_TRANSIT
    assert _sandbox(arrives).track("shunfeng", "SF100R", shipped_at=SHIPPED, phone="13800138000") == Tracking(
        TrackingState.RETURNED, arrives, "收件人拒收，已退回")


def test_the_sandbox_is_unavailable_for_a_tracking_number_starting_with_err():
    for now in (SHIPPED, SHIPPED + dt.timedelta(days=3)):
        with pytest.raises(TrackingUnavailable):
            _sandbox(now).track("shunfeng", "ERR100", shipped_at=SHIPPED)
    with pytest.raises(TrackingUnavailable):
        _sandbox(SHIPPED).track("shunfeng", "ERR100R", shipped_at=SHIPPED)


def test_the_sandbox_runs_on_the_clock_by_default():
    sandbox = SandboxCourierTracking(dt.timedelta(hours=24))
    now = dt.datetime.now(dt.UTC)
    assert sandbox.track("ems", "E1", shipped_at=now - dt.timedelta(hours=1)).state == TrackingState.IN_TRANSIT
    assert sandbox.track("ems", "E1", shipped_at=now - dt.timedelta(hours=25)).state == TrackingState.DELIVERED
    with pytest.raises(ValueError, match="timezone-aware"):
        sandbox.track("ems", "E1", shipped_at=dt.datetime(2026, 12, 5, 9, 0))


# The registry.

def test_the_sandbox_is_the_default_with_the_delay_of_the_setting(app, make_app):
    with app.app_context():
        default = find_service(CourierTracking)
    assert isinstance(default, SandboxCourierTracking) and default.delivery_delay == dt.timedelta(hours=24)
    other = make_app(COURIER_SANDBOX_DELIVERY_HOURS=2)
    with other.app_context():
        assert find_service(CourierTracking).delivery_delay == dt.timedelta(hours=2)


def test_kuaidi100_is_found_when_chosen(make_app):
    app = make_app(**KUAIDI100)
    with app.app_context():
        service = find_service(CourierTracking)
    assert isinstance(service, Kuaidi100Tracking)
    assert (service.url, service.customer) == ("https://poll.kuaidi100.com/poll/query.do", CUSTOMER)


@pytest.mark.parametrize("setting", ["KUAIDI100_CUSTOMER", "KUAIDI100_KEY"])
def test_kuaidi100_needs_its_customer_and_key(make_app, setting):
    with pytest.raises(RuntimeError, match=f"{setting} is empty and COURIER_TRACKING=kuaidi100 needs it"):
        make_app(**{**KUAIDI100, setting: ""})


def test_production_refuses_the_sandbox_courier_and_starts_with_kuaidi100(make_app):
    with pytest.raises(RuntimeError, match="COURIER_TRACKING=sandbox is a sandbox"):
        make_app(**{**PRODUCTION, "COURIER_TRACKING": "sandbox"})
    assert make_app(**{**PRODUCTION, **KUAIDI100}).config["COURIER_TRACKING"] == "kuaidi100"
