"""Tests for public/validators.py: examples for every message, properties for the checksums."""

from __future__ import annotations

import re
import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from public import validators as v
from web.errors import InvalidValue

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_AUTHORITIES = "123456789ANY"
PROVINCES = (
    [f"{n}" for n in range(11, 16)]
    + [f"{n}" for n in range(21, 24)]
    + [f"{n}" for n in range(31, 38)]
    + [f"{n}" for n in range(41, 47)]
    + [f"{n}" for n in range(50, 55)]
    + [f"{n}" for n in range(61, 66)]
    + ["71", "81", "82"]
)

# Known-valid values published elsewhere (not produced by the code under test).
KNOWN_CREDIT_CODE = "91350100M000100Y43"
KNOWN_RESIDENT_ID = "11010519491231002X"  # GB 11643-1999 example
# The standard's other example: checksum is right, but the birth year is 1880.
KNOWN_RESIDENT_ID_1880 = "440524188001010014"

MSG_CREDIT_LENGTH = "The unified social credit code must have 18 characters."
MSG_CREDIT_CHARS = (
    "The unified social credit code contains characters that are not allowed."
)
MSG_CREDIT_AUTHORITY = (
    "The first character of the unified social credit code is not a valid "
    "registration authority code."
)
MSG_CREDIT_REGION = (
    "Characters 3 to 8 of the unified social credit code must be digits."
)
MSG_CREDIT_CHECK = "The check character of the unified social credit code is wrong."
MSG_RID_LENGTH = "The resident identity card number must have 18 characters."
MSG_RID_FORMAT = (
    "The resident identity card number must be 17 digits followed by a digit or X."
)
MSG_RID_REGION = "The region code of the resident identity card number is not valid."
MSG_RID_DATE = (
    "The date of birth in the resident identity card number is not a valid date."
)
MSG_RID_FUTURE = (
    "The date of birth in the resident identity card number is in the future."
)
MSG_RID_EARLY = "The date of birth in the resident identity card number is before 1900."
MSG_RID_CHECK = "The check digit of the resident identity card number is wrong."


def credit(first17: str) -> str:
    return first17 + v.credit_code_check_char(first17)


def rid(first17: str) -> str:
    return first17 + v.resident_id_check_char(first17)


def raises(message: str):
    """pytest.raises for InvalidValue with exactly this message."""
    return pytest.raises(InvalidValue, match=f"^{re.escape(message)}$")


# --- reference implementations (independent formulas) ---------------------------


def reference_credit_check(first17: str) -> str:
    # GB 32100-2015 weights are 3**i mod 31.
    total = sum(CREDIT_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def reference_resident_check(first17: str) -> str:
    # ISO 7064 MOD 11-2: weights 2**(17-i) mod 11, check value (12 - sum) mod 11.
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


# --- strategies -----------------------------------------------------------------

credit_chars = st.sampled_from(CREDIT_ALPHABET)
digits = st.sampled_from(string.digits)


@st.composite
def credit_bodies(draw: st.DrawFn) -> str:
    return (
        draw(st.sampled_from(CREDIT_AUTHORITIES))
        + draw(credit_chars)
        + "".join(draw(st.lists(digits, min_size=6, max_size=6)))
        + "".join(draw(st.lists(credit_chars, min_size=9, max_size=9)))
    )


@st.composite
def resident_bodies(draw: st.DrawFn) -> str:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date.today()))
    return (
        draw(st.sampled_from(PROVINCES))
        + "".join(draw(st.lists(digits, min_size=4, max_size=4)))
        + born.strftime("%Y%m%d")
        + "".join(draw(st.lists(digits, min_size=3, max_size=3)))
    )


def _normalises_into(c: str, allowed: str) -> bool:
    """Could the validators' normalisation turn ``c`` into an allowed character?"""
    return c.upper() in allowed or "\uff01" <= c <= "\uff5e" or c.isspace()


def foreign_chars(allowed: str) -> st.SearchStrategy[str]:
    return st.characters().filter(lambda c: not _normalises_into(c, allowed))


# --- unified social credit code -------------------------------------------------


