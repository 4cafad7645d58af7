"""The outbox keeps its promise: what was committed is sent once, on the retry schedule, and what
cannot be sent ends failed (or a transfer's outcome unknown) for a person to see; never a second
transfer."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
import time_machine
from sqlalchemy import select

from models import BankTransfer, Delivery, Order, SmsMessage
from notifications import outbox
from notifications.delivery import NO_OUTCOME, Gateways, RetryPolicy, deliver_pending
from notifications.interfaces import SmsContent, SmsDeliveryError, SmsGateway, TransferOutcomeUnknown
from notifications.transfers import SandboxTransferGateway
from tests import factories
from tests.databases import at_once, own_app
from web import services
from web.edge import unit_of_work
from web.extensions import db

START = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)
PHONE = "13700005555"
TEXT = SmsContent("review_approved", "SMS_000003", {"number": "20261207U000001"},
                  "【数字证书】您的订单20261207U000001已审核通过。")
MINUTE = dt.timedelta(minutes=1)


class Crash(BaseException):
    """The process is killed: no handler of the product's catches it."""


class Carrier:
    """An SMS gateway that fails the first `failures` sends and records every message it takes."""

    def __init__(self, failures: int = 0, *, crash: bool = False, pause: float = 0.0):
        self.failures, self.crash, self.pause = failures, crash, pause
        self.sent: list[tuple[str, SmsContent]] = []
        self.tries = 0
        self.lock = threading.Lock()

    def send(self, phone: str, message: SmsContent) -> str:
        with self.lock:
            self.tries += 1
            if self.crash:
                self.crash = False
                raise Crash()
            if self.failures:
                self.failures -= 1
                raise SmsDeliveryError(f"carrier down ({self.tries})")
        threading.Event().wait(self.pause)
        with self.lock:
            self.sent.append((phone, message))
            return f"c-{len(self.sent)}"


class Bank(SandboxTransferGateway):
    """The sandbox bank, whose next `lost` answers are lost, with or without the transfer made;
    it counts every request to make a transfer."""

    def __init__(self, lost: int = 0, *, made: bool = True, status_down: bool = False):
        super().__init__()
        self.lost, self.made, self.status_down = lost, made, status_down
        self.requests: list[str] = []

    def send(self, request_no, *transfer) -> str:
        self.requests.append(request_no)
        if self.lost:
            self.lost -= 1
            if self.made:
                super().send(request_no, *transfer)
            raise TransferOutcomeUnknown("bank unreachable: timed out")
        return super().send(request_no, *transfer)

    def status(self, request_no: str) -> str | None:
        if self.status_down:
            self.status_down = False
            raise TransferOutcomeUnknown("bank unreachable: timed out")
        return super().status(request_no)


@pytest.fixture
def policy(app) -> RetryPolicy:
    return RetryPolicy.from_config(app.config)


@pytest.fixture
def order(app, db_session) -> Order:
    return factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])


def test_the_schedule_is_2_10_60_minutes_then_6_hours_and_five_attempts_in_all(db_session, policy):
    carrier = Carrier(failures=99)
    gateways = Gateways(sms=carrier, mailer=None, bank=None)
    with time_machine.travel(START, tick=False) as clock:
        message = outbox.queue_sms(db_session, PHONE, TEXT)
        deliver_pending(db_session, gateways, policy)
        for delay, attempts in ((2, 1), (10, 2), (60, 3), (360, 4)):
            assert (message.status, message.attempts) == ("queued", attempts)
            assert message.next_attempt_at == dt.datetime.now(dt.UTC) + delay * MINUTE
            clock.shift(delay * MINUTE - dt.timedelta(seconds=1))
            deliver_pending(db_session, gateways, policy)
            assert carrier.tries == attempts, "not a second early"
            clock.shift(dt.timedelta(seconds=1))
            deliver_pending(db_session, gateways, policy)
            assert carrier.tries == attempts + 1
        assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 5, None)
        assert message.error == "carrier down (5)" and message.needs_a_person
        clock.shift(dt.timedelta(days=3))
        tally = deliver_pending(db_session, gateways, policy)
    assert carrier.tries == 5 and carrier.sent == [] and tally.sent == 0


def test_a_failed_attempt_is_retried_and_the_message_sent_once(db_session, policy):
    carrier = Carrier(failures=1)
    gateways = Gateways(sms=carrier, mailer=None, bank=None)
    with time_machine.travel(START, tick=False) as clock:
        message = outbox.queue_sms(db_session, PHONE, TEXT)
        deliver_pending(db_session, gateways, policy)
        clock.shift(2 * MINUTE)
        assert deliver_pending(db_session, gateways, policy).sent == 1
        clock.shift(dt.timedelta(days=1))
        deliver_pending(db_session, gateways, policy)
    assert carrier.sent == [(PHONE, TEXT)]
    assert (message.status, message.attempts, message.error, message.provider_ref) == ("sent", 2, None, "c-1")


