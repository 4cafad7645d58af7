"""The errors a user is told about: an English message marked for translation (N_) and its
parameters, translated where it is shown. Free of Flask, so domain code and scripts raise them."""
from __future__ import annotations


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown (an English msgid,
    written as a plain literal at the call so pybabel finds it)."""
    return message


class UserError(Exception):
    """What the user is told when an action cannot be done: an English msgid (marked with N_)
    and its parameters, translated where it is shown: `gettext(exc.message, **exc.params)`."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class InvalidValue(UserError, ValueError):
    """A value typed by the user is not acceptable; `str(exc)` is the message for the user."""