def test_known_credit_code() -> None:
    assert v.unified_social_credit_code(KNOWN_CREDIT_CODE) == KNOWN_CREDIT_CODE
    assert v.credit_code_check_char(KNOWN_CREDIT_CODE[:17]) == "3"


def test_credit_code_normalisation() -> None:
    assert (
        v.unified_social_credit_code(" 9135 0100 m000 100y 43\n") == KNOWN_CREDIT_CODE
    )
    # Full-width characters from Chinese input methods.
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in KNOWN_CREDIT_CODE)
    assert v.unified_social_credit_code(fullwidth) == KNOWN_CREDIT_CODE


@pytest.mark.parametrize(
    "first17",
    [
        "91110108MA01ABCD1",  # company, Beijing Haidian
        "12100000400001234",  # public institution (机构编制)
        "51440300MJL12345Q",  # social organisation (民政)
        "Y2330100ABCDEFGH1",  # other authority
        "A1000000MA0012345",
        "N2130300MA0ABCDE1",
        "31110000400000888",  # law firm (司法行政)
    ],
)
def test_credit_codes_for_each_kind(first17: str) -> None:
    assert len(first17) == 17
    code = credit(first17)
    assert v.unified_social_credit_code(code.lower()) == code


@pytest.mark.parametrize("value", ["", "9135010", KNOWN_CREDIT_CODE + "0", "  "])
def test_credit_code_length(value: str) -> None:
    with raises(MSG_CREDIT_LENGTH):
        v.unified_social_credit_code(value)


@pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V", "-", "中", "٣"])
def test_credit_code_bad_characters(bad: str) -> None:
    with raises(MSG_CREDIT_CHARS):
        v.unified_social_credit_code(
            KNOWN_CREDIT_CODE[:9] + bad + KNOWN_CREDIT_CODE[10:]
        )


@pytest.mark.parametrize("first", ["0", "B", "C", "G", "X"])
def test_credit_code_bad_authority(first: str) -> None:
    with raises(MSG_CREDIT_AUTHORITY):
        v.unified_social_credit_code(credit(first + KNOWN_CREDIT_CODE[1:17]))


def test_credit_code_region_must_be_digits() -> None:
    with raises(MSG_CREDIT_REGION):
        v.unified_social_credit_code(credit("9135A100M000100Y4"))


def test_credit_code_wrong_check() -> None:
    with raises(MSG_CREDIT_CHECK):
        v.unified_social_credit_code(KNOWN_CREDIT_CODE[:17] + "4")


@pytest.mark.parametrize(
    "first17", ["", "9135010", "9135010OM000100Y4", "91350100m000100y4"]
)
def test_credit_check_char_rejects_bad_input(first17: str) -> None:
    with pytest.raises(ValueError):
        v.credit_code_check_char(first17)


@given(credit_bodies())
def test_credit_body_plus_check_char_is_accepted(body: str) -> None:
    check = v.credit_code_check_char(body)
    assert check == reference_credit_check(body)
    assert v.unified_social_credit_code(body + check) == body + check


@given(credit_bodies(), credit_chars)
def test_credit_other_check_char_is_rejected(body: str, other: str) -> None:
    if other == v.credit_code_check_char(body):
        other = CREDIT_ALPHABET[(CREDIT_ALPHABET.index(other) + 1) % 31]
    with raises(MSG_CREDIT_CHECK):
        v.unified_social_credit_code(body + other)


@given(credit_bodies(), st.integers(0, 16), st.integers(1, 30))
def test_credit_single_substitution_is_detected(
    body: str, pos: int, shift: int
) -> None:
    # Every weight is non-zero mod 31 (a prime), so any one change alters the check.
    code = credit(body)
    changed = CREDIT_ALPHABET[(CREDIT_ALPHABET.index(code[pos]) + shift) % 31]
    with pytest.raises(InvalidValue):
        v.unified_social_credit_code(code[:pos] + changed + code[pos + 1 :])


@given(credit_bodies(), st.integers(0, 17), foreign_chars(CREDIT_ALPHABET))
def test_credit_foreign_character_is_rejected(body: str, pos: int, bad: str) -> None:
    code = credit(body)
    with raises(MSG_CREDIT_CHARS):
        v.unified_social_credit_code(code[:pos] + bad + code[pos + 1 :])


