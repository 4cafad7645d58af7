"""Messages to applicants: the outboxes and the gateways that deliver them."""
from __future__ import annotations


def init_app(app) -> None:
    """Put the configured gateways (sandboxes by default) on the app."""
    from notifications import gateways, mail, transfers

    app.extensions["sms_gateway"] = gateways.build(app.config)
    app.extensions["mailer"] = mail.build_mailer(app.config)
    app.extensions["transfer_gateway"] = transfers.build_transfer_gateway(app.config)