def test_the_last_attempt_given_up_is_reported(runner, db_session, app):
    message = outbox.queue_sms(db_session, PHONE, TEXT)
    message.attempts, message.error = 4, "carrier down"
    db_session.commit()
    message_id = message.id
    with services.service_replaced(app, SmsGateway, Carrier(failures=1)):
        result = runner.invoke(args=["notifications", "deliver-pending"])
    assert result.exit_code == 1
    assert "given up 1" in result.output and f"sms_message {message_id} failed" in result.output
    message = db_session.get(SmsMessage, message_id)
    assert (message.status, message.attempts) == ("failed", 5) and message.needs_a_person


def test_a_committed_message_waits_for_a_worker_and_goes_out_once(tmp_path, tmp_path_factory, database_url):
    """The unit of work that queues a message only commits it; a run of `deliver-pending` (what
    every worker does all the time) sends it, and a second run sends nothing."""
    with (own_app(tmp_path, tmp_path_factory, database_url) as app,
          services.service_replaced(app, SmsGateway, Carrier()) as carrier):
        with app.app_context():
            with unit_of_work():
                message_id = outbox.queue_sms(db.session, PHONE, TEXT).id
            assert db.session.get(SmsMessage, message_id).status == "queued" and carrier.sent == []
        for _ in range(2):
            result = app.test_cli_runner().invoke(args=["notifications", "deliver-pending"])
            assert result.exit_code == 0, result.output
        with app.app_context():
            message = db.session.get(SmsMessage, message_id)
            assert (message.status, message.attempts) == ("sent", 1)
    assert carrier.sent == [(PHONE, TEXT)]


def test_a_sender_killed_during_the_send_leaves_the_message_to_a_later_run(db_session, policy):
    carrier = Carrier(crash=True)
    gateways = Gateways(sms=carrier, mailer=None, bank=None)
    with time_machine.travel(START, tick=False) as clock:
        message = outbox.queue_sms(db_session, PHONE, TEXT)
        with pytest.raises(Crash):
            deliver_pending(db_session, gateways, policy)
        assert (message.status, message.attempts) == ("sending", 1)
        deliver_pending(db_session, gateways, policy)
        assert carrier.sent == [], "claimed by a sender that may still be at it"
        clock.shift(2 * MINUTE)
        deliver_pending(db_session, gateways, policy)
        deliver_pending(db_session, gateways, policy)
    assert carrier.sent == [(PHONE, TEXT)] and (message.status, message.attempts) == ("sent", 2)


def test_a_sender_killed_during_the_last_attempt_leaves_it_failed(db_session):
    policy = RetryPolicy((2 * MINUTE,), max_attempts=1)
    gateways = Gateways(sms=Carrier(crash=True), mailer=None, bank=None)
    with time_machine.travel(START, tick=False) as clock:
        message = outbox.queue_sms(db_session, PHONE, TEXT)
        with pytest.raises(Crash):
            deliver_pending(db_session, gateways, policy)
        clock.shift(2 * MINUTE)
        tally = deliver_pending(db_session, gateways, policy)
    assert tally.given_up == [f"sms_message {message.id} failed"]
    assert (message.status, message.error, message.next_attempt_at) == ("failed", NO_OUTCOME, None)


def test_two_runs_at_once_send_each_message_once(tmp_path, tmp_path_factory, database_url):
    carrier = Carrier(pause=0.01)
    with own_app(tmp_path, tmp_path_factory, database_url) as app:
        with app.app_context():
            with unit_of_work():
                for i in range(20):
                    outbox.queue_sms(db.session, f"1370000{i:04d}", TEXT)
            policy = RetryPolicy.from_config(app.config)

        def run():
            with app.app_context():
                return deliver_pending(db.session, Gateways(sms=carrier, mailer=None, bank=None), policy).sent

        assert sum(at_once([run, run])) == 20
        with app.app_context():
            statuses = Counter(db.session.scalars(select(SmsMessage.status)))
            attempts = set(db.session.scalars(select(SmsMessage.attempts)))
    assert statuses == {"sent": 20} and attempts == {1}
    assert sorted(phone for phone, _ in carrier.sent) == [f"1370000{i:04d}" for i in range(20)]