# --- resident identity card number ----------------------------------------------


def test_known_resident_id() -> None:
    assert v.resident_id_number(KNOWN_RESIDENT_ID) == KNOWN_RESIDENT_ID
    assert v.resident_id_check_char(KNOWN_RESIDENT_ID[:17]) == "X"
    assert v.resident_id_check_char(KNOWN_RESIDENT_ID_1880[:17]) == "4"


def test_resident_id_normalisation() -> None:
    assert v.resident_id_number(" 110105 19491231 002x ") == KNOWN_RESIDENT_ID
    assert (
        v.resident_id_number("１１０１０５１９４９１２３１００２ｘ")
        == KNOWN_RESIDENT_ID
    )


@pytest.mark.parametrize(
    "first17",
    [
        "44030619900307123",  # Shenzhen
        "65010220001231456",  # Urumqi
        "81000019850615001",  # Hong Kong residence permit
        "82000019700101002",  # Macao residence permit
        "71000019800229003",  # leap day
        "15010219000101004",  # earliest accepted date
    ],
)
def test_resident_ids(first17: str) -> None:
    assert v.resident_id_number(rid(first17)) == rid(first17)


def test_resident_id_born_today_is_accepted() -> None:
    number = rid("110105" + date(2024, 2, 29).strftime("%Y%m%d") + "001")
    assert v.resident_id_number(number, today=date(2024, 2, 29)) == number


@pytest.mark.parametrize("value", ["", "11010519491231002", KNOWN_RESIDENT_ID + "1"])
def test_resident_id_length(value: str) -> None:
    with raises(MSG_RID_LENGTH):
        v.resident_id_number(value)


@pytest.mark.parametrize(
    "value",
    [
        "X1010519491231002X",
        "1101051949123100XX",
        "11010519491231002Y",
        "11010519491231002٣",
    ],
)
def test_resident_id_format(value: str) -> None:
    with raises(MSG_RID_FORMAT):
        v.resident_id_number(value)


@pytest.mark.parametrize(
    "province", ["00", "10", "16", "20", "24", "38", "47", "55", "66", "72", "83", "91"]
)
def test_resident_id_region(province: str) -> None:
    with raises(MSG_RID_REGION):
        v.resident_id_number(rid(province + "010519491231002"))


@pytest.mark.parametrize(
    "birth", ["19490230", "19491301", "19490001", "19491200", "19000229"]
)
def test_resident_id_impossible_date(birth: str) -> None:
    with raises(MSG_RID_DATE):
        v.resident_id_number(rid("110105" + birth + "002"))


def test_resident_id_future_date() -> None:
    with raises(MSG_RID_FUTURE):
        v.resident_id_number(rid("11010520250102002"), today=date(2025, 1, 1))
    with raises(MSG_RID_FUTURE):
        v.resident_id_number(rid("11010599991231002"))


def test_resident_id_before_1900() -> None:
    with raises(MSG_RID_EARLY):
        v.resident_id_number(KNOWN_RESIDENT_ID_1880)
    with raises(MSG_RID_EARLY):
        v.resident_id_number(rid("11010518991231002"))


def test_resident_id_wrong_check() -> None:
    with raises(MSG_RID_CHECK):
        v.resident_id_number(KNOWN_RESIDENT_ID[:17] + "0")


@pytest.mark.parametrize(
    "first17",
    [
        "",
        "1101051949123100X",
        "110105194912310021",
        "１１０１０５１９４９１２３１００２",
    ],
)
def test_resident_check_char_rejects_bad_input(first17: str) -> None:
    with pytest.raises(ValueError):
        v.resident_id_check_char(first17)


@given(resident_bodies())
def test_resident_body_plus_check_char_is_accepted(body: str) -> None:
    check = v.resident_id_check_char(body)
    assert check == reference_resident_check(body)
    assert v.resident_id_number(body + check) == body + check
    assert v.resident_id_number(body + check.lower()) == body + check


