"""Every check of typed text, by property: a value built to be valid is accepted, and reads the
same when checked again (normalising is idempotent) or typed with the usual noise around it;
any text at all (control characters, lone surrogates, bidi marks, emoji, huge lengths) is either
accepted as something a database and a screen can hold, or refused with the check's own error
and a message for the user, never anything else.

The registry below is the coverage: the public functions of the validator modules are found by
looking, and a test fails when one has no entry, so a validator added later gets its property
when it lands."""
from __future__ import annotations

import inspect
import string
from dataclasses import dataclass
from datetime import date
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from public import idempotency
from public import validators as v
from review import context
from web import text
from web.errors import InvalidValue

# Modules whose every public function checks user input.
VALIDATOR_MODULES: tuple[ModuleType, ...] = (v, text)

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

DIGITS = string.digits
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
             "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
             "81", "82"]
# What people paste and what attackers send: controls, invisible and bidi marks, a combining mark,
# emoji, CJK, full-width forms, the ideographic space, SQL and LIKE metacharacters.
HOSTILE_ALPHABET = ("\x00\x07\t\n\r\x1b\x1f\x7f\x85\u00a0\u200b\u200d\u2060\u202e\u2066\ufeff\u3000\u0301"
                    "\U0001f600\ud800中文号字第转＋８６（）ＡＢ１２%_\\'\"<>&;-/@.#() Xx" + DIGITS)


def digits(n: int, m: int | None = None) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=n, max_size=n if m is None else m)


def any_text() -> st.SearchStrategy[str]:
    """Any text a Python string holds (lone surrogates included), short, hostile or very long."""
    return st.one_of(
        st.text(st.characters(exclude_categories=())),
        st.text(st.sampled_from(HOSTILE_ALPHABET), max_size=40),
        st.builds(lambda piece, times: piece * times, st.text(st.sampled_from(HOSTILE_ALPHABET), min_size=1,
                                                                max_size=4), st.integers(1_000, 20_000)),
        st.text(st.sampled_from(" \t\u3000\u00a0\u2003\n"), max_size=10),
    )


@st.composite
def credit_codes(draw) -> str:
    first17 = (draw(st.sampled_from("123456789ANY")) + draw(st.sampled_from(CREDIT_ALPHABET)) + draw(digits(6))
               + "".join(draw(st.lists(st.sampled_from(CREDIT_ALPHABET), min_size=9, max_size=9))))
    return first17 + v.credit_code_check_char(first17)


@st.composite
def resident_ids(draw) -> str:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date.today()))
    first17 = draw(st.sampled_from(PROVINCES)) + draw(digits(4)) + born.strftime("%Y%m%d") + draw(digits(3))
    return first17 + v.resident_id_check_char(first17)


passports = st.builds(lambda letters, number: letters + number, st.text(string.ascii_letters, max_size=3),
                      digits(5, 14))
military_cards = st.builds(lambda prefix, number, suffix: prefix + number + suffix,
                           st.sampled_from(["", "军字第", "南字第"]), digits(7, 8), st.sampled_from(["", "号"]))
taiwan_permits = st.one_of(digits(8), digits(10), st.builds(lambda n, c: f"{n}({c})", digits(8),
                                                            st.sampled_from(string.ascii_uppercase)))
home_return_permits = st.builds(lambda hm, n: hm + n, st.sampled_from("HM"),
                                st.one_of(digits(8), digits(10)))
mobiles = st.builds(lambda second, rest: "1" + second + rest, st.sampled_from("3456789"), digits(9))
landlines = st.builds(lambda area, local, ext: f"{area}-{local}-{ext}" if ext else f"{area}-{local}",
                      st.one_of(st.just("010"), digits(1).map("02".__add__),
                                st.builds(lambda d, t: "0" + d + t, st.sampled_from("3456789"), digits(2))),
                      digits(7, 8), st.one_of(st.just(""), digits(1, 6)))
emails = st.builds(lambda local, domain, tld: f"{local}@{domain}.{tld}",
                   st.text(string.ascii_lowercase + DIGITS + "._-", min_size=1, max_size=20)
                   .filter(lambda s: s[0] not in "._-" and s[-1] not in "._-" and ".." not in s),
                   st.sampled_from(["example", "ca-desk", "例子", "信源"]), st.sampled_from(["com", "cn", "中国"]))
taxpayer_ids = st.one_of(credit_codes(), st.text(string.ascii_uppercase + DIGITS, min_size=15, max_size=15),
                         st.text(string.ascii_uppercase + DIGITS, min_size=17, max_size=17),
                         st.text(string.ascii_uppercase + DIGITS, min_size=20, max_size=20))
plain = st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), min_size=1, max_size=200)


@dataclass(frozen=True)
class Case:
    """How to call one validator, what it accepts, and what typing noise it must see through."""

    check: callable
    valid: st.SearchStrategy[str]
    error: type[Exception] = InvalidValue
    # Transformations of a valid value the check reads as the same value.
    noise: tuple[str, ...] = ("around",)
    # A helper that completes a value rather than normalising one: the check it completes.
    completes: callable = None


def _with_type(id_type: str):
    return lambda s: v.id_number(id_type, s)


