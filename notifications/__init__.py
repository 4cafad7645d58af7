"""Messages to applicants: the outboxes and the gateways that deliver them."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the gateways with the service registry (sandboxes by default); the workers
    deliver what the outboxes hold (notifications.delivery)."""
    from notifications import gateways, mail, transfers

    gateways.register(app)
    mail.register(app)
    transfers.register(app)
