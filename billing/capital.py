"""Amounts as printed on invoices and in messages: in figures (318.00), and in Chinese capital
numerals (大写金额), e.g. 318.00 → 叁佰壹拾捌元整.

The conventions follow the People's Bank of China rules for filling in bills (正确填写票据和
结算凭证的基本规定), choosing the stricter form wherever the rules allow two:

- A leading one is written out: 壹拾元整, 壹拾万零壹佰元整 (never 拾元整), so that nothing can
  be prefixed to the amount.
- Each run of zeros between two non-zero digits is written as a single 零, wherever it falls:
  inside a group (壹仟零伍元), across 万 and 亿 (壹拾万零壹佰元, 壹亿零壹元), and across 元
  (壹仟元零伍分, 壹拾元零伍角; the rules make the last one optional, we always write it).
  Trailing zeros are not written (壹仟万元整).
- 整 follows 元 only when there are no 角 and no 分 (叁佰元整, 壹元伍角, 伍分).
- Below one yuan there is no 元 (伍角, 壹分); nothing at all is 零元整.
- A negative amount (a red invoice) is prefixed with 负.
"""
from __future__ import annotations

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
GROUP_UNITS = ("元", "万", "亿")
FRACTION_UNITS = ("角", "分")
MAX_CENTS = 10**14 - 1  # 9999 亿 9999 万 9999 元 9 角 9 分: above that the units would be 万亿


def money(cents: int) -> str:
    """Cents as yuan with two decimals: 31800 → "318.00", -5 → "-0.05"."""
    sign = "-" if cents < 0 else ""
    yuan, fen = divmod(abs(cents), 100)
    return f"{sign}{yuan}.{fen:02d}"


def capital_amount(cents: int) -> str:
    """`cents` (an int) as the 大写 amount of an invoice: 31800 → "叁佰壹拾捌元整"."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"amount must be an int number of cents, not {cents!r}")
    if cents < 0:
        return "负" + capital_amount(-cents)
    if cents > MAX_CENTS:
        raise ValueError(f"amount too large for capital numerals: {cents} cents")
    if cents == 0:
        return "零元整"

    yuan, fraction = divmod(cents, 100)
    # Digits with their unit, most significant first; 元/万/亿 close a group of four.
    places: list[tuple[int, str, str]] = []
    for power, digit in enumerate(reversed(str(yuan)) if yuan else ()):
        group, position = divmod(power, 4)
        places.append((int(digit), SMALL_UNITS[position], GROUP_UNITS[group] if position == 0 else ""))
    places.reverse()
    places += [(fraction // 10, FRACTION_UNITS[0], ""), (fraction % 10, FRACTION_UNITS[1], "")]

    words: list[str] = []
    zero_pending = False
    group_has_digit = False
    for digit, unit, group_unit in places:
        if digit:
            if zero_pending and words:
                words.append("零")
            words.append(DIGITS[digit] + unit)
            zero_pending = False
            group_has_digit = True
        else:
            zero_pending = True
        if group_unit:
            # 元 closes the integer part whenever there is one; 万 and 亿 only a non-empty group.
            if group_has_digit or group_unit == "元":
                words.append(group_unit)
            group_has_digit = False
    if fraction == 0:
        words.append("整")
    return "".join(words)