@given(resident_bodies(), st.sampled_from("0123456789X"))
def test_resident_other_check_char_is_rejected(body: str, other: str) -> None:
    if other == v.resident_id_check_char(body):
        other = "0123456789X"[("0123456789X".index(other) + 1) % 11]
    with raises(MSG_RID_CHECK):
        v.resident_id_number(body + other)


@given(resident_bodies(), st.integers(0, 16), st.integers(1, 9))
def test_resident_single_changed_digit_is_detected(
    body: str, pos: int, shift: int
) -> None:
    # Every weight is non-zero mod 11 (a prime), so any one change alters the check;
    # a change may also break the region or date, which is rejected as well.
    number = rid(body)
    changed = str((int(number[pos]) + shift) % 10)
    with pytest.raises(InvalidValue):
        v.resident_id_number(number[:pos] + changed + number[pos + 1 :])


@given(resident_bodies(), st.integers(0, 17), foreign_chars(string.digits + "X"))
def test_resident_foreign_character_is_rejected(body: str, pos: int, bad: str) -> None:
    number = rid(body)
    with raises(MSG_RID_FORMAT):
        v.resident_id_number(number[:pos] + bad + number[pos + 1 :])


# --- other identity documents ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("E12345678", "E12345678"),
        ("ea1234567", "EA1234567"),
        ("G 1234 5678", "G12345678"),
        ("P1234567", "P1234567"),
        ("C01X00T47", "C01X00T47"),  # Germany
        ("12345", "12345"),
        ("A" * 16 + "1", "A" * 16 + "1"),
    ],
)
def test_passport_valid(value: str, expected: str) -> None:
    assert v.passport_number(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "The passport number must have 5 to 17 characters."),
        ("E123", "The passport number must have 5 to 17 characters."),
        ("E" * 17 + "1", "The passport number must have 5 to 17 characters."),
        ("E1234-5678", "The passport number may only contain letters and digits."),
        ("E1234567ß", "The passport number may only contain letters and digits."),
        ("ABCDEFG", "The passport number must contain at least one digit."),
    ],
)
def test_passport_invalid(value: str, message: str) -> None:
    with raises(message):
        v.passport_number(value)


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=5, max_size=17))
def test_passport_any_alphanumeric_with_digit(value: str) -> None:
    if any(c.isdigit() for c in value):
        assert v.passport_number(value) == value.upper()
    else:
        with raises("The passport number must contain at least one digit."):
            v.passport_number(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234567", "1234567"),
        ("12345678号", "12345678号"),
        ("军字第1234567号", "军字第1234567号"),
        ("南字第 12345678 号", "南字第12345678号"),
        ("沈阳字第1234567", "沈阳字第1234567"),
        ("军字第１２３４５６７号", "军字第1234567号"),
    ],
)
def test_military_officer_valid(value: str, expected: str) -> None:
    assert v.military_officer_card(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "123456",
        "123456789",
        "军字1234567",
        "字第1234567",
        "中国军区字第1234567",
        "A字第1234567",
        "1234567号号",
        "军字第号",
        "１２３４５６",  # full-width digits are folded, but this is still too short
    ],
)
def test_military_officer_invalid(value: str) -> None:
    with raises("The military officer card number is not valid."):
        v.military_officer_card(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12345678", "12345678"),
        ("1234567801", "1234567801"),
        ("12345678(B)", "12345678(B)"),
        ("12345678(b)", "12345678(B)"),
        ("1234 5678（Ｂ）", "12345678(B)"),
    ],
)
def test_taiwan_permit_valid(value: str, expected: str) -> None:
    assert v.taiwan_compatriot_permit(value) == expected


@pytest.mark.parametrize(
    "value", ["", "1234567", "123456789", "12345678B", "12345678(BB)", "T12345678"]
)
def test_taiwan_permit_invalid(value: str) -> None:
    with raises("The Taiwan compatriot permit number is not valid."):
        v.taiwan_compatriot_permit(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("H12345678", "H12345678"),
        ("m1234567890", "M1234567890"),
        ("H 1234 5678", "H12345678"),
    ],
)
def test_home_return_permit_valid(value: str, expected: str) -> None:
    assert v.home_return_permit(value) == expected


