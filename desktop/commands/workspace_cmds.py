"""init, identity, passwd, rekey, backup, restore, self-test."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from desktop.cli import (
    UsageError,
    kdf_for_new_workspace,
    read_new_passphrase,
    read_passphrase,
    unlock,
    user_name,
    workspace_dir,
)
from desktop.commands import sync_cmds
from desktop.env_secrets import NEW_PASSPHRASE_ENV, PASSPHRASE_ENV
from desktop.output import print_fields, print_json, say
from storage import backup, escrow, keyfile, rekey
from storage.errors import StorageError
from storage.workspace import create_workspace
from sync import trust
from sync.cards import ContactCard, read_card


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the workspace commands."""
    p = commands.add_parser("init", parents=[common], help="create a new encrypted workspace")
    p.add_argument("--office", required=True, help="the office's name, e.g. 'Kabora field office'")
    p.add_argument("--code", help="short office code used in references (default: from the name)")
    p.add_argument("--situation", default="", help="situation code used in references, e.g. VAR")
    p.add_argument(
        "--author", help="the first user's name when --user is not given (older spelling)"
    )
    p.add_argument(
        "--authority",
        action="append",
        default=[],
        metavar="CARDFILE",
        help="the contact card of a key trusted to revoke others' keys (the tribunal liaison)",
    )
    p.add_argument(
        "--authority-fingerprint",
        action="append",
        default=[],
        metavar="DIGITS",
        help="its fingerprint, read to you by the authority (one per --authority)",
    )
    p.add_argument(
        "--escrow-recipient",
        metavar="AGE_RECIPIENT",
        help="also seal the database key to the tribunal IT's age key (see `recovery escrow`)",
    )
    p.add_argument("--escrow-out", metavar="FILE", help="the escrow file to create (with it)")
    p.set_defaults(run=cmd_init)

    p = commands.add_parser("identity", parents=[common], help="show this office's identity")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_identity)
    sync_cmds.register_identity_files(p, common)

    p = commands.add_parser(
        "passwd",
        parents=[common],
        help="change your passphrase (the database key stays the same: see rekey)",
        description="Change your own passphrase (a supervisor sets another user's with"
        " `valise user passwd NAME`). Only the key file changes: the database keeps its"
        " key, so an older copy of the key file, or any backup, still opens the current"
        " database with the old passphrase. After a key file or a backup was lost or seen"
        " by someone who knows the old passphrase, run `valise rekey` as well.",
    )
    p.set_defaults(run=cmd_passwd)

    p = commands.add_parser(
        "rekey",
        parents=[common],
        help="re-encrypt the database under a new random key",
        description="Re-encrypt the database under a new random key and rewrite the key file"
        " around it (every user keeps their passphrase). Old key files, and the backups"
        " written before, then no longer open the current database; they still open"
        " themselves (they are copies of what was). An interruption (power cut, kill)"
        " leaves the old or the new workspace whole; the next unlock finishes or forgets it.",
    )
    p.add_argument(
        "--escrow-out",
        metavar="FILE",
        help="also write a new escrow of the new key for the tribunal IT, to the recipient"
        " recorded by `recovery escrow` (the old escrow no longer opens the workspace)",
    )
    p.set_defaults(run=cmd_rekey)

    p = commands.add_parser("backup", parents=[common], help="write an encrypted backup file")
    p.add_argument("out", metavar="OUT", help="backup file to create")
    p.set_defaults(run=cmd_backup)

    p = commands.add_parser(
        "restore", parents=[common], help="restore a backup into a new workspace folder"
    )
    p.add_argument("backup", metavar="BACKUP", help="backup file written by 'valise backup'")
    p.set_defaults(run=cmd_restore)

    p = commands.add_parser(
        "self-test", parents=[common], help="check that this installation works (temp folder)"
    )
    p.set_defaults(run=cmd_self_test)


def cmd_init(args: argparse.Namespace) -> int:
    """Create a workspace; the passphrase is asked twice."""
    root = workspace_dir(args)
    authorities = _authority_cards(args)
    escrow_out = _escrow_request(args)
    passphrase = read_new_passphrase(PASSPHRASE_ENV)
    with create_workspace(
        root,
        args.office,
        passphrase,
        office_code=args.code,
        situation=args.situation,
        author=args.author,
        user=user_name(args),
        kdf=kdf_for_new_workspace(),
    ) as ws:
        for card, digits in authorities:
            trust.name_authority_card(ws, card, digits)
        if escrow_out is not None:
            escrow.write_escrow(ws, args.escrow_recipient, escrow_out)
        say(f"Created the workspace of {ws.office_name} in {root}")
        say(f"Fingerprint: {ws.fingerprint}")
        if ws.user is not None:
            say(
                f"First user: {ws.user.name}, a supervisor (unlock with --user or VALISE_USER"
                " once there are more; add them with `valise user add`)"
            )
        for card, _ in authorities:
            say(f"Authority over revocation: {card.office_name} ({card.fingerprint})")
        if escrow_out is not None:
            say(f"Escrow for the tribunal IT written to {escrow_out}; send it to them.")
    return 0


def _escrow_request(args: argparse.Namespace) -> Path | None:
    """The escrow file `init` is asked to write, checked before anything is created."""
    if (args.escrow_recipient is None) != (args.escrow_out is None):
        raise UsageError("Give --escrow-recipient and --escrow-out together.")
    if args.escrow_recipient is None:
        return None
    escrow.parse_recipient(args.escrow_recipient)
    out = Path(args.escrow_out)
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} already exists; choose a new file name for the escrow.")
    if not out.parent.is_dir():
        raise UsageError(f"The folder {out.parent} does not exist.")
    return out


