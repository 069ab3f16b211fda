"""parked list: what an import kept aside, for what it waits, and since when;
quarantine list: what an import refused to apply, from whom, what it tried and why."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from desktop.cli import unlock
from desktop.output import line, print_json
from sync.parked import BUNDLE, Waiting, list_waiting
from sync.quarantine import HeldBack, list_held_back


class _HasJson(Protocol):
    def to_json(self) -> dict[str, Any]: ...


Listed = TypeVar("Listed", bound=_HasJson)

NOTHING_WAITS = "Nothing waits: every change received has been applied."
ADVICE = (
    "What waits is applied by itself when what it waits for arrives: sync with the office"
    " it came from (its next bundle carries what we lack), or add the missing contact card."
)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `parked list`."""
    parked = commands.add_parser("parked", help="what imports kept aside, and why")
    actions = parked.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "list", parents=[common], help="what waits, for what, since when (oldest first)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_parked_list)
    held = commands.add_parser(
        "quarantine", help="changes an import refused to apply: from whom, what, why"
    )
    actions = held.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "list", parents=[common], help="every held-back change, oldest first, in words"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_quarantine_list)


def describe(item: Waiting) -> list[str]:
    """A few lines a person reads: what waits, from whom, in which case, for what, since."""
    if item.kind == BUNDLE:
        first = f"bundle {item.item}  claims to come from {item.sender or 'an unknown office'}"
    else:
        first = f"{item.kind} {item.item[:16]}  by {item.author}, {item.position}"
        if item.sender and item.sender != item.author:
            first += f"; came from {item.sender}"
    lines = [first]
    if item.case_id:
        lines.append(f"  case:      {item.case or item.case_id + ' (not here yet)'}")
    lines.append(f"  waits for: {item.waits_for}")
    lines.append(f"  since:     {item.since}")
    return lines


def cmd_parked_list(args: argparse.Namespace) -> int:
    """List parked changesets, parked bundles and quarantined changesets."""
    with unlock(args) as ws:
        found = list_waiting(ws)
    return _print_listing(args, found, describe, NOTHING_WAITS, ADVICE)


NOTHING_HELD = "Nothing is held back: no change received was refused."
HELD_ADVICE = (
    "A held-back change is never applied and never passed on. One refused only because its"
    " signer had no grant yet, or because its clock was ahead, is tried again on every"
    " import; for the others, ask the office that signed it."
)


def describe_held(held: HeldBack) -> list[str]:
    """Who, what, why, when and in which bundle, a few lines per change."""
    lines = [held.sentence]
    if held.case_id:
        lines.append(f"  case:    {held.case or held.case_id + ' (not here)'}")
    lines.append(f"  change:  {held.changeset_id[:16]} ({held.position} of its signer)")
    bundle = held.bundle_id + (f" from {held.sender}" if held.sender else "")
    lines.append(f"  bundle:  {bundle}")
    lines.append(f"  held at: {held.held_at}")
    return lines


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    """List quarantined changesets: from whom, what they tried, why, when, which bundle."""
    with unlock(args) as ws:
        found = list_held_back(ws)
    return _print_listing(args, found, describe_held, NOTHING_HELD, HELD_ADVICE)


def _print_listing(
    args: argparse.Namespace,
    found: Sequence[Listed],
    describe_one: Callable[[Listed], list[str]],
    nothing: str,
    advice: str,
) -> int:
    """Print the parked or the held-back list: JSON, or a few lines per item and advice."""
    if args.json:
        print_json([item.to_json() for item in found])
        return 0
    if not found:
        line(nothing)
        return 0
    for item in found:
        line("\n".join(describe_one(item)))  # line() escapes what a peer's data may hold
        line("")
    line(advice)
    return 0