@pytest.mark.parametrize(
    "value", ["", "12345678", "K12345678", "H1234567", "H123456789", "H123456789012"]
)
def test_home_return_permit_invalid(value: str) -> None:
    with raises(
        "The home return permit number must be H or M followed by 8 or 10 digits."
    ):
        v.home_return_permit(value)


def test_id_types() -> None:
    assert v.ID_TYPES == (
        "resident_id",
        "passport",
        "military_officer",
        "taiwan_permit",
        "home_return_permit",
    )


@pytest.mark.parametrize(
    ("id_type", "value", "expected"),
    [
        ("resident_id", "11010519491231002x", KNOWN_RESIDENT_ID),
        ("passport", "e12345678", "E12345678"),
        ("military_officer", "军字第1234567号", "军字第1234567号"),
        ("taiwan_permit", "12345678", "12345678"),
        ("home_return_permit", "h12345678", "H12345678"),
    ],
)
def test_id_number_dispatch(id_type: str, value: str, expected: str) -> None:
    assert v.id_number(id_type, value) == expected


def test_id_number_dispatch_uses_type_rules() -> None:
    # A valid passport number is not a valid home return permit, and vice versa.
    with pytest.raises(InvalidValue):
        v.id_number("home_return_permit", "E12345678")
    with raises(MSG_RID_LENGTH):
        v.id_number("resident_id", "H12345678")


@pytest.mark.parametrize("id_type", ["", "driving_licence", "RESIDENT_ID"])
def test_id_number_unknown_type(id_type: str) -> None:
    with raises("The identity document type is not supported."):
        v.id_number(id_type, "E12345678")


# --- phone numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "86 13812345678",
        "8613812345678",
        "＋８６１３８１２３４５６７８",
    ],
)
def test_mobile_valid(value: str) -> None:
    assert v.mainland_mobile(value) == "13812345678"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "The mobile phone number must have 11 digits."),
        ("1381234567", "The mobile phone number must have 11 digits."),
        ("138123456789", "The mobile phone number must have 11 digits."),
        ("86138123456", "The mobile phone number must start with 13 to 19."),
        ("12812345678", "The mobile phone number must start with 13 to 19."),
        ("23812345678", "The mobile phone number must start with 13 to 19."),
        ("(138)12345678", "The mobile phone number may only contain digits."),
        ("1381234567a", "The mobile phone number may only contain digits."),
        ("+1 4155552671", "The mobile phone number may only contain digits."),
        ("1381234567٣", "The mobile phone number may only contain digits."),
    ],
)
def test_mobile_invalid(value: str, message: str) -> None:
    with raises(message):
        v.mainland_mobile(value)


@st.composite
def formatted_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    number = (
        "1"
        + draw(st.sampled_from("3456789"))
        + "".join(draw(st.lists(digits, min_size=9, max_size=9)))
    )
    text = ""
    for c in number:
        text += draw(st.sampled_from(["", "", " ", "-"])) + c
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86", "86-", "+86-"]))
    return number, draw(st.sampled_from([" ", ""])) + prefix + text + draw(
        st.sampled_from([" ", ""])
    )


@given(formatted_mobiles())
def test_mobile_normalisation_is_idempotent(case: tuple[str, str]) -> None:
    number, text = case
    once = v.mainland_mobile(text)
    assert once == number
    assert v.mainland_mobile(once) == once
    assert v.landline_or_mobile(text) == number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("(010) 1234 5678", "010-12345678"),
        ("020 8765 4321", "020-87654321"),
        ("0371-1234567", "0371-1234567"),
        ("037112345678", "0371-12345678"),
        ("0371-1234567-1234", "0371-1234567-1234"),
        ("0371-123-4567", "0371-1234567"),
        ("0755-88888888 转 8001", "0755-88888888-8001"),
        ("0755 88888888#8", "0755-88888888-8"),
        ("（０１０）１２３４５６７８", "010-12345678"),
        ("+86 138 1234 5678", "13812345678"),
    ],
)
def test_landline_or_mobile_valid(value: str, expected: str) -> None:
    assert v.landline_or_mobile(value) == expected
    assert v.landline_or_mobile(expected) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12345678",  # no area code
        "1234567890",
        "010-123456",  # local number too short
        "010-123456789",  # too long
        "010-12345678-1234567",  # extension too long
        "0371 1234567 1234567",
        "0010-12345678",
        "010-12345678 转",
        "转1234",
        "010-12345678 ext 12",
        "010/12345678",
    ],
)
def test_landline_or_mobile_invalid(value: str) -> None:
    with raises("The phone number is not a valid mobile or landline number."):
        v.landline_or_mobile(value)


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = draw(
        st.one_of(
            st.just("010"),
            st.sampled_from(string.digits).map(lambda d: "02" + d),
            st.text(string.digits, min_size=2, max_size=2).flatmap(
                lambda t: st.sampled_from("3456789").map(lambda d: "0" + d + t)
            ),
        )
    )
    local = draw(st.text(string.digits, min_size=7, max_size=8))
    ext = draw(st.one_of(st.just(""), st.text(string.digits, min_size=1, max_size=6)))
    return f"{area}-{local}-{ext}" if ext else f"{area}-{local}"