def _authority_cards(args: argparse.Namespace) -> list[tuple[ContactCard, str]]:
    """The authority cards given to `init`, each checked against its fingerprint before
    anything is created."""
    if len(args.authority) != len(args.authority_fingerprint):
        raise UsageError(
            "Give one --authority-fingerprint for each --authority card (the digits the"
            " authority read to you)."
        )
    cards = [
        (read_card(Path(path)), digits)
        for path, digits in zip(args.authority, args.authority_fingerprint, strict=True)
    ]
    for card, digits in cards:
        trust.check_authority_fingerprint(card, digits)
    return cards


def cmd_identity(args: argparse.Namespace) -> int:
    """Office name and the fingerprint people read aloud."""
    with unlock(args) as ws:
        info = {
            "office": ws.office_name,
            "office_code": ws.office_code,
            "fingerprint": ws.fingerprint,
            "origin": ws.origin,
            "epoch": ws.epoch,
        }
    if args.json:
        print_json(info)
    else:
        print_fields(info.items())
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """Rewrap the database key under a new passphrase."""
    with unlock(args) as ws:
        new = read_new_passphrase(NEW_PASSPHRASE_ENV)
        ws.change_passphrase(new)
    say(
        "The passphrase was changed. The database key is the same: an older copy of the key"
        " file, or a backup, still opens it with the old passphrase (`valise rekey` changes"
        " the key itself)."
    )
    return 0


def cmd_rekey(args: argparse.Namespace) -> int:
    """A new database key, sealed to every user's slot (nobody's passphrase changes); with
    --escrow-out, a new escrow of it to the recipient the office recorded."""
    escrow_out = Path(args.escrow_out) if args.escrow_out else None
    passphrase = read_passphrase()
    with unlock(args, passphrase) as ws:
        shares = keyfile.read(ws.paths.keyfile).recovery_slots
        recipient = ws.meta(escrow.RECIPIENT_META, "")
        if escrow_out is not None:
            escrow.check_new_escrow(recipient, escrow_out)  # before anything changes
        result = rekey.rekey(ws, rekey.sealed_for_every_user(ws))
    earlier = (
        f" So do the {len(result.earlier_copies)} copies kept in backups/ before schema upgrades."
        if result.earlier_copies
        else ""
    )
    say(
        "The database was re-encrypted under a new key; every user's passphrase is unchanged."
        " Old key files no longer open it. Backup files written before this still open with the"
        f" old passphrase and hold the data as it was then.{earlier} Destroy them if the old"
        " key file or passphrase may be known to someone else."
    )
    if escrow_out is not None:
        _write_escrow_after_rekey(args, passphrase, recipient, escrow_out)
        recipient = ""  # told below only when there is no new escrow
    _say_recovery_after_rekey(shares, recipient)
    return 0


def _write_escrow_after_rekey(
    args: argparse.Namespace, passphrase: str, recipient: str, out: Path
) -> None:
    """The rekey is done; a failure here leaves it done and says how to finish."""
    try:
        with unlock(args, passphrase) as ws:
            escrow.write_escrow(ws, recipient, out)
    except StorageError as exc:
        raise StorageError(
            f"The rekey is done, but the new escrow could not be written: {exc} Write it with"
            f" `valise recovery escrow --recipient {recipient} --out FILE`."
        ) from None
    say(f"Wrote the new escrow {out} for the tribunal IT; the old escrow no longer opens it.")


def _say_recovery_after_rekey(shares: tuple[keyfile.RecoverySlot, ...], recipient: str) -> None:
    """The paper shares and the escrow held the old key: say they no longer open it now."""
    for slot in shares:
        say(
            f"The paper shares of set {slot.set_id} no longer open the workspace (they"
            " still open the backups written before); make a new set with `valise recovery"
            " shares`."
        )
    if recipient:
        say(
            "The escrow held by the tribunal IT holds the old key: write a new one with"
            f" `valise recovery escrow --recipient {recipient} --out FILE`."
        )


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a single encrypted backup file."""
    out = Path(args.out)
    with unlock(args) as ws:
        summary = backup.write_backup(ws, out)
    say(
        f"Backup written to {out}: {summary.evidence_files} evidence files, "
        f"{summary.bytes_written} bytes. It opens with the current passphrase."
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Bring a backup back as a workspace in a folder that holds none."""
    root = workspace_dir(args)
    source = Path(args.backup)
    passphrase = read_passphrase("Passphrase of the backup: ")
    result = backup.restore_backup(source, root, passphrase, user=user_name(args))
    say(
        f"Restored {result.office} into {root} (new epoch {result.epoch}; "
        f"{result.evidence_files} evidence files).\n"
        "If this replaces a lost or stolen laptop, run `valise identity rotate` now, then"
        " sync with every peer twice (a bundle out, their bundle back): they send back the"
        " work this office did after the backup. Open new cases after that, so their"
        " references follow the ones the lost laptop gave."
    )
    return 0


def cmd_self_test(args: argparse.Namespace) -> int:
    """Create a workspace in a temporary folder, use it, check it and remove it."""
    from desktop.selftest import run_self_test

    if args.workspace:
        raise UsageError("self-test always works in a temporary folder")
    return run_self_test()
