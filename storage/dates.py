"""Uncertain dates as prosecutors write them: '2027', '2027-03', '2027-03-15',
'before 2027-03-15', 'after 2027-03', 'about 2027-03-15', and ranges handled by from/to fields.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from storage.errors import InvalidInput

_QUALIFIERS = ("before", "after", "about")
_SHAPE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def normalize_uncertain_date(text: str, field: str = "date") -> str:
    """Check an uncertain date and return it in its normal written form ('' stays '')."""
    text = " ".join(text.strip().split())
    if not text:
        return ""
    qualifier, _, rest = text.partition(" ")
    if qualifier.lower() in _QUALIFIERS and rest:
        return f"{qualifier.lower()} {_check_partial(rest, field)}"
    return _check_partial(text, field)


def _check_partial(text: str, field: str) -> str:
    match = _SHAPE.match(text)
    if not match:
        raise InvalidInput(
            f"The {field} {text!r} is not a date Valise understands. Write it as 2027, "
            "2027-03, 2027-03-15, or with 'before', 'after' or 'about' in front."
        )
    year, month, day = (int(g) if g else None for g in match.groups())
    try:  # a written 00 month or day is an error, not a missing part
        date(year or 1, 1 if month is None else month, 1 if day is None else day)
    except ValueError:
        raise InvalidInput(f"The {field} {text!r} does not exist in the calendar.") from None
    if year is not None and not 1800 <= year <= 2200:
        raise InvalidInput(f"The {field} {text!r} has an implausible year.")
    return text


def normalize_timestamp(text: str, field: str = "time") -> str:
    """Accept an ISO 8601 timestamp with a zone, or an uncertain date; refuse anything else."""
    text = text.strip()
    if _TIMESTAMP.match(text):
        try:  # the shape is right; the month, day, hour and zone must exist too
            datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"The {field} {text!r} does not exist in the calendar or on the clock."
            ) from None
        return text
    try:
        return normalize_uncertain_date(text, field)
    except InvalidInput:
        raise InvalidInput(
            f"The {field} {text!r} is not a time Valise understands. Write it as "
            "2027-03-15T14:30Z, or as a date such as 2027-03-15."
        ) from None
