"""The one rule for text that enters a workspace, and the one way to show text safely.

Titles, names, notes and contact cards end up on a terminal (`valise case list`) and in
the window. A control character there is not text but a command: ESC sequences move the
cursor, recolour or rewrite what a terminal already shows (a card whose office name moved
the cursor printed a genuine office's fingerprint over its own), and bidirectional
overrides and isolates reorder the letters a person reads, so `W-0042` can be displayed
for a name that is stored otherwise. Text entering by any door (the command line, the
window, a contact card, a peer's bundle) is judged here by one rule; text already stored
(an older workspace, a quarantined changeset) is shown through `visible`.
"""

from __future__ import annotations

import re
import unicodedata

# Explicit bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069):
# they reorder the text displayed around them.
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Joiners are format characters that Persian, Indic scripts and emoji need to display right.
_JOINERS = frozenset("\u200c\u200d")
MULTILINE_ALLOWED = "\n\t"
# What `refused_character` looks for, as one pattern, so that the scan runs in C (a bundle
# of 100,000 changesets holds half a million values to check): C0 controls (newline \x0a
# and tab \x09 apart in multiline text), DEL and C1 controls, the bidirectional controls
# above, lone surrogates.
_OTHER_REFUSED = r"\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_REFUSED_ONE_LINE = re.compile(rf"[\x00-\x1f{_OTHER_REFUSED}]")
_REFUSED_MULTILINE = re.compile(rf"[\x00-\x08\x0b-\x1f{_OTHER_REFUSED}]")


def _is_surrogate(character: str) -> bool:
    return 0xD800 <= ord(character) <= 0xDFFF


def refused_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character of `value` that no record may hold, or None.

    Refused: C0 and C1 control characters and DEL (newline and tab only in `multiline`
    text: notes, summaries, descriptions), bidirectional overrides and isolates, and lone
    surrogates (bytes that were not UTF-8 where the text came from).
    """
    found = (_REFUSED_MULTILINE if multiline else _REFUSED_ONE_LINE).search(value)
    return found.group() if found else None


# The bytes that begin, in UTF-8 JSON, a refused character or an escape that may stand for
# one: C0 controls, the backslash, DEL, and the lead bytes of U+0080-U+00BF (C1 controls),
# U+2000-U+2FFF (bidirectional controls) and U+D000-U+DFFF (surrogates).
_SUSPECT_BYTES = frozenset((*range(0x20), ord("\\"), 0x7F, 0xC2, 0xE2, 0xED))
_INNOCENT_BYTES = bytes(b for b in range(256) if b not in _SUSPECT_BYTES)


def may_hold_refused_text(utf8_json: bytes) -> bool:
    """False when no string in this UTF-8 JSON text can hold a character that
    `refused_character` refuses: every character of a parsed string is either written
    there as itself or made by a backslash escape, and the text holds neither a refused
    character's first byte nor a backslash. One pass in C over a changeset's bytes spares
    checking each of its values apart (True says only: check them)."""
    return bool(utf8_json.translate(None, _INNOCENT_BYTES))


def text_problem(
    what: str, value: str, *, multiline: bool = False, advice: str | None = None
) -> str:
    """Why `value` cannot be recorded as `what` ("The title"), as a sentence; '' when it
    can. `advice` replaces the default last words ("remove it.") where the person cannot
    edit the text (a peer's card or bundle)."""
    character = refused_character(value, multiline=multiline)
    if character is None:
        return ""
    if _is_surrogate(character):
        found = (
            f"{what} holds a broken character (bytes that are not UTF-8 text, often left by"
            " copying and pasting)"
        )
        default = "type that part again by hand."
    elif character in BIDI_CONTROLS:
        found = (
            f"{what} contains a character that reorders the text shown around it"
            f" (U+{ord(character):04X})"
        )
        default = "remove it."
    else:
        found = f"{what} contains a control character (U+{ord(character):04X})"
        default = "remove it."
    return f"{found}; {advice or default}"


def is_unprintable(character: str) -> bool:
    """True for characters that are commands to a display rather than text: controls,
    format characters (bidirectional marks, overrides, zero-width ones; not the joiners
    that Persian and emoji need), lone surrogates, line and paragraph separators."""
    category = unicodedata.category(character)
    if category in ("Cc", "Cs", "Zl", "Zp"):
        return True
    return category == "Cf" and character not in _JOINERS


def _escape(character: str) -> str:
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(value: object, *, multiline: bool = False) -> str:
    """`value` as text whose every character shows as itself: control, format and
    separator characters (ESC, U+202E, a lone surrogate...) become visible escapes such
    as `\\x1b` or `\\u202e`, so nothing stored can steer a terminal or reorder a line.
    Newlines and tabs stay only in `multiline` text."""
    text = str(value)
    allowed = MULTILINE_ALLOWED if multiline else ""
    if text.isprintable():  # the common case: nothing to escape
        return text
    return "".join(_escape(c) if is_unprintable(c) and c not in allowed else c for c in text)


def one_line(text: str, limit: int) -> str:
    """Text from anywhere (a peer typed it, or nobody has verified it yet) as one short
    line for a sentence: every control or format character becomes a space (it could
    draw lines of its own in a terminal), runs of spaces shrink to one, and text longer
    than `limit` ends in an ellipsis."""
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
