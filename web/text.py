"""Text any field may hold."""
from __future__ import annotations

import re

from web.errors import N_, InvalidValue

# What a database or a screen cannot hold: C0 and C1 control characters (PostgreSQL refuses
# NUL outright), DEL, zero-width characters and joiners, bidirectional marks, embeddings,
# overrides and isolates (they reorder what a reviewer reads), the line and paragraph separators
# (a line break no screen shows as one), invisible operators, the byte-order mark, and lone
# surrogates (a JSON body can carry them; no database encodes them). Multi-line fields keep CR and LF.
_INVISIBLE = ("\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
              "\ud800-\udfff")
_UNSAFE_TEXT = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
_UNSAFE_MULTILINE = re.compile(f"[\x00-\x09\x0b\x0c\x0e-\x1f{_INVISIBLE}]")


def plain_text(s: str, *, multiline: bool = False) -> str:
    """Refuse control and invisible formatting characters; return `s` unchanged otherwise."""
    if (_UNSAFE_MULTILINE if multiline else _UNSAFE_TEXT).search(s):
        raise InvalidValue(N_("This text contains control or invisible characters that cannot be stored. "
                              "Please type it again."))
    return s
