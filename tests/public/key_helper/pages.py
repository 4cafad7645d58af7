"""The public pages of a renewal as a browser without JavaScript goes through them (the test client)."""
from __future__ import annotations

import re

from sqlalchemy import select

from billing.services import current_services
from models import Order
from notifications.outbox import latest_for
from tests.conftest import sms_code_in


def open_renewal(client) -> tuple[str, str]:
    """The home page's renewal: (the key page's session id, its pairing code)."""
    page = client.get("/c/direct/renewal")
    assert page.status_code == 302
    public_id = page.headers["Location"].rsplit("/", 1)[1]
    html = client.get(f"/key/{public_id}?lang=en").get_data(as_text=True)
    code = re.search(r'id="pairing-code">([0-9-]+)<', html).group(1)
    assert f"--code {code}" in html
    return public_id, code


def form_values(html: str) -> dict:
    """What the page's form would send as it stands: its inputs' values and its selects' chosen options."""
    values = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', html))
    for name, options in re.findall(r'<select[^>]*name="([a-z_]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', options)
        values[name] = chosen.group(1) if chosen else ""
    return values


def status(client, public_id: str) -> dict:
    return client.get(f"/key/{public_id}/status?lang=en").get_json()


def renew_and_pay(station_app, client, committed, public_id: str, phone: str = "13700000001") -> str:
    """The logged-in session's renewal form sent as it is filled in (the agent's phone changed), confirmed,
    signed with the SMS code and paid in the sandbox: the renewal order's number."""
    values = form_values(client.get(f"/renewal/{public_id}/form").get_data(as_text=True))
    values.update(consent="y", seal_services="personal_seal", agent_phone=phone)
    assert client.post(f"/renewal/{public_id}/form", data=values).headers["Location"].endswith("/confirm")
    number = client.post(f"/renewal/{public_id}/confirm").headers["Location"].split("/")[2]
    client.post(f"/apply/{number}/signature/code")
    code = sms_code_in(committed(lambda s: latest_for(s, phone).text))
    assert client.post(f"/apply/{number}/signature", data={"sms_code": code}).status_code == 302
    client.get(f"/apply/{number}/pay")
    with station_app.app_context():
        current_services().provider.pay(number)
    assert client.get(f"/apply/{number}/pay/status").get_json()["waiting"] is False
    assert committed(lambda s: s.scalars(select(Order.status).where(Order.number == number)).one()).value == "approved"
    return number
