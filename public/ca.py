"""The CA this registration desk works for, as configured: its name in the page's language and its
service phone, for the public layout, the legal documents and the consent label."""
from __future__ import annotations

from flask import current_app
from flask_babel import get_locale


def template_values() -> dict[str, str]:
    config = current_app.config
    english = get_locale().language == "en"
    return {"ca_name": config["CA_NAME_EN"] if english else config["CA_NAME"],
            "ca_phone": config["CA_SERVICE_PHONE"]}
