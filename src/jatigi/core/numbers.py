"""Numbers typed by people or carried in addresses, read without surprises."""

from __future__ import annotations


def whole_number(text: str, max_digits: int) -> int | None:
    """The value of `text` when it is 1 to `max_digits` ASCII digits (leading zeros allowed), else None.

    No sign, space, exponent or other script's digits ("١٢" is refused, though `str.isdigit` accepts
    it), and the length bound keeps `int` away from huge strings.
    """
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
