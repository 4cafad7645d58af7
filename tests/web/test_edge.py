"""One unit of work for requests and commands: commit what was queued for the workers to deliver;
on an error roll back, and nothing is ever delivered."""
from __future__ import annotations

import click
import pytest
from sqlalchemy import select

from models import SmsMessage
from notifications import outbox
from notifications.interfaces import SmsContent
from web.commands import Commands
from web.extensions import db


@pytest.fixture
def commands(app):
    group = Commands("uow-test")

    @group.command("send")
    @click.argument("phone")
    @click.option("--fail", is_flag=True)
    def send(phone: str, fail: bool) -> None:
        outbox.queue_sms(db.session, phone, SmsContent("test", "SMS_T", {}, "一条测试短信"))
        if fail:
            raise click.ClickException("the command failed after queueing")

    app.cli.add_command(group)
    yield
    app.cli.commands.pop("uow-test")


def _messages(db_session, phone: str) -> list[SmsMessage]:
    return list(db_session.scalars(select(SmsMessage).where(SmsMessage.phone == phone)))


def test_a_command_commits_what_it_queued_for_the_workers(runner, db_session, commands, worker_round):
    result = runner.invoke(args=["uow-test", "send", "13700003333"])
    assert result.exit_code == 0, result.output
    assert [m.status for m in _messages(db_session, "13700003333")] == ["queued"]
    worker_round()
    db_session.expire_all()
    assert [m.status for m in _messages(db_session, "13700003333")] == ["sent"]


def test_a_failing_command_keeps_and_sends_nothing(runner, db_session, commands, worker_round):
    result = runner.invoke(args=["uow-test", "send", "13700004444", "--fail"])
    assert result.exit_code != 0 and "failed after queueing" in result.output
    assert worker_round() == 0
    assert _messages(db_session, "13700004444") == []


def test_every_command_of_the_product_runs_in_a_unit_of_work(app):
    unwrapped = []
    for name, command in app.cli.commands.items():
        if name in ("db", "uow-test"):  # Flask-Migrate's own, and the fixture's
            continue
        if name in ("backup", "restore"):  # they work on the database itself (a snapshot, a file put back);
            continue                       # restore records itself in a unit of work of its own
        if name == "worker":  # a loop of short transactions: claims, and a unit of work for each piece of work
            continue
        for sub, leaf in (command.commands.items() if hasattr(command, "commands") else [(None, command)]):
            if not getattr(leaf.callback, "in_unit_of_work", False):
                unwrapped.append(f"{name} {sub or ''}".strip())
    assert not unwrapped, unwrapped
