"""How the command line prints: JSON for scripts, aligned plain text for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any


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
    """Stable, readable JSON on stdout."""
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, sort_keys=True)
    sys.stdout.write("\n")


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
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_fields(pairs: Iterable[tuple[str, object]]) -> None:
    """`name: value` lines for one record."""
    items = list(pairs)
    width = max((len(k) for k, _ in items), default=0)
    for key, value in items:
        print(f"{key.ljust(width)}  {value}")


def error(message: str) -> None:
    """A message for a person, on stderr."""
    print(f"valise: {message}", file=sys.stderr)


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
