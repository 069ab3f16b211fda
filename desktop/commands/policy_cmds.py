"""policy show|set: the office's rules about whom it exchanges with (sync.peer_state)."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli import unlock
from desktop.output import print_fields, print_json, say
from sync import peer_state

YES_NO = ("yes", "no")


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `policy show` and `policy set`."""
    policy = commands.add_parser("policy", help="the office's rules for exchanging with peers")
    actions = policy.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("show", parents=[common], help="show the office's settings")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_policy_show)
    p = actions.add_parser(
        "set", parents=[common], help="change a setting (recorded in the audit log)"
    )
    p.add_argument(
        "setting",
        choices=[peer_state.ACCEPT_UNVERIFIED_SETTING],
        help="accept-unverified-peers: read bundles from, and write bundles for, peers whose"
        " fingerprint was never compared (default no)",
    )
    p.add_argument("value", choices=YES_NO)
    p.set_defaults(run=cmd_policy_set)


def cmd_policy_show(args: argparse.Namespace) -> int:
    """Every setting with its value."""
    with unlock(args) as ws:
        accept = peer_state.accepts_unverified_peers(ws)
    values = {peer_state.ACCEPT_UNVERIFIED_SETTING: "yes" if accept else "no"}
    if args.json:
        print_json(values)
    else:
        print_fields(values.items())
    return 0


def cmd_policy_set(args: argparse.Namespace) -> int:
    """Change a setting; the change (never a repeat of the same value) is audited."""
    accept = args.value == "yes"
    with unlock(args) as ws:
        changed = peer_state.set_accept_unverified_peers(ws, accept)
    if not changed:
        say(f"{args.setting} is already {args.value}; nothing was changed.")
    elif accept:
        say(
            "This office now accepts unverified peers: bundles from peers whose fingerprint"
            " was never compared are read, and bundles are written for them. A forged card"
            " is then trusted like a real one; compare fingerprints whenever you can. The"
            " change is recorded in the audit log."
        )
    else:
        say(
            "This office no longer accepts unverified peers: until a person compares their"
            " fingerprint, their bundles are kept unread and nothing is written for them."
            " The change is recorded in the audit log."
        )
    return 0
