"""How the command line prints: JSON for scripts, aligned plain text for people.

Everything the commands print passes through here, and everything passes through
`storage.text_rules.visible` (plain text) or `_json_text` (JSON) on its way: a title, an
office name or a note recorded before control characters were refused, or arriving by a
path that does not check them, can then neither move the terminal's cursor, recolour or
rewrite its lines, nor reorder what a person reads. The escapes are visible: ESC prints as
`\x1b`, U+202E as `\u202e`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from storage.text_rules import is_unprintable, visible

__all__ = ["error", "line", "print_fields", "print_json", "print_table", "say", "visible"]


def _json_escape(character: str) -> str:
    code = ord(character)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a surrogate pair, as JSON spells characters beyond U+FFFF
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _json_text(value: Any) -> str:
    """Stable, readable JSON whose every unprintable character is a \\u escape.

    `json.dumps` escapes C0 controls itself but writes C1 controls, bidirectional
    overrides and lone surrogates raw; inside a JSON string a \\u escape means the same
    character, so the data a script reads is unchanged. (Outside strings JSON holds only
    its own punctuation, spaces and the newlines of the indentation.)
    """
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
    if text.isprintable():
        return text
    return "".join(_json_escape(c) if c != "\n" and is_unprintable(c) else c for c in text)


class TerminalProgress:
    """A one-line progress display on stderr, only when stderr is a terminal. Long commands
    pass it as their progress callback; `end()` closes a line left open by work that
    stopped short, so the next message starts on a line of its own."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._last = -1
        self._open = False  # a line is being drawn (no newline yet)

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        percent = min(done * 100 // total, 100)
        if percent != self._last:
            self._last = percent
            print(f"\r{self.label}: {percent:3d}%", end="", file=sys.stderr, flush=True)
            self._open = percent < 100
            if not self._open:
                print(file=sys.stderr)

    def end(self) -> None:
        """Finish a line left open (a step that stopped before 100%)."""
        if self._open:
            print(file=sys.stderr, flush=True)
            self._open = False


def print_json(value: Any) -> None:
    """Stable, readable JSON on stdout, unprintable characters escaped."""
    sys.stdout.write(_json_text(value))
    sys.stdout.write("\n")


def line(text: object) -> None:
    """One line (or several) of a command's result on stdout, shown safely."""
    print(visible(text, multiline=True))


def say(text: object) -> None:
    """A line for the person on stderr (what was done, a fingerprint), shown safely."""
    print(visible(text, multiline=True), file=sys.stderr)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Columns padded to their widest cell; long cells are cut with an ellipsis."""
    cells = [[_cell(v) for v in row] for row in rows]
    if not cells:
        print("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: object, limit: int = 60) -> str:
    text = visible(" ".join(str(value).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_fields(pairs: Iterable[tuple[str, object]]) -> None:
    """`name: value` lines for one record."""
    items = [(visible(key), visible(value, multiline=True)) for key, value in pairs]
    width = max((len(k) for k, _ in items), default=0)
    for key, value in items:
        print(f"{key.ljust(width)}  {value}")


def error(message: str) -> None:
    """A message for a person, on stderr."""
    print(f"valise: {visible(message, multiline=True)}", file=sys.stderr)


def warn_if_own_work_missing(restored: bool, number: str) -> None:
    """After a restore from a backup, until a peer has sent back this office's later work,
    a new number (a case reference, a pseudonym, an evidence number) may be one the lost
    laptop also gave: say so once it is given, on stderr."""
    if restored:
        error(
            f"warning: {number} was given before any peer sent back the work this office did"
            " after its backup; the lost laptop may have given it too. Sync with your peers"
            " (`valise sync usb`); `valise case show` then lists any two cases sharing a"
            " reference, and `valise case update ID --reference R` renames one."
        )


def positive_count(text: str) -> int:
    """argparse type for --limit: a whole number of at least 1."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
