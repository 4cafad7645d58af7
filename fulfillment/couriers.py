"""The courier tracking service: what it promises, and its registration.

The tracking service (Kuaidi100 in production: fulfillment.kuaidi100; a sandbox elsewhere:
fulfillment.courier_sandbox) tells whether a parcel was delivered, or returned or refused
(退签, 退回, 拒签), by the courier's company code (`Courier.code`, e.g. "shunfeng", "ems", "jd")
and the tracking number. It is asked, never trusted to call back: shipping asks for each
parcel in transit, and a parcel it could not ask about is asked again later.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from flask import Flask

from models.fulfillment import ShipmentStatus
from web import services
from web.services import Implementation

# The parcel's state as the tracking service tells it: in_transit, delivered, returned (退签,
# 退回 and 拒签 alike: the order waits to be shipped again). The shipment's own status, so
# shipping can write it as it comes.
TrackingState = ShipmentStatus


class TrackingUnavailable(Exception):
    """The tracking service could not be reached, or answered an error (including "no result
    yet" for a parcel it does not know): nothing is known, ask again later."""


@dataclass(frozen=True)
class Tracking:
    state: TrackingState
    at: dt.datetime | None  # the latest event's time, UTC-aware; None when the service told none
    detail: str  # the latest event's text, as the courier wrote it ("" when none)


class CourierTracking(Protocol):
    def track(self, courier_code: str, tracking_number: str, *, shipped_at: dt.datetime,
              phone: str | None = None) -> Tracking:
        """Where the parcel is now. `shipped_at` (UTC-aware) is when it left; `phone` is the
        recipient's (SF Express will not tell without it). TrackingUnavailable when the service
        cannot tell now."""


def register(app: Flask) -> None:
    """COURIER_TRACKING chooses: `sandbox` (the default) delivers every parcel
    COURIER_SANDBOX_DELIVERY_HOURS after it was shipped without asking any courier, so
    production refuses it; `kuaidi100` asks Kuaidi100's real-time query API with the CA's
    customer ID and key."""
    from fulfillment.courier_sandbox import SandboxCourierTracking
    from fulfillment.kuaidi100 import Kuaidi100Tracking

    services.register(app, CourierTracking, "COURIER_TRACKING", {
        "kuaidi100": Implementation(
            lambda config: Kuaidi100Tracking(config["KUAIDI100_URL"], config["KUAIDI100_CUSTOMER"],
                                             config["KUAIDI100_KEY"]),
            needs=("KUAIDI100_URL", "KUAIDI100_CUSTOMER", "KUAIDI100_KEY")),
        "sandbox": Implementation(
            lambda config: SandboxCourierTracking(dt.timedelta(hours=float(config["COURIER_SANDBOX_DELIVERY_HOURS"]))),
            sandbox=True),
    })
