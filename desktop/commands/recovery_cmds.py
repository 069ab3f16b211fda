"""recovery shares, recovery escrow, recovery open: a lost passphrase is not a lost workspace.

The storage side is storage.paper_shares (K of N SLIP-39 shares and the key file's recovery
slot), storage.escrow (the database key sealed to the tribunal IT's age recipient) and
storage.recovery (opening a workspace or a backup with either, then a new passphrase).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from desktop.cli import UsageError, read_new_passphrase, unlock, user_name, workspace_dir
from desktop.env_secrets import NEW_PASSPHRASE_ENV
from desktop.output import say
from storage import backup, escrow, keyfile, paper_shares
from storage.errors import NotAWorkspace
from storage.paths import WorkspacePaths
from storage.recovery import ESCROW, SHARES, Recovered, recover_workspace


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `valise recovery ...`."""
    p = commands.add_parser(
        "recovery", parents=[common], help="paper shares and escrow for a lost passphrase"
    )
    sub = p.add_subparsers(dest="recovery_command", metavar="ACTION", required=True)

    s = sub.add_parser(
        "shares",
        parents=[common],
        help="make K-of-N paper shares that open the workspace without its passphrase",
    )
    s.add_argument("--threshold", type=int, required=True, metavar="K", help="shares needed")
    s.add_argument("--shares", type=int, required=True, metavar="N", help="shares made (≤ 16)")
    s.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
    s.set_defaults(run=cmd_shares)

    s = sub.add_parser(
        "escrow",
        parents=[common],
        help="seal the database key to the tribunal IT's age recipient",
    )
    s.add_argument("--recipient", required=True, metavar="AGE_RECIPIENT", help="age1…")
    s.add_argument("--out", required=True, metavar="FILE", help="the escrow file to create")
    s.set_defaults(run=cmd_escrow)

    s = sub.add_parser(
        "open",
        parents=[common],
        help="open the workspace (or a backup) with shares or an escrow; set a new passphrase",
    )
    s.add_argument("files", nargs="+", metavar="FILE", help="share files, or one escrow file")
    s.add_argument(
        "--identity", metavar="KEY_FILE", help="the tribunal IT's age key: FILE is an escrow"
    )
    s.add_argument(
        "--backup",
        metavar="BACKUP",
        help="restore this backup file into --workspace (a new or empty folder) instead",
    )
    s.set_defaults(run=cmd_open)


def cmd_shares(args: argparse.Namespace) -> int:
    """Make a new set of paper shares and say what to do with them."""
    paper_shares.check_counts(args.threshold, args.shares)  # before the passphrase
    out = Path(args.out)
    with unlock(args) as ws:
        made = paper_shares.make_shares(ws, args.threshold, args.shares, out)
        office = ws.office_name
    say(
        f"Made {args.shares} recovery shares (set {made.set_id}) for {office}; any"
        f" {made.threshold} of them open the workspace without its passphrase."
    )
    for path in made.files:
        say(f"  {path}")
    say(
        "Print each share's text file and its QR code on paper, give each paper to a"
        " different trusted person (sealed envelopes, different places), then delete the"
        f" folder {out}: the words must live on paper only. Backups written from now on"
        " also open with these shares."
    )
    if made.replaced_a_set:
        say(
            "The previous set of shares no longer opens this workspace: destroy its papers."
            " (Backups written before today still open with it.)"
        )
    return 0


def cmd_escrow(args: argparse.Namespace) -> int:
    """Write an escrow of the database key for the tribunal IT."""
    escrow.parse_recipient(args.recipient)  # refuse a bad recipient before the passphrase
    out = Path(args.out)
    with unlock(args) as ws:
        escrow.write_escrow(ws, args.recipient, out)
    say(
        f"Wrote the escrow {out}: the database key, sealed to the tribunal IT's key"
        f" {args.recipient.strip()}. Send it to the tribunal IT; it opens this workspace and"
        " its backups with their offline key only. The recipient is kept, so a later rekey"
        " writes the escrow again."
    )
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    """Recover the workspace (or restore a backup) with shares or an escrow."""
    files = [Path(name) for name in args.files]
    if args.identity is not None:
        if len(files) != 1:
            raise UsageError("give one escrow file with --identity")
        escrow.read_escrow(files[0], Path(args.identity))  # a bad file is told at once
        unwrap, way = escrow.escrow_unwrap(files[0], Path(args.identity)), ESCROW
    else:
        paper_shares.recover_secret(files)  # a bad share is told before any question
        unwrap, way = paper_shares.shares_unwrap(files), SHARES
    root = workspace_dir(args)
    if args.backup is None:
        paths = WorkspacePaths(root)
        if not paths.looks_like_workspace():
            raise NotAWorkspace(root)
        unwrap(keyfile.read(paths.keyfile))  # fits this workspace? (proved again, locked)
    recovered = Recovered(unwrap, way, read_new_passphrase(NEW_PASSPHRASE_ENV), user_name(args))
    if args.backup is not None:
        result = backup.restore_backup(Path(args.backup), root, recovered=recovered)
        say(
            f"Restored {result.office} into {root} with the {way} (new epoch {result.epoch};"
            f" {result.evidence_files} evidence files). It opens with the new passphrase."
        )
        return 0
    with recover_workspace(root, recovered) as ws:
        office = ws.office_name
    say(
        f"Opened the workspace of {office} with the {way} and set the new passphrase."
        " The old passphrase no longer opens it (copies and backups made before still open"
        " with it); the paper shares and the escrow still open it too."
    )
    return 0
