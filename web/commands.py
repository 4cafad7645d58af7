"""CLI commands run as the requests do: each command is one unit of work (web.edge), committed
when it ends (what it queued is then the workers' to deliver), rolled back when it fails (an exit
with an error included). A batch command gives each item a unit of work of its own inside."""
from __future__ import annotations

import functools
from collections.abc import Callable

from flask.cli import AppGroup

from web.edge import unit_of_work


def in_unit_of_work(command: Callable) -> Callable:
    @functools.wraps(command)
    def run(*args, **kwargs):
        with unit_of_work():
            return command(*args, **kwargs)

    run.in_unit_of_work = True
    return run


class Commands(AppGroup):
    """An AppGroup whose every command runs in a unit of work."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda command: register(in_unit_of_work(command))