def _id_number_any_type(s: str) -> str:
    # The type comes from a form field, so it is user input too: an unknown one is refused.
    for id_type in (*v.ID_TYPES, "driving_licence", ""):
        try:
            return v.id_number(id_type, s)
        except InvalidValue:
            continue
    raise InvalidValue("no type")


COMPACTED = ("around", "full-width", "spaced")
REGISTRY: dict[str, Case] = {
    "unified_social_credit_code": Case(v.unified_social_credit_code, credit_codes(), noise=(*COMPACTED, "lower")),
    "credit_code_check_char": Case(v.credit_code_check_char, credit_codes().map(lambda c: c[:17]),
                                   error=ValueError, noise=(), completes=v.unified_social_credit_code),
    "resident_id_number": Case(v.resident_id_number, resident_ids(), noise=(*COMPACTED, "lower")),
    "resident_id_check_char": Case(v.resident_id_check_char, resident_ids().map(lambda c: c[:17]),
                                   error=ValueError, noise=(), completes=v.resident_id_number),
    "passport_number": Case(v.passport_number, passports, noise=(*COMPACTED, "lower")),
    "military_officer_card": Case(v.military_officer_card, military_cards, noise=COMPACTED),
    "taiwan_compatriot_permit": Case(v.taiwan_compatriot_permit, taiwan_permits, noise=(*COMPACTED, "lower")),
    "home_return_permit": Case(v.home_return_permit, home_return_permits, noise=(*COMPACTED, "lower")),
    "id_number": Case(_id_number_any_type, st.one_of(resident_ids(), passports, military_cards, taiwan_permits,
                                                     home_return_permits), noise=COMPACTED),
    "mainland_mobile": Case(v.mainland_mobile, mobiles, noise=(*COMPACTED, "+86", "hyphens")),
    "landline_or_mobile": Case(v.landline_or_mobile, st.one_of(mobiles, landlines), noise=("around", "full-width")),
    "email_address": Case(v.email_address, emails),
    "bank_account_number": Case(v.bank_account_number, digits(8, 30), noise=COMPACTED),
    "taxpayer_id": Case(v.taxpayer_id, taxpayer_ids, noise=(*COMPACTED, "lower")),
    "plain_text": Case(text.plain_text, plain, noise=()),
    # Other checks of typed text, outside the validator modules.
    "idempotency.check_key": Case(idempotency.check_key, plain.filter(lambda s: s.strip() and len(s) <= 255)),
    "context.clean_note": Case(context.clean_note, plain.filter(str.strip), noise=("around",)),
}
# The id number checks of each type, called as the forms call them.
for _type, _valid in zip(v.ID_TYPES, (resident_ids(), passports, military_cards, taiwan_permits,
                                      home_return_permits), strict=True):
    REGISTRY[f"id_number[{_type}]"] = Case(_with_type(_type), _valid, noise=COMPACTED)


def public_validators() -> list[str]:
    found = []
    for module in VALIDATOR_MODULES:
        for name, member in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and member.__module__ == module.__name__:
                found.append(name)
    return sorted(found)


def test_every_public_validator_has_a_property():
    found = public_validators()
    assert len(found) >= 15, f"discovery found too few validators: {found}"
    missing = [name for name in found if name not in REGISTRY]
    assert not missing, f"validators without a property test in REGISTRY: {missing}"


FULL_WIDTH = {cp - 0xFEE0: cp for cp in range(0xFF01, 0xFF5F)}


def _noisy(draw, value: str, noise: str) -> str:
    if noise == "around":
        return draw(st.sampled_from([" ", "\u3000", ""])) + value + draw(st.sampled_from([" ", "\u3000", ""]))
    if noise == "full-width":
        return value.translate(FULL_WIDTH)
    if noise == "spaced":
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    if noise == "lower":
        return value.lower() if value.isascii() else value
    if noise == "+86":
        return "+86 " + value
    if noise == "hyphens":
        return f"{value[:3]}-{value[3:7]}-{value[7:]}"
    raise AssertionError(noise)


@pytest.mark.parametrize("name", sorted(REGISTRY))
@FUZZ
@given(data=st.data())
def test_a_valid_value_is_accepted_and_normalising_it_again_changes_nothing(name, data):
    case = REGISTRY[name]
    value = data.draw(case.valid, label="valid")
    once = case.check(value)
    if case.completes:
        assert case.completes(value + once) == value + once
        return
    assert case.check(once) == once
    for noise in case.noise:
        typed = _noisy(data.draw, value, noise)
        assert case.check(typed) == once, (noise, typed)


@pytest.mark.parametrize("name", sorted(REGISTRY))
@FUZZ
@given(typed=any_text())
def test_any_text_is_accepted_as_storable_text_or_refused_with_a_message(name, typed):
    case = REGISTRY[name]
    try:
        answer = case.check(typed)
    except case.error as exc:
        assert str(exc).strip(), "refused without a message"
        return
    assert isinstance(answer, str)
    if case.error is InvalidValue:
        assert case.check(answer) == answer
        text.plain_text(answer, multiline=name == "context.clean_note")


def test_the_check_char_helpers_refuse_what_is_not_a_body_with_their_own_error():
    # They are called on checked input only; anything else is a programming error (ValueError).
    with pytest.raises(ValueError):
        v.credit_code_check_char("\x00" * 17)
    with pytest.raises(ValueError):
        v.resident_id_check_char("１" * 17)
