"""Checks for the identity data an applicant types at the registration desk.

Every public function takes the raw text, returns the normalised value, or raises
``InvalidValue`` with a short English sentence for the user. The sentences are
written as plain string literals at the ``raise`` site so gettext extraction can
find them later; change them only together with the translations.

Normalisation is deliberately conservative: surrounding whitespace is stripped,
inner whitespace is removed from numbers, full-width ASCII forms (common with
Chinese input methods) are folded to ASCII, and only ASCII letters are
upper-cased (``str.upper`` would turn e.g. "ß" into "SS" and let it pass).

This module is free of Flask and WTForms so it can be used from scripts and tests.
"""

from __future__ import annotations

import re
import string
from datetime import date

from email_validator import EmailNotValidError, validate_email

from web.errors import N_, InvalidValue

__all__ = [
    "ID_TYPES",
    "InvalidValue",
    "bank_account_number",
    "credit_code_check_char",
    "email_address",
    "home_return_permit",
    "id_number",
    "landline_or_mobile",
    "mainland_mobile",
    "military_officer_card",
    "passport_number",
    "resident_id_check_char",
    "resident_id_number",
    "taiwan_compatriot_permit",
    "taxpayer_id",
    "unified_social_credit_code",
]


# --- shared normalisation -------------------------------------------------------

# Full-width "！".."～" map 1:1 onto ASCII "!".."~"; U+3000 is the ideographic space.
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_WHITESPACE = re.compile(r"\s+")


def _halfwidth(s: str) -> str:
    """Fold full-width ASCII forms so "１１０１０５…" is read as "110105…"."""
    return s.translate(_HALFWIDTH)


def _compact(s: str) -> str:
    """Half-width, then drop all whitespace: numbers are often typed in groups."""
    return _WHITESPACE.sub("", _halfwidth(s))


def _upper(s: str) -> str:
    """Upper-case ASCII letters only, so non-ASCII letters can't sneak into a charset."""
    return s.translate(_ASCII_UPPER)


# --- unified social credit code (GB 32100-2015) ---------------------------------

