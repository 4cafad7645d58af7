"""The key helper's side of the back office, with a fake helper (tests/public/key_helper/fake_helper.py: software
keys, no token): the pairing code, which key the session works on, the key login, and a renewal from
the home page to the new certificate on the key. The real helper on SoftHSM2 is in
tests/public/key_helper/test_helper_process.py."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from billing.services import current_services
from models import Certificate, CertificateStatus, HelperSession, Order, OrderStatus, Token
from models.base import utcnow
from notifications.outbox import latest_for
from protocol import helper as protocol
from public.key_helper import shown_code
from tests.conftest import sms_code_in
from tests.public.key_helper.fake_helper import FakeHelper
from tests.public.key_helper.pages import form_values, open_renewal, renew_and_pay, status

PIN_LIMIT = 10


def test_a_pairing_code_works_once_and_expires(station_app, client, committed, key_in_use):
    key, pem, private = key_in_use()
    public_id, code = open_renewal(client)
    helper = FakeHelper(client, key, pem, private)
    assert helper.pair(code).status_code == 200
    other = FakeHelper(station_app.test_client(), key, pem, private)
    refused = other.pair(code)
    assert refused.status_code == 422 and refused.get_json()["error"] == "code_unknown"

    # a new code (the helper was closed) voids the paired helper's credential
    committed(lambda s: setattr(s.scalars(select(HelperSession).where(HelperSession.public_id == public_id)).one(),
                                "last_seen_at", utcnow() - dt.timedelta(minutes=5)))
    assert client.post(f"/key/{public_id}/code").status_code == 302
    assert helper.post("/poll", {"keys": helper.keys, "wait": 0}).status_code == 401
    new_code = status(client, public_id)["code"]
    assert new_code and new_code != code

    def expire(session):
        found = session.scalars(select(HelperSession).where(HelperSession.public_id == public_id)).one()
        found.code_expires_at = utcnow() - dt.timedelta(seconds=1)
    committed(expire)
    assert other.pair(new_code).get_json()["error"] == "code_unknown"
    assert status(client, public_id)["code"] is None  # the page no longer shows a dead code


def test_another_browser_cannot_see_the_key_page(station_app, client, key_in_use):
    public_id, _ = open_renewal(client)
    stranger = station_app.test_client()
    assert stranger.get(f"/key/{public_id}").status_code == 404
    assert stranger.get(f"/key/{public_id}/status").status_code == 404


@pytest.mark.parametrize(("days_left", "problem"), [(120, "cannot be renewed now"), (-400, "cannot be renewed now")])
def test_a_certificate_outside_the_renewal_window_is_not_worked_on(client, key_in_use, days_left, problem):
    key, pem, private = key_in_use(days_left)
    public_id, code = open_renewal(client)
    helper = FakeHelper(client, key, pem, private)
    helper.pair(code)
    assert helper.task() is None
    assert problem in status(client, public_id)["problem"]


def test_two_keys_plugged_in_are_refused_until_one_is_pulled(client, key_in_use):
    key, pem, private = key_in_use()
    public_id, code = open_renewal(client)
    helper = FakeHelper(client, key, pem, private)
    helper.keys.append({"serial": "OTHER-1", "label": "", "model": "x", "user_pin_locked": False, "certificates": []})
    helper.pair(code)
    assert helper.task() is None
    assert "More than one key" in status(client, public_id)["problem"]
    helper.keys.pop()
    task = helper.task()
    assert task.kind is protocol.TaskKind.LOGIN and task.login.media_serial == key
    assert status(client, public_id)["problem"] is None


def test_the_key_login_proves_the_key_password_and_counts_the_wrong_ones(client, committed, key_in_use):
    key, pem, private = key_in_use()
    public_id, code = open_renewal(client)
    helper = FakeHelper(client, key, pem, private)
    helper.pair(code)
    task = helper.task()
    assert task.login.pin_tries_left == PIN_LIMIT - 1
    forged = helper.login(task, key=ec.generate_private_key(ec.SECP256R1()))  # not the certificate's key
    assert forged.status_code == 422 and forged.get_json()["error"] == "login_failed"
    assert client.get(f"/renewal/{public_id}/form").status_code == 302  # not logged in: back to the key page

    assert helper.login(task, wrong_pins=2).status_code == 200
    assert committed(lambda s: s.scalars(select(Token).where(Token.serial == key)).one().wrong_user_pins) == 0
    assert status(client, public_id)["next"] == f"/renewal/{public_id}/form"
    assert helper.task() is None  # nothing for the helper while the applicant fills in the form


def test_a_renewal_from_the_home_page_to_the_new_certificate_on_the_key(station_app, client, committed, key_in_use,
                                                                       worker_round_station):
    key, pem, private = key_in_use(days_left=30)
    public_id, code = open_renewal(client)
    helper = FakeHelper(client, key, pem, private)
    helper.pair(code)
    assert helper.login(helper.task()).status_code == 200

    form = client.get(f"/renewal/{public_id}/form?lang=en").get_data(as_text=True)
    assert "Personal seal (handwritten signature)" in form and "200.00" in form
    values = form_values(form)
    values.update(consent="y", seal_services="handwritten_signature", agent_phone="13700000001", agent_name="")
    rejected = client.post(f"/renewal/{public_id}/form?lang=en", data=values)
    assert rejected.status_code == 200 and "This field is required." in rejected.get_data(as_text=True)
    assert 'value="13700000001"' in rejected.get_data(as_text=True)  # what was typed is kept
    values["agent_name"] = "王续"
    assert client.post(f"/renewal/{public_id}/form", data=values).headers["Location"].endswith("/confirm")
    confirm = client.get(f"/renewal/{public_id}/confirm?lang=en").get_data(as_text=True)
    assert "王续" in confirm and 'id="return-to-edit"' in confirm
    assert 'value="13700000001"' in client.get(f"/renewal/{public_id}/form").get_data(as_text=True)

    made = client.post(f"/renewal/{public_id}/confirm")
    number = made.headers["Location"].split("/")[2]
    client.post(f"/apply/{number}/signature/code")
    sms = committed(lambda s: latest_for(s, "13700000001").text)
    assert client.post(f"/apply/{number}/signature", data={"sms_code": sms_code_in(sms)}).status_code == 302
    assert "200.00" in client.get(f"/apply/{number}/pay").get_data(as_text=True)
    with station_app.app_context():
        current_services().provider.pay(number)
    assert client.get(f"/apply/{number}/pay/status").get_json()["waiting"] is False
    assert committed(lambda s: s.scalars(select(Order.status).where(Order.number == number)).one()) \
        is OrderStatus.APPROVED  # no review: the key login identified the certificate

    task = helper.task()
    assert task.kind is protocol.TaskKind.RENEW and task.renew.media_serial == key
    assert helper.poll(running_task=task.task_id).task is None  # handed out once
    new_pem = helper.renew(task)
    assert helper.poll().over
    worker_round_station()

    def read(session):
        order = session.scalars(select(Order).where(Order.number == number)).one()
        new = session.scalars(select(Certificate).where(Certificate.order_id == order.id)).one()
        old = session.get(Certificate, order.certificate_id)
        token = session.scalars(select(Token).where(Token.serial == key)).one()
        return order.status, order.key_work, new.media_serial, old.status, old.not_after, new.not_after, token.renewals
    status_, key_work, media, old_status, old_end, new_end, renewals = committed(read)
    assert (status_, key_work, media, old_status, renewals) == (
        OrderStatus.COMPLETED, "helper", key, CertificateStatus.SUPERSEDED, 1)
    assert new_end.date() >= (old_end + dt.timedelta(days=360)).date()  # from the old end date, one more year
    done = client.get(f"/apply/{number}/done?lang=en").get_data(as_text=True)
    assert "key password has not changed" in done and new_pem
    assert shown_code("12345678") == "1234-5678"


def test_the_key_page_says_how_to_install_and_start_the_helper(client):
    public_id, code = open_renewal(client)
    page = client.get(f"/key/{public_id}?lang=en").get_data(as_text=True)
    assert 'id="helper-help" href="/help/key-helper"' in page or 'href="/help/key-helper"' in page
    help_page = client.get("/help/key-helper?lang=en").get_data(as_text=True)
    assert "pip install ukey_helper-" in help_page and "ukey-helper --url http://localhost --code" in help_page
    assert "never leaves your PC" in help_page
    assert 'id="by-post"' in help_page and 'href="/query"' in help_page  # the way by post, from the order query
    assert 'href="/help/key-helper#by-post"' in page


def test_a_failure_the_helper_reports_is_said_plainly_and_key_work_can_be_tried_again(station_app, client,
                                                                                       committed, key_in_use):
    key, pem, private = key_in_use()
    public_id, code = open_renewal(client)
    helper = FakeHelper(client, key, pem, private)
    helper.pair(code)
    login = helper.task()
    assert helper.post(f"/tasks/{login.task_id}/failure", {"error": "wrong_pin", "message": "wrong",
                                                           "wrong_pins": [{"pin": "user"}] * 2}).status_code == 200
    said = status(client, public_id)
    assert said["error"] == "The key password is wrong: type it again when the helper asks." and not said["failed"]
    assert helper.task().login.pin_tries_left == PIN_LIMIT - 3  # two wrong ones counted on the key's record
    assert helper.login(login).status_code == 200
    assert status(client, public_id)["error"] is None

    renew_and_pay(station_app, client, committed, public_id, phone="13700000004")
    task = helper.task()
    assert helper.post(f"/tasks/{task.task_id}/failure", {"error": "token_pulled", "message": "pulled",
                                                          "step": "key_generated"}).status_code == 200
    said = status(client, public_id)
    assert said["failed"] and "pulled out" in said["error"]
    assert helper.task() is None  # not handed out again by itself
    assert client.post(f"/key/{public_id}/retry").status_code == 302
    again = helper.task()
    assert again.task_id == task.task_id and again.renew.key_id == task.renew.key_id  # the same work, resumed
