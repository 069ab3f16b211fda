"""parked list: what an import kept aside, for what it waits, and since when."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli import unlock
from desktop.output import line, print_json
from sync.parked import BUNDLE, Waiting, list_waiting

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
    if args.json:
        print_json([item.to_json() for item in found])
        return 0
    if not found:
        line(NOTHING_WAITS)
        return 0
    for item in found:
        line("\n".join(describe(item)))  # line() escapes what a peer's data may hold
        line("")
    line(ADVICE)
    return 0
