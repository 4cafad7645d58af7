"""The link in a renewal reminder e-mail that stops the reminders: <public base url>/reminders/stop/<token>.
The token names the applicant (notifications.opt_outs.applicant_of) and the order the reminder was about,
signed with the app's SECRET_KEY under a salt of its own (no other signed value of the app reads as one)
and dated: it is taken for STOP_LINK_DAYS, longer than the year a certificate's reminders span. Signed,
not encrypted: it carries nothing the e-mail does not say already but the applicant key (a unit's
public credit code, a person's keyed digest)."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "renewal-reminders-stop"
STOP_LINK_DAYS = 400


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def stop_link(public_base_url: str, applicant: str, number: str) -> str:
    token = _serializer().dumps({"a": applicant, "o": number})
    return f"{public_base_url.rstrip('/')}/reminders/stop/{token}"


def read_stop_token(token: str) -> tuple[str, str] | None:
    """(applicant, order number) the token names; None when it is not ours, was altered or has expired."""
    try:
        named = _serializer().loads(token, max_age=int(dt.timedelta(days=STOP_LINK_DAYS).total_seconds()))
    except BadData:  # a wrong or altered signature, an expired date, a payload that is no JSON
        return None
    if not isinstance(named, dict) or not isinstance(named.get("a"), str) or not isinstance(named.get("o"), str):
        return None
    return named["a"], named["o"]
