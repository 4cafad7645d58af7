"""Posts the sandbox's signed notifications to the merchant's notify URL the way Alipay
does: asynchronously, form-encoded, again a few times until the answer is ``success``."""
from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from billing.payments.sandbox import SandboxProvider

log = logging.getLogger(__name__)
RETRY_SECONDS = (0, 1, 3, 10)


def post_notification(notify_url: str, params: dict[str, str], timeout: float = 5.0) -> bool:
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(notify_url, data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().strip() == b"success"
    except (urllib.error.URLError, TimeoutError) as exc:
        log.info("sandbox notification to %s not delivered: %s", notify_url, exc)
        return False


def deliver(provider: SandboxProvider, out_trade_no: str, notify_url: str, notifications: list[dict[str, str]]) -> None:
    """Post the notifications of a payment; for a delayed one, wait until the sandbox
    completes it first. Each notification is posted until accepted or the retries run out."""
    for _ in range(3):
        if notifications:
            break
        time.sleep(provider.delay_seconds + 0.1)
        notifications = provider.notifications_for(out_trade_no)
    for params in notifications:
        for pause in RETRY_SECONDS:
            time.sleep(pause)
            if post_notification(notify_url, params):
                break


def deliver_in_background(provider: SandboxProvider, out_trade_no: str, notify_url: str,
                          notifications: list[dict[str, str]]) -> threading.Thread:
    thread = threading.Thread(target=deliver, args=(provider, out_trade_no, notify_url, notifications),
                              name=f"sandbox-notify-{out_trade_no}", daemon=True)
    thread.start()
    return thread
