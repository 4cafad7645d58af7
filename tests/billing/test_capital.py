"""Capital numerals (大写金额) as printed on invoices."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.capital import DIGITS, MAX_CENTS, capital_amount


@pytest.mark.parametrize(("cents", "words"), [
    (0, "零元整"),
    (1, "壹分"),
    (10, "壹角"),
    (55, "伍角伍分"),
    (100, "壹元整"),
    (150, "壹元伍角"),
    (105, "壹元零伍分"),
    (1000, "壹拾元整"),
    (1050, "壹拾元零伍角"),
    (1500, "壹拾伍元整"),
    (30000, "叁佰元整"),
    (31800, "叁佰壹拾捌元整"),
    (32504, "叁佰贰拾伍元零肆分"),
    (100005, "壹仟元零伍分"),
    (100500, "壹仟零伍元整"),
    (168032, "壹仟陆佰捌拾元零叁角贰分"),
    (1000000, "壹万元整"),
    (1640902, "壹万陆仟肆佰零玖元零贰分"),
    (10010000, "壹拾万零壹佰元整"),
    (10700053, "壹拾万零柒仟元零伍角叁分"),
    (1000000000, "壹仟万元整"),
    (10000000000, "壹亿元整"),
    (10000000100, "壹亿零壹元整"),
    (10001000000, "壹亿零壹万元整"),
    (11000000000, "壹亿壹仟万元整"),
    (200000000000, "贰拾亿元整"),
    (MAX_CENTS, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    (-31800, "负叁佰壹拾捌元整"),
])
def test_capital_amount(cents, words):
    assert capital_amount(cents) == words


@pytest.mark.parametrize("bad", [1.5, "100", True])
def test_only_int_cents(bad):
    with pytest.raises(TypeError):
        capital_amount(bad)


def test_too_large():
    with pytest.raises(ValueError):
        capital_amount(MAX_CENTS + 1)


def _section(words: str) -> int:
    """壹仟零伍 → 1005 (one group of up to four digits)."""
    value, digit = 0, 0
    for char in words:
        if char in DIGITS:
            digit = DIGITS.index(char)
        else:
            value += digit * {"拾": 10, "佰": 100, "仟": 1000}[char]
            digit = 0
    return value + digit


def parse_capital(words: str) -> int:
    """The inverse of capital_amount, written independently of it."""
    if words.startswith("负"):
        return -parse_capital(words[1:])
    words = words.removesuffix("整")
    yuan_words, _, fraction = words.rpartition("元") if "元" in words else ("", "", words)
    yuan = 0
    for unit, scale in (("亿", 10**8), ("万", 10**4)):
        if unit in yuan_words:
            high, yuan_words = yuan_words.split(unit)
            yuan += _section(high.replace("零", "")) * scale
    yuan += _section(yuan_words.replace("零", ""))
    cents = 0
    for unit, scale in (("角", 10), ("分", 1)):
        if unit in fraction:
            digit, fraction = fraction.split(unit)
            cents += DIGITS.index(digit[-1]) * scale
    return yuan * 100 + cents


@given(st.one_of(st.integers(0, 10**10), st.integers(0, MAX_CENTS)))
def test_round_trips_through_a_parser(cents):
    assert parse_capital(capital_amount(cents)) == cents


@given(st.integers(1, 10**10))
def test_form_of_the_words(cents):
    words = capital_amount(cents)
    assert "零零" not in words
    assert not words.startswith(("零", "拾"))
    assert words.endswith("整") == (cents % 100 == 0)
    assert ("元" in words) == (cents >= 100)
