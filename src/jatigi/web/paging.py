"""Paged lists: the page asked for in an address (the pager itself is templates/_pager.html)."""

from __future__ import annotations

from jatigi.core.numbers import whole_number

PAGE_DIGITS = 6


def page_number(text: str, max_digits: int = PAGE_DIGITS) -> int:
    """The page number of `text`: 1 when it is empty, zero, not a whole number or longer than `max_digits`."""
    return whole_number(text, max_digits) or 1
