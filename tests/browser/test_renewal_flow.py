"""证书更新 in Chromium with the real key helper: a key programmed by the real station agent on SoftHSM2
and in the applicant's hands, thirty days before its certificate ends. From the home page's tile the
key page shows a pairing code; the helper started with it logs in with the key password (typed into
the helper); the page moves on to the form by itself; the agent confirms, signs with the SMS code and
pays in the sandbox wallet; the key page shows the helper's steps as they come, and the downloaded page
the new validity: from the old end date, a year on."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import Certificate, CertificateStatus, JobStatus, Order, OrderStatus
from notifications.outbox import latest_for
from tests.browser.conftest import LAPTOP
from tests.conftest import sms_code_in
from tests.factories import worker_round
from tests.public.key_helper.test_helper_process import in_use, key_holds
from tests.softhsm import MODULE
from tests.station.conftest import (  # noqa: F401 - fixtures
    approved,
    client,
    committed,
    fulfillment,
    station_app,
    station_credential,
)
from tests.station.live import ROOT, live_station, live_url, wait_for  # noqa: F401
from tests.station.test_programming import plugged_key, start, status_is

pytestmark = pytest.mark.browser
PHONE = "13700000002"


def test_a_certificate_is_renewed_with_the_key_helper(
        page: Page, live_url, live_station, client, committed, fulfillment, approved, station_app,  # noqa: F811
        screenshots, monkeypatch):
    monkeypatch.setitem(station_app.config, "PASSWORD_CARD_PRINTS_PIN", True)  # the test reads the password
    agent = live_station.agents.start()
    _label, key = plugged_key(live_station, committed, agent)
    earlier = approved()
    password = committed(lambda s: s.scalars(select(Order).where(Order.number == earlier)).one().certificate_password)
    wait_for(status_is(committed, start(client, committed, live_station.name, earlier, key), JobStatus.DONE),
             what="the station to program the key")
    assert agent.stop() == 0, agent.output
    in_use(committed, earlier, key, days_left=30)
    old = committed(lambda s: s.scalars(select(Certificate).where(Certificate.media_serial == key)).one())

    # The home page's 证书更新: the key page with its pairing code and the command to start the helper.
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_url}/c/direct/")
    page.click("#service-renewal")
    code = page.locator("#pairing-code").inner_text()
    expect(page.locator("#helper-command")).to_contain_text(f"ukey-helper --url {live_url} --code {code}")
    expect(page.locator("#helper-state")).to_have_attribute("data-running", "no")
    page.screenshot(path=str(screenshots / "renewal-key.png"))

    helper = subprocess.Popen(
        [sys.executable, "-m", "agent.helper", "--url", live_url, "--code", code, "--module", MODULE, "--wait", "0.5"],
        env={**os.environ, "SOFTHSM2_CONF": str(live_station.hsm.conf)}, cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        helper.stdin.write(password + "\n")  # the key password, typed into the helper on the applicant's PC
        helper.stdin.flush()

        # The page notices the key login by itself and moves on to the form: the certificate, the new validity.
        page.wait_for_url(re.compile(r"/renewal/[0-9a-f]+/form$"), timeout=20000)
        expect(page.locator("#renewed-certificate")).to_contain_text(key)
        expect(page.locator("#renewal-price")).to_contain_text("200.00")
        page.check("input[name=seal_services][value=personal_seal]")
        page.fill("[name=agent_phone]", PHONE)
        page.check("#consent")
        page.screenshot(path=str(screenshots / "renewal-form.png"), full_page=True)
        page.click("#submit-renewal")
        expect(page.locator("#renewal-contact")).to_contain_text(PHONE)
        page.click("#return-to-edit")  # back to the form: what was typed is kept
        expect(page.locator("[name=agent_phone]")).to_have_value(PHONE)
        page.click("#submit-renewal")
        page.click("#confirm-order")

        # The SMS signature, then the QR code paid in the sandbox wallet.
        page.click("#send-code")
        page.fill("#sms_code", committed(lambda s: sms_code_in(latest_for(s, PHONE).text)))
        page.click("#confirm-signature")
        with page.context.expect_page() as opened:
            page.click("#sandbox-wallet")
        wallet = opened.value
        wallet.click("#wallet-pay")
        expect(wallet.locator("#wallet-paid")).to_be_visible()
        wallet.close()

        # Paid: no review; the key page shows the helper's steps, then the downloaded page.
        page.wait_for_url(re.compile(r"/key/[0-9a-f]+$"), timeout=20000)
        expect(page.locator("#key-steps [data-step=logged_in]")).to_be_visible()
        page.wait_for_url(re.compile(r"/apply/\w+/done$"), timeout=30000)
        expect(page.locator("#key-done")).to_be_visible()
        page.screenshot(path=str(screenshots / "renewal-done.png"))
        output, _ = helper.communicate(timeout=30)
    finally:
        if helper.poll() is None:
            helper.kill()
    assert helper.returncode == 0, output

    number = page.url.split("/apply/")[1].split("/")[0]
    worker_round(station_app)  # the signing service supersedes the old certificate
    order = committed(lambda s: s.scalars(select(Order).where(Order.number == number)).one())
    assert (order.status, order.key_work) == (OrderStatus.COMPLETED, "helper")
    new = committed(lambda s: s.scalars(select(Certificate).where(Certificate.order_id == order.id)).one())
    assert (new.not_after - old.not_after).days in (365, 366)  # from the old end date, one year on
    expect(page.locator("#certificate-validity")).to_contain_text(f"{new.not_after.year}")
    assert committed(lambda s: s.get(Certificate, old.id).status) is CertificateStatus.SUPERSEDED
    pairs, leaves = key_holds(key, password)  # the same key and password: only the new key pair is left
    assert len(pairs) == 1 and leaves == [int(new.serial_number, 16)]
