"""The sandbox courier tracking service: answers like Kuaidi100 without any network, and
deterministically from the parcel's own data, so staff and tests know what it will say.

- A parcel is in transit (detail "快件已揽收", at its `shipped_at`) until
  COURIER_SANDBOX_DELIVERY_HOURS (24 by default) after `shipped_at`.
- From then on it is delivered: at `shipped_at` + that delay, detail "已签收".
- A tracking number ending in "R" is returned instead, at the same time: detail
  "收件人拒收，已退回" (the recipient refused it).
- A tracking number starting with "ERR" raises TrackingUnavailable, as the real service does
  when it cannot be reached or answers an error.

The courier's code and the phone are taken and not checked. Nothing is kept between queries.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fulfillment.couriers import Tracking, TrackingState, TrackingUnavailable
from models.base import utcnow

PICKED_UP = "快件已揽收"
DELIVERED = "已签收"
RETURNED = "收件人拒收，已退回"


class SandboxCourierTracking:
    def __init__(self, delivery_delay: dt.timedelta = dt.timedelta(hours=24),
                 now: Callable[[], dt.datetime] = utcnow):
        self.delivery_delay = delivery_delay
        self.now = now

    def track(self, courier_code: str, tracking_number: str, *, shipped_at: dt.datetime,
              phone: str | None = None) -> Tracking:
        if shipped_at.tzinfo is None:
            raise ValueError("shipped_at must be timezone-aware")
        number = tracking_number.strip()
        if number.startswith("ERR"):
            raise TrackingUnavailable("sandbox: the tracking service is unavailable (tracking number ERR…)")
        arrives = shipped_at + self.delivery_delay
        if self.now() < arrives:
            return Tracking(TrackingState.IN_TRANSIT, shipped_at.astimezone(dt.UTC), PICKED_UP)
        if number.endswith("R"):
            return Tracking(TrackingState.RETURNED, arrives.astimezone(dt.UTC), RETURNED)
        return Tracking(TrackingState.DELIVERED, arrives.astimezone(dt.UTC), DELIVERED)
