"""Messages to applicants: the outboxes and the gateways that deliver them."""
from __future__ import annotations


def init_app(app) -> None:
    """Put the configured gateways (sandbox by default) on the app."""
    from notifications import gateways

    app.extensions["sms_gateway"] = gateways.build(app.config)