def test_a_code_not_sent_before_it_expired_is_never_sent(db_session, policy):
    carrier = Carrier(failures=1)
    gateways = Gateways(sms=carrier, mailer=None, bank=None)
    with time_machine.travel(START, tick=False) as clock:
        message = outbox.queue_sms(db_session, PHONE, TEXT, expires_at=START + 5 * MINUTE)
        deliver_pending(db_session, gateways, policy)
        clock.shift(12 * MINUTE)
        tally = deliver_pending(db_session, gateways, policy)
    assert tally.expired == 1 and carrier.sent == []
    assert (message.status, message.next_attempt_at, message.needs_a_person) == ("expired", None, False)


def _transfer(session, order) -> BankTransfer:
    return outbox.queue_transfer(session, order, "数字证书20261207U000001密码12345678")


def test_a_transfer_made_but_not_answered_for_is_marked_sent_without_a_second_one(db_session, order, policy):
    bank = Bank(lost=1, made=True)
    gateways = Gateways(sms=None, mailer=None, bank=bank)
    with time_machine.travel(START, tick=False) as clock:
        transfer = _transfer(db_session, order)
        deliver_pending(db_session, gateways, policy)
        assert (transfer.status, transfer.attempts, transfer.error) == ("unknown", 1, "bank unreachable: timed out")
        assert not transfer.needs_a_person
        clock.shift(2 * MINUTE)
        deliver_pending(db_session, gateways, policy)
        clock.shift(dt.timedelta(days=1))
        deliver_pending(db_session, gateways, policy)
    assert bank.requests == [transfer.request_no], "asked about, never made again"
    assert (transfer.status, transfer.provider_ref) == ("sent", bank.ledger[transfer.request_no].ref)


def test_a_transfer_not_made_is_made_again_with_the_same_request_number(db_session, order, policy):
    bank = Bank(lost=1, made=False)
    gateways = Gateways(sms=None, mailer=None, bank=bank)
    with time_machine.travel(START, tick=False) as clock:
        transfer = _transfer(db_session, order)
        deliver_pending(db_session, gateways, policy)
        assert transfer.status == "unknown" and bank.ledger == {}
        clock.shift(2 * MINUTE)
        deliver_pending(db_session, gateways, policy)
    assert bank.requests == [transfer.request_no, transfer.request_no]
    assert transfer.status == "sent" and list(bank.ledger) == [transfer.request_no]


def test_a_transfer_stays_unknown_while_the_bank_cannot_be_asked(db_session, order, policy):
    bank = Bank(lost=1, made=True, status_down=True)
    gateways = Gateways(sms=None, mailer=None, bank=bank)
    with time_machine.travel(START, tick=False) as clock:
        transfer = _transfer(db_session, order)
        deliver_pending(db_session, gateways, policy)
        clock.shift(2 * MINUTE)
        deliver_pending(db_session, gateways, policy)
        assert (transfer.status, transfer.attempts) == ("unknown", 2)
        assert transfer.error.startswith("status query:")
        clock.shift(10 * MINUTE)
        deliver_pending(db_session, gateways, policy)
    assert transfer.status == "sent" and bank.requests == [transfer.request_no]


def test_a_transfer_the_bank_never_answers_for_is_left_to_a_person(db_session, order):
    policy = RetryPolicy((2 * MINUTE,), max_attempts=2)
    bank = Bank(lost=9, made=False)
    gateways = Gateways(sms=None, mailer=None, bank=bank)
    with time_machine.travel(START, tick=False) as clock:
        transfer = _transfer(db_session, order)
        deliver_pending(db_session, gateways, policy)
        clock.shift(2 * MINUTE)
        tally = deliver_pending(db_session, gateways, policy)
    assert tally.given_up == [f"bank_transfer {transfer.id} unknown"]
    assert (transfer.status, transfer.next_attempt_at) == (Delivery.UNKNOWN, None) and transfer.needs_a_person


def test_a_transfer_whose_sender_was_killed_is_asked_about_first(db_session, order, policy):
    class Killed(Bank):
        def send(self, request_no, *transfer):
            super().send(request_no, *transfer)
            if len(self.requests) == 1:
                raise Crash()  # after the bank made it, before we heard

    bank = Killed()
    gateways = Gateways(sms=None, mailer=None, bank=bank)
    with time_machine.travel(START, tick=False) as clock:
        transfer = _transfer(db_session, order)
        with pytest.raises(Crash):
            deliver_pending(db_session, gateways, policy)
        clock.shift(2 * MINUTE)
        deliver_pending(db_session, gateways, policy)
    assert bank.requests == [transfer.request_no] and transfer.status == "sent"
