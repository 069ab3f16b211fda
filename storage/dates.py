"""Uncertain dates as prosecutors write them: '2027', '2027-03', '2027-03-15',
'before 2027-03-15', 'after 2027-03', 'about 2027-03-15', and ranges handled by from/to fields.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

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


def date_bounds(text: str) -> tuple[date, date, str, int] | None:
    """The first and last day an uncertain date's written part stands for, its qualifier
    and precision (0 year, 1 month, 2 day); None for an empty or unreadable date."""
    try:
        written = normalize_uncertain_date(text)
    except InvalidInput:
        return None
    if not written:
        return None
    qualifier, _, rest = written.partition(" ")
    if not rest:
        qualifier, rest = "", written
    parts = [int(part) for part in rest.split("-")]
    year = parts[0]
    if len(parts) == 1:
        return date(year, 1, 1), date(year, 12, 31), qualifier, 0
    month = parts[1]
    if len(parts) == 2:
        last = calendar.monthrange(year, month)[1]
        return date(year, month, 1), date(year, month, last), qualifier, 1
    day = date(year, month, parts[2])
    return day, day, qualifier, 2


ABOUT_SLACK = timedelta(days=31)  # how far "about" may stray from the date it names


def possible_days(text: str) -> tuple[date, date] | None:
    """The earliest and latest day an uncertain date may be: "2027-03" is any day of March,
    "before 2027-03-15" any day up to the 14th, "after 2027-03" any day from 1 April,
    "about 2027-03-15" a month either side. None for an empty or unreadable date."""
    bounds = date_bounds(text)
    if bounds is None:
        return None
    first, last, qualifier, _ = bounds
    if qualifier == "before":
        return date.min, first - timedelta(days=1)
    if qualifier == "after":
        return last + timedelta(days=1), date.max
    if qualifier == "about":
        return first - ABOUT_SLACK, last + ABOUT_SLACK
    return first, last


def end_before_start(date_from: str, date_to: str) -> str:
    """Why a span from `date_from` to `date_to` cannot be, as a sentence: the end lies
    before the start whichever days the uncertain dates stand for. '' when it may be
    (either is empty or unreadable, or they overlap: 2027-03 to before 2027-03-15)."""
    start, end = possible_days(date_from), possible_days(date_to)
    if start is None or end is None or end[1] >= start[0]:
        return ""
    return (
        f"The incident would end ({date_to.strip()}) before it starts ({date_from.strip()})."
        " Check the dates."
    )


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
