"""authority add|list, revocation list|confirm|dismiss|retract: who may revoke keys here."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli import unlock
from desktop.output import line, print_json, print_table, say
from sync import trust


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `authority` and `revocation`."""
    authority = commands.add_parser(
        "authority", help="keys this office trusts to revoke and retract other keys"
    )
    actions = authority.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "add", parents=[common], help="name an authority (a card file or a peer id)"
    )
    p.add_argument("source", metavar="CARDFILE|PEER", help="its contact card file, or a peer id")
    p.add_argument("--fingerprint", required=True, help="the digits the authority read to you")
    p.set_defaults(run=cmd_authority_add)
    p = actions.add_parser("list", parents=[common], help="list the authorities named here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_authority_list)

    revocation = commands.add_parser(
        "revocation", help="revocations and retractions of keys, and advisories to decide"
    )
    actions = revocation.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser(
        "list", parents=[common], help="who revoked which key, and whether it counts"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_revocation_list)
    p = actions.add_parser(
        "confirm", parents=[common], help="agree with an advisory: sign the revocation ourselves"
    )
    p.add_argument("statement", metavar="ID")
    p.set_defaults(run=cmd_revocation_confirm)
    p = actions.add_parser("dismiss", parents=[common], help="set an advisory revocation aside")
    p.add_argument("statement", metavar="ID")
    p.set_defaults(run=cmd_revocation_dismiss)
    p = actions.add_parser("retract", parents=[common], help="sign a retraction of a revocation")
    p.add_argument("statement", metavar="ID")
    p.add_argument("--reason", default="", help="why, for the record")
    p.set_defaults(run=cmd_revocation_retract)


def cmd_authority_add(args: argparse.Namespace) -> int:
    """Name an authority after checking its fingerprint; revocations it signed count now."""
    with unlock(args) as ws:
        named = trust.name_authority(ws, args.source, args.fingerprint)
    say(
        f"{named.office_name} is named as an authority here: its revocations and retractions"
        " of other keys now count at this office."
    )
    return 0


def cmd_authority_list(args: argparse.Namespace) -> int:
    """The authorities named here."""
    with unlock(args) as ws:
        found = trust.list_authorities(ws)
    rows = [
        {
            "id": a.origin[:16],
            "origin": a.origin,
            "office": a.office_name,
            "fingerprint": a.fingerprint,
            "named_at": a.named_at,
        }
        for a in found
    ]
    if args.json:
        print_json(rows)
    elif not rows:
        say("No authority is named here: only this office and each key's holder can revoke.")
    else:
        print_table(
            ["ID", "OFFICE", "FINGERPRINT", "NAMED"],
            [(r["id"], r["office"], r["fingerprint"], r["named_at"]) for r in rows],
        )
    return 0


def cmd_revocation_list(args: argparse.Namespace) -> int:
    """Every revocation and retraction, who signed it, and what it amounts to here."""
    with unlock(args) as ws:
        entries = trust.revocation_entries(ws)
    if args.json:
        print_json([e.to_json() for e in entries])
        return 0
    if not entries:
        say("No key has been revoked.")
        return 0
    print_table(
        ["ID", "WHAT", "STATUS", "KEY OF", "AFTER", "SIGNED BY", "REASON"],
        [
            (
                e.short_id,
                e.kind if not e.retracts else f"retract {e.retracts}",
                e.status if not e.retracted_by else f"retracted by {e.retracted_by}",
                e.subject_label,
                e.after,
                e.signer_label,
                e.reason,
            )
            for e in entries
        ],
    )
    advisories = sum(1 for e in entries if e.status == "advisory")
    if advisories:
        say(
            f"{advisories} advisory revocation{'s' if advisories > 1 else ''} signed by"
            " offices that are not authorities here change nothing until confirmed"
            " (`valise revocation confirm ID`) or set aside (`valise revocation dismiss ID`),"
            " here or in the window (Sync › Trust and revocations…, Ctrl+Shift+T)."
        )
    return 0


def cmd_revocation_confirm(args: argparse.Namespace) -> int:
    """Sign our own revocation agreeing with an advisory; it counts here from now."""
    with unlock(args) as ws:
        cs_id = trust.confirm_advisory(ws, args.statement)
    line(trust.short_statement_id(cs_id))
    say(
        "Confirmed: this office signed the same revocation; it counts here now, and at the"
        " offices that name this one as an authority once the next bundles arrive."
    )
    return 0


def cmd_revocation_dismiss(args: argparse.Namespace) -> int:
    """Set an advisory aside (it stays listed)."""
    with unlock(args) as ws:
        advisory = trust.dismiss_advisory(ws, args.statement)
    say(f"The advisory {trust.short_statement_id(advisory.ref)} is set aside; nothing changed.")
    return 0


def cmd_revocation_retract(args: argparse.Namespace) -> int:
    """Sign a retraction; it counts here and where this office is an authority."""
    with unlock(args) as ws:
        cs_id = trust.retract_revocation(ws, args.statement, args.reason)
    line(trust.short_statement_id(cs_id))
    say(
        "Retracted here. Offices that name this one as an authority follow once the next"
        " bundles arrive; elsewhere the retraction is an advisory."
    )
    return 0
