"""Kuaidi100 (快递100): the real courier tracking service, by its real-time query API.

One query is a form-encoded POST of `customer` (the CA's customer ID), `param` (JSON:
`com` the courier's company code, `num` the tracking number, `phone` for couriers that ask
for it, SF Express above all, `resultv2` "0") and `sign`, the upper-case hex MD5 of
param + key + customer. The key itself never leaves this process, and is never logged.

A good answer has `status` "200", the parcel's `state` and `data`, its events newest first,
each with its `time` in Beijing time ("2026-12-06 10:20:00") and its `context`. States: 3 signed
(签收) is delivered; 4 returned-signed (退签), 6 returned (退回) and 14 refused (拒签) are
returned; every other one (0 in transit, 1 picked up, 2 trouble, 5 out for delivery, 7
transferred, 8 customs, ...) is still in transit. An error answer has `result` false, a
`returnCode` ("400" incomplete query, "408" phone check failed, "500" no result yet, "501"/"502"
the server failed or is busy, "503" bad sign) and a `message`: like a timeout or an HTTP error
it tells nothing, so TrackingUnavailable (ask again later).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from fulfillment.couriers import Tracking, TrackingState, TrackingUnavailable
from models.business_time import BUSINESS_TZ

log = logging.getLogger(__name__)

_DELIVERED = {"3"}
_RETURNED = {"4", "6", "14"}
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def sign(param: str, key: str, customer: str) -> str:
    """Kuaidi100's signature of a query: MD5 of param + key + customer, upper-case hex."""
    return hashlib.md5((param + key + customer).encode()).hexdigest().upper()


def _phone_tail(phone: str | None) -> str | None:
    """The last four digits of the phone: what SF Express checks, and no more of the
    recipient's number than that goes to the tracking service."""
    digits = "".join(character for character in phone or "" if character.isdigit())
    return digits[-4:] or None


def _utc(beijing_time: object) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(str(beijing_time), _TIME_FORMAT).replace(tzinfo=BUSINESS_TZ).astimezone(dt.UTC)
    except ValueError:
        return None


class Kuaidi100Tracking:
    """Asks Kuaidi100's real-time query API (KUAIDI100_URL) as the CA's customer."""

    def __init__(self, url: str, customer: str, key: str, timeout: float = 10.0):
        if not url or not customer or not key:
            raise ValueError("the Kuaidi100 tracking service needs KUAIDI100_URL, KUAIDI100_CUSTOMER and KUAIDI100_KEY")
        self.url = url
        self.customer = customer
        self._key = key
        self.timeout = timeout

    def __repr__(self) -> str:  # never the key
        return f"Kuaidi100Tracking({self.url!r}, customer={self.customer!r})"

    def track(self, courier_code: str, tracking_number: str, *, shipped_at: dt.datetime,
              phone: str | None = None) -> Tracking:
        query = {"com": courier_code, "num": tracking_number}
        if tail := _phone_tail(phone):
            query["phone"] = tail
        query["resultv2"] = "0"
        param = json.dumps(query, ensure_ascii=False, separators=(",", ":"))
        answer = self._post({"customer": self.customer, "sign": sign(param, self._key, self.customer),
                             "param": param}, courier_code, tracking_number)
        if answer.get("result") is False or str(answer.get("status", "")) != "200" or "state" not in answer:
            log.warning("kuaidi100 could not track %s %s: %s %s", courier_code, tracking_number,
                        answer.get("returnCode", answer.get("status")), answer.get("message"))
            raise TrackingUnavailable(f"kuaidi100 answered {answer.get('returnCode', answer.get('status'))}: "
                                      f"{answer.get('message', '')}")
        state = str(answer["state"])
        events = answer.get("data") or []
        latest = events[0] if isinstance(events, list) and events and isinstance(events[0], dict) else {}
        return Tracking(
            state=(TrackingState.DELIVERED if state in _DELIVERED
                   else TrackingState.RETURNED if state in _RETURNED else TrackingState.IN_TRANSIT),
            at=_utc(latest.get("time") or latest.get("ftime")) if latest else None,
            detail=str(latest.get("context", "")).strip(),
        )

    def _post(self, form: dict[str, str], courier_code: str, tracking_number: str) -> dict:
        request = urllib.request.Request(
            self.url, data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            exc.close()
            problem = f"answered HTTP {exc.code}"
        except (OSError, http.client.HTTPException, ValueError) as exc:  # timeouts and URLError are OSErrors
            problem = f"unreachable: {exc}"
        else:
            if isinstance(answer, dict):
                return answer
            problem = "answered something other than a JSON object"
        log.warning("kuaidi100 could not track %s %s: %s", courier_code, tracking_number, problem)
        raise TrackingUnavailable(f"kuaidi100 {problem}")