@given(landlines(), st.sampled_from(["-", " ", ""]))
def test_landline_normalisation_is_idempotent(landline: str, sep: str) -> None:
    assert v.landline_or_mobile(landline) == landline
    area, local, *ext = landline.split("-")
    # Without an extension the separator after the area code is optional.
    if not ext:
        assert v.landline_or_mobile(area + sep + local) == landline


# --- e-mail, bank, tax ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Zhang.San@Example.COM ", "Zhang.San@example.com"),
        ("ra@ca.example.cn", "ra@ca.example.cn"),
        ("zhangsan@例子.中国", "zhangsan@例子.中国"),
    ],
)
def test_email_valid(value: str, expected: str) -> None:
    assert v.email_address(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "zhangsan", "zhangsan@", "@example.com", "a@localhost", "a b@example.com"],
)
def test_email_invalid(value: str) -> None:
    with raises("The email address is not valid."):
        v.email_address(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12345678", "12345678"),
        ("6222 0212 3456 7890 123", "6222021234567890123"),
        ("1" * 30, "1" * 30),
        # A Luhn-invalid number is still fine: corporate accounts have no Luhn digit.
        ("4111111111111112", "4111111111111112"),
    ],
)
def test_bank_account_valid(value: str, expected: str) -> None:
    assert v.bank_account_number(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "The bank account number must have 8 to 30 digits."),
        ("1234567", "The bank account number must have 8 to 30 digits."),
        ("1" * 31, "The bank account number must have 8 to 30 digits."),
        ("6222-0212-3456", "The bank account number may only contain digits."),
        ("62220212345678X", "The bank account number may only contain digits."),
    ],
)
def test_bank_account_invalid(value: str, message: str) -> None:
    with raises(message):
        v.bank_account_number(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (KNOWN_CREDIT_CODE.lower(), KNOWN_CREDIT_CODE),
        ("110105123456789", "110105123456789"),  # 15: region + organisation code
        ("44030078654321X01", "44030078654321X01"),
        ("4403007865432ab", "4403007865432AB"),
        ("11010519491231002X01", "11010519491231002X01"),  # 20: ID number + 2
    ],
)
def test_taxpayer_id_valid(value: str, expected: str) -> None:
    assert v.taxpayer_id(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "",
            "The taxpayer identification number must have 15, 17, 18 or 20 characters.",
        ),
        (
            "1101051234567",
            "The taxpayer identification number must have 15, 17, 18 or 20 characters.",
        ),
        (
            "1101051234567890",
            "The taxpayer identification number must have 15, 17, 18 or 20 characters.",
        ),
        (
            "110105-23456789",
            "The taxpayer identification number may only contain letters and digits.",
        ),
        (KNOWN_CREDIT_CODE[:17] + "0", MSG_CREDIT_CHECK),
        ("0" + KNOWN_CREDIT_CODE[1:], MSG_CREDIT_AUTHORITY),
    ],
)
def test_taxpayer_id_invalid(value: str, message: str) -> None:
    with raises(message):
        v.taxpayer_id(value)


@given(credit_bodies())
def test_taxpayer_id_accepts_any_valid_credit_code(body: str) -> None:
    assert v.taxpayer_id(credit(body)) == credit(body)
