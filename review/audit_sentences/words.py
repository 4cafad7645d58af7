"""The words the audit sentences share: who did it, the record's fields, amounts and lists."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import gettext as _

from models import RevocationReason
from review.forms import REVOCATION_REASONS
from web.labels import label

STAFF = "staff:"


def who(actor: str | None, names: dict[str, str]) -> str:
    """The actor as a sentence names it: a staff member by display name, others by what they are."""
    text, _ours = named_actor(actor, names)
    return text


def named_actor(actor: str | None, names: dict[str, str]) -> tuple[str, bool]:
    """(name, whether it is one of our phrases, which may be capitalised at a sentence's start)."""
    actor = actor or ""
    kind, _sep, rest = actor.partition(":")
    if kind == "staff" and rest:
        return names.get(rest) or rest, False
    if kind == "applicant":
        return _("the applicant"), True
    if kind == "system":
        return _("the system"), True
    if kind == "station" and rest:
        return _("station %(name)s", name=rest), True
    if kind == "courier" and rest:
        return _("courier %(code)s", code=rest), True
    if actor == "signing-service":
        return _("the signing service"), True
    if kind == "cli":
        return _("an operator at the command line"), True
    if kind == "payment":
        return _("the payment provider %(name)s", name=rest.partition(":")[0]), True
    if kind == "ip":
        return _("someone at %(address)s", address=rest), True
    return actor, False


def get(record: dict | None, key: str, default: Any = None) -> Any:
    return record.get(key, default) if isinstance(record, dict) else default


def target_of(entry, prefix: str) -> str:
    """The id in the entry's target "<prefix>:<id>" (or the whole target)."""
    target = entry.target or ""
    return target[len(prefix) + 1:] if target.startswith(prefix + ":") else target


def yuan(cents: Any) -> str:
    try:
        cents = int(cents)
    except (TypeError, ValueError):
        return "?"
    return f"{cents // 100}.{cents % 100:02d}"


def with_note(text: str, note: str | None) -> str:
    return _("%(sentence)s Note: %(note)s", sentence=text, note=note) if note else text


def kinds_of(codes: str) -> str:
    return listed(label(code.strip()) for code in codes.split(",") if code.strip())


def listed(items: Iterable[str]) -> str:
    """Items joined as the language lists them ("a, b" / "a、b")."""
    return _(", ").join(items)


def revocation_reason(name: Any) -> str:
    names = {code.name.lower(): text for code, text in REVOCATION_REASONS}
    if isinstance(name, int):
        try:
            name = RevocationReason(name).name.lower()
        except ValueError:
            return str(name)
    return str(names.get(name, name or ""))


Writer = Callable[[Any, str, dict[str, str]], str]


def phrase(phrases: dict[str, Callable[[], str]], key: Any) -> str:
    """The phrase a table has for the key, in the current language; the key itself when it has none."""
    return phrases[key]() if key in phrases else str(key)
