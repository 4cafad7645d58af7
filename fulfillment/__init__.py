"""Domain of fulfillment: password cards, the shelf (keys and envelopes), shipping and the courier tracking service."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register fulfillment's external service, the courier tracking service (a sandbox by default)."""
    from fulfillment import couriers

    couriers.register(app)