# The 31-character alphabet of GB 32100-2015: digits and capitals without I, O, Z, S, V.
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {c: i for i, c in enumerate(_CREDIT_ALPHABET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Registration authority codes (position 1) from the standard's table and its
# amendments: 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教,
# 8 工会, 9 工商, A 中央军委改革和编制办公室, N 农业, Y 其他.
_CREDIT_AUTHORITIES = frozenset("123456789ANY")
_CREDIT_DIGITS = frozenset(string.digits)


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character (position 18) for the first 17 characters."""
    if len(first17) != 17 or any(c not in _CREDIT_VALUE for c in first17):
        # Programming error, not user input: callers validate the charset first.
        raise ValueError("first17 must be 17 characters from the credit code alphabet")
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=False))
    # C18 = 31 - (sum mod 31); a result of 31 is written as "0".
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def unified_social_credit_code(s: str) -> str:
    """Validate an 18-character unified social credit code; return it upper-cased."""
    code = _upper(_compact(s))
    if len(code) != 18:
        raise InvalidValue(N_("The unified social credit code must have 18 characters."))
    if any(c not in _CREDIT_VALUE for c in code):
        raise InvalidValue(
            N_("The unified social credit code contains characters that are not allowed.")
        )
    if code[0] not in _CREDIT_AUTHORITIES:
        raise InvalidValue(
            N_(
                "The first character of the unified social credit code is not a valid "
                "registration authority code."
            )
        )
    # Position 2 (type code) and 9-17 (organisation code) only need the alphabet,
    # which is already checked; the type code list grows too often to pin down.
    if any(c not in _CREDIT_DIGITS for c in code[2:8]):
        raise InvalidValue(
            N_("Characters 3 to 8 of the unified social credit code must be digits.")
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise InvalidValue(
            N_("The check character of the unified social credit code is wrong.")
        )
    return code


# --- resident identity card number (GB 11643-1999) ------------------------------

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_RESIDENT_FORMAT = re.compile(r"[0-9]{17}[0-9X]")
_RESIDENT_BODY = re.compile(r"[0-9]{17}")
# First two digits of the GB/T 2260 region code: provinces, plus 71 Taiwan,
# 81 Hong Kong and 82 Macao (used by residence permits).
_PROVINCES = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82"]
)
_EARLIEST_BIRTH = date(1900, 1, 1)


def resident_id_check_char(first17: str) -> str:
    """Return the GB 11643-1999 check character ("0"-"9" or "X") for 17 digits."""
    if not _RESIDENT_BODY.fullmatch(first17):
        # Programming error, not user input: callers validate the format first.
        raise ValueError("first17 must be 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _RESIDENT_WEIGHTS, strict=False))
    return _RESIDENT_CHECK[total % 11]


def resident_id_number(s: str, *, today: date | None = None) -> str:
    """Validate an 18-character resident identity card number; return it with a capital X.

    ``today`` exists so tests can pin the "not in the future" rule.
    """
    number = _upper(_compact(s))
    if len(number) != 18:
        raise InvalidValue(N_("The resident identity card number must have 18 characters."))
    if not _RESIDENT_FORMAT.fullmatch(number):
        raise InvalidValue(
            N_("The resident identity card number must be 17 digits followed by a digit or X.")
        )
    if number[:2] not in _PROVINCES:
        raise InvalidValue(
            N_("The region code of the resident identity card number is not valid.")
        )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidValue(
            N_("The date of birth in the resident identity card number is not a valid date.")
        ) from None
    if born > (today or date.today()):
        raise InvalidValue(
            N_("The date of birth in the resident identity card number is in the future.")
        )
    if born < _EARLIEST_BIRTH:
        raise InvalidValue(
            N_("The date of birth in the resident identity card number is before 1900.")
        )
    if resident_id_check_char(number[:17]) != number[17]:
        raise InvalidValue(
            N_("The check digit of the resident identity card number is wrong.")
        )
    return number


# --- other identity documents ---------------------------------------------------

_ALNUM = re.compile(r"[0-9A-Z]+")
_HAS_DIGIT = re.compile(r"[0-9]")


def passport_number(s: str) -> str:
    """Validate a passport number, Chinese or foreign; return it upper-cased.

    Chinese numbers (E/G/D/S/P + 8 digits, E + letter + 7 digits) are a subset of
    the foreign rule (5-17 letters/digits with at least one digit), so one rule
    covers both without rejecting a foreign format we don't know.
    """
    number = _upper(_compact(s))
    if not _ALNUM.fullmatch(number):
        if number:
            raise InvalidValue(
                N_("The passport number may only contain letters and digits.")
            )
        raise InvalidValue(N_("The passport number must have 5 to 17 characters."))
    if not 5 <= len(number) <= 17:
        raise InvalidValue(N_("The passport number must have 5 to 17 characters."))
    if not _HAS_DIGIT.search(number):
        raise InvalidValue(N_("The passport number must contain at least one digit."))
    return number


# Optional issuing prefix such as "军字第" or "南字第", 7-8 digits, optional "号".
_MILITARY_OFFICER = re.compile(r"([\u4e00-\u9fa5]{1,2}字第)?[0-9]{7,8}号?")


def military_officer_card(s: str) -> str:
    """Validate a military officer card number; return it without whitespace."""
    number = _compact(s)
    if not _MILITARY_OFFICER.fullmatch(number):
        raise InvalidValue(N_("The military officer card number is not valid."))
    return number


# Mainland Travel Permit for Taiwan Residents (台湾居民来往大陆通行证): the card
# issued since 2015 by the Exit and Entry Administration of the Ministry of Public
# Security carries an 8-digit number; the older booklet carried 10 digits (8 plus
# a 2-digit issue counter) or 8 digits plus a parenthesised letter such as "(B)".
# The pattern follows the formats accepted by the registration desk's spec.
_TAIWAN_PERMIT = re.compile(r"[0-9]{8}|[0-9]{10}|[0-9]{8}\([A-Z]\)")


def taiwan_compatriot_permit(s: str) -> str:
    """Validate a Taiwan compatriot permit number; return it upper-cased, no whitespace."""
    number = _upper(_compact(s))
    if not _TAIWAN_PERMIT.fullmatch(number):
        raise InvalidValue(N_("The Taiwan compatriot permit number is not valid."))
    return number


# Mainland Travel Permit for Hong Kong and Macao Residents: H (Hong Kong) or
# M (Macao), then 8 digits (card since 2013) or 10 digits (older booklet).
_HOME_RETURN_PERMIT = re.compile(r"[HM][0-9]{8}([0-9]{2})?")


def home_return_permit(s: str) -> str:
    """Validate a home return permit number; return it upper-cased, no whitespace."""
    number = _upper(_compact(s))
    if not _HOME_RETURN_PERMIT.fullmatch(number):
        raise InvalidValue(
            N_("The home return permit number must be H or M followed by 8 or 10 digits.")
        )
    return number


ID_TYPES: tuple[str, ...] = (
    "resident_id",
    "passport",
    "military_officer",
    "taiwan_permit",
    "home_return_permit",
)


def id_number(id_type: str, s: str) -> str:
    """Validate ``s`` as a number of the identity document type ``id_type``."""
    if id_type == "resident_id":
        return resident_id_number(s)
    if id_type == "passport":
        return passport_number(s)
    if id_type == "military_officer":
        return military_officer_card(s)
    if id_type == "taiwan_permit":
        return taiwan_compatriot_permit(s)
    if id_type == "home_return_permit":
        return home_return_permit(s)
    # The type usually comes from a form field, so treat it as user input too.
    raise InvalidValue(N_("The identity document type is not supported."))


# --- phone numbers --------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s-]+")
_DIGITS = re.compile(r"[0-9]*")


def mainland_mobile(s: str) -> str:
    """Validate a mainland China mobile number; return its 11 digits."""
    number = _PHONE_SEPARATORS.sub("", _halfwidth(s))
    # Country code: "+86" always, bare "86" only when it leaves 11 digits behind.
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("86") and len(number) == 13:
        number = number[2:]
    if not _DIGITS.fullmatch(number):
        raise InvalidValue(N_("The mobile phone number may only contain digits."))
    if len(number) != 11:
        raise InvalidValue(N_("The mobile phone number must have 11 digits."))
    if number[0] != "1" or number[1] not in "3456789":
        raise InvalidValue(N_("The mobile phone number must start with 13 to 19."))
    return number


# Area codes are 010, 02x (3 digits) or 0[3-9]xx (4 digits): the first digits fix
# the length, so "01012345678" and "037112345678" split unambiguously.
_AREA_CODE = re.compile(r"0(?:10|2[0-9]|[3-9][0-9]{2})")
# Spaces, hyphens and brackets (as in "(010) 1234 5678") only group the digits.
_LANDLINE_MAIN = re.compile(r"[0-9\s\-()]*")
_LANDLINE_GROUP = re.compile(r"[0-9]+")
# An extension is either marked explicitly ("转" = "transfer to", "#") or, with
# "-" or a space, is the trailing group left over after a 7-8 digit local number.
_LANDLINE_EXT_MARK = re.compile(r"\s*[转#]\s*")
_LANDLINE_EXT = re.compile(r"[0-9]{1,6}")


def landline_or_mobile(s: str) -> str:
    """Validate an organisation phone number.

    Returns a mobile as 11 digits, or a landline as "AREA-LOCAL" or "AREA-LOCAL-EXT".
    """
    try:
        return mainland_mobile(s)
    except InvalidValue:
        pass
    landline = _landline(_halfwidth(s).strip())
    if landline is None:
        raise InvalidValue(N_("The phone number is not a valid mobile or landline number."))
    return landline


def _landline(text: str) -> str | None:
    """Return "AREA-LOCAL[-EXT]" for a mainland landline number, or None."""
    main, *marked = _LANDLINE_EXT_MARK.split(text, maxsplit=1)
    ext = marked[0] if marked else ""
    if marked and not _LANDLINE_EXT.fullmatch(ext):
        return None
    if not _LANDLINE_MAIN.fullmatch(main):
        return None
    groups = _LANDLINE_GROUP.findall(main)
    area_match = _AREA_CODE.match(groups[0]) if groups else None
    if area_match is None:
        return None
    area = area_match.group()
    rest = "".join(groups)[len(area) :]
    if not marked:
        if (
            len(groups) == 3
            and groups[0] == area
            and len(groups[1]) in (7, 8)
            and _LANDLINE_EXT.fullmatch(groups[2])
        ):
            # Exactly "AREA LOCAL EXT" (our own output format): keep that split,
            # which also makes the function idempotent.
            rest, ext = groups[1], groups[2]
        elif len(rest) not in (7, 8) and len(groups) >= 2:
            # Otherwise the groups may split the local number; if the digits don't
            # add up to 7-8, try the last group as the extension.
            ext, rest = groups[-1], rest[: -len(groups[-1])]
            if not _LANDLINE_EXT.fullmatch(ext):
                return None
    if len(rest) not in (7, 8):
        return None
    return f"{area}-{rest}-{ext}" if ext else f"{area}-{rest}"


# --- e-mail, bank, tax ----------------------------------------------------------


def email_address(s: str) -> str:
    """Validate an e-mail address syntactically (no DNS); return its normalised form."""
    try:
        result = validate_email(s.strip(), check_deliverability=False)
    except EmailNotValidError:
        # The library's own message is English-only, so use our translatable one.
        raise InvalidValue(N_("The email address is not valid.")) from None
    return result.normalized


_BANK_ACCOUNT = re.compile(r"[0-9]{8,30}")


def bank_account_number(s: str) -> str:
    """Validate a bank account number: 8-30 digits; return the digits.

    Chinese corporate accounts carry no Luhn check digit, so none is applied.
    """
    number = _compact(s)
    if not _DIGITS.fullmatch(number):
        raise InvalidValue(N_("The bank account number may only contain digits."))
    if not _BANK_ACCOUNT.fullmatch(number):
        raise InvalidValue(N_("The bank account number must have 8 to 30 digits."))
    return number


def taxpayer_id(s: str) -> str:
    """Validate a taxpayer identification number; return it upper-cased.

    Since 2015 it is the unified social credit code (18 characters, fully checked);
    legacy numbers have 15, 17 or 20 letters/digits and no checkable structure.
    """
    number = _upper(_compact(s))
    if len(number) == 18:
        return unified_social_credit_code(number)
    if not _ALNUM.fullmatch(number) and number:
        raise InvalidValue(
            N_("The taxpayer identification number may only contain letters and digits.")
        )
    if len(number) not in (15, 17, 20):
        raise InvalidValue(
            N_("The taxpayer identification number must have 15, 17, 18 or 20 characters.")
        )
    return number
