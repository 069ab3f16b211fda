"""identity card|age-key, peer, case share|unshare, bundle, sync usb, conflicts."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from desktop.cli import unlock
from desktop.output import TerminalProgress, error, line, print_fields, print_json, print_table, say
from storage.text_rules import one_line
from storage.workspace import Workspace
from sync import conflicts, peer_state, peers, trust
from sync.agekeys import age_identity, age_recipient
from sync.cards import PEER_ROLES, read_card
from sync.errors import SyncError
from sync.export import export_bundles, office_names
from sync.importer import ImportReport, import_paths, inspect_bundle
from sync.releases import what_role_receives
from sync.usb import sync_usb

MIB = 1024 * 1024


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add peer, bundle, sync and conflicts."""
    peer = commands.add_parser("peer", help="peers: other offices and liaisons")
    actions = peer.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("add", parents=[common], help="add a peer from its contact card")
    p.add_argument("card", metavar="CARD", help="contact card file")
    p.add_argument("--role", required=True, choices=PEER_ROLES)
    p.set_defaults(run=cmd_peer_add)
    p = actions.add_parser("list", parents=[common], help="list peers and their state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_peer_list)
    p = actions.add_parser(
        "verify", parents=[common], help="record that the fingerprint read to you matches"
    )
    p.add_argument("peer", metavar="PEER")
    p.add_argument(
        "--fingerprint",
        required=True,
        metavar="DIGITS",
        help="all the digits the other office read to you (spaces allowed)",
    )
    p.set_defaults(run=cmd_peer_verify)
    p = actions.add_parser(
        "revoke", parents=[common], help="revoke a peer's key after a changeset (lost device)"
    )
    p.add_argument("peer", metavar="PEER")
    p.add_argument("--after", required=True, type=_sequence, metavar="SEQ")
    p.add_argument("--reason", default="", help="why, for the record")
    p.set_defaults(run=cmd_peer_revoke)

    bundle = commands.add_parser("bundle", help="bundles for couriers")
    actions = bundle.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("export", parents=[common], help="write a bundle; prints its path")
    p.add_argument("--to", action="append", required=True, metavar="PEER", dest="peers")
    p.add_argument("--out", required=True, metavar="DIR", help="stick or folder")
    p.add_argument(
        "--part-size", type=_part_size, default=None, metavar="MIB", help=argparse.SUPPRESS
    )
    p.set_defaults(run=cmd_bundle_export)
    p = actions.add_parser("import", parents=[common], help="import bundles (files or folders)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_bundle_import)
    p = actions.add_parser("inspect", parents=[common], help="check a bundle without applying it")
    p.add_argument("file", metavar="FILE", help="the bundle's .head.age file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_bundle_inspect)

    sync = commands.add_parser("sync", help="exchange with a stick in one step")
    actions = sync.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("usb", parents=[common], help="import what is for us, export for peers")
    p.add_argument("path", metavar="PATH", help="the stick's folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_sync_usb)

    queue = commands.add_parser("conflicts", help="concurrent edits waiting for a decision")
    actions = queue.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("list", parents=[common], help="open conflicts with both values")
    p.add_argument("--all", action="store_true", help="settled ones too")
    p.add_argument(
        "--reveal",
        action="store_true",
        help="show protected identities in conflicts (recorded in the audit log)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_conflicts_list)
    p = actions.add_parser("resolve", parents=[common], help="settle a conflict")
    p.add_argument("conflict", metavar="ID", type=_conflict_id)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--keep", metavar="VALUE", help="shown, other, or one of the two values")
    group.add_argument("--value", metavar="TEXT", help="a new value")
    p.set_defaults(run=cmd_conflicts_resolve)


def register_identity_files(
    identity: argparse.ArgumentParser, common: argparse.ArgumentParser
) -> None:
    """`identity card` and `identity age-key` under the `identity` command."""
    actions = identity.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("card", parents=[common], help="write our contact card")
    p.add_argument("--out", required=True, metavar="FILE")
    p.set_defaults(run=cmd_identity_card)
    p = actions.add_parser(
        "age-key", parents=[common], help="write our bundle key in age's format (sensitive)"
    )
    p.add_argument("--out", required=True, metavar="FILE")
    p.set_defaults(run=cmd_identity_age_key)
    p = actions.add_parser(
        "rotate", parents=[common], help="replace this office's keys (announced to peers)"
    )
    p.set_defaults(run=cmd_identity_rotate)


def register_case_sharing(case: Any, common: argparse.ArgumentParser) -> None:
    """`case share` and `case unshare` under the `case` command."""
    p = case.add_parser("share", parents=[common], help="share a case with a peer")
    p.add_argument("case", metavar="CASE")
    p.add_argument("peer", metavar="PEER")
    p.set_defaults(run=cmd_case_share)
    p = case.add_parser("unshare", parents=[common], help="stop sharing a case with a peer")
    p.add_argument("case", metavar="CASE")
    p.add_argument("peer", metavar="PEER")
    p.set_defaults(run=cmd_case_unshare)


def _part_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of MiB") from None
    if not 1 <= value <= 2048:
        raise argparse.ArgumentTypeError("a part is 1 to 2048 MiB")
    return value * MIB


def _sequence(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a sequence number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("sequence numbers are 0 or more")
    return value


def _conflict_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a conflict number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("conflict numbers start at 1")
    return value


def _write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, naming the file in any error."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise SyncError(f"{path} already exists; choose another name.") from None
    except OSError as exc:
        raise SyncError(f"Cannot write {path}: {exc.strerror}.") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


# -- identity files ------------------------------------------------------------------------


def cmd_identity_card(args: argparse.Namespace) -> int:
    """Our public keys, for other offices to add."""
    out = Path(args.out)
    with unlock(args) as ws:
        _write_new_file(out, peers.card_bytes(ws), 0o644)
        ws.record("contact card written", "", {"file": out.name})
        say(f"Wrote the contact card of {ws.office_name} to {out}")
        say(f"Fingerprint: {ws.fingerprint}")
    return 0


def cmd_identity_age_key(args: argparse.Namespace) -> int:
    """Our X25519 key in age's format, so `age -d -i FILE` opens our bundles' parts."""
    out = Path(args.out)
    with unlock(args) as ws:
        public = age_recipient(ws.keys.encryption_public)
        text = (
            "# Valise bundle key of " + ws.office_name + "\n"
            f"# public key: {public}\n"
            "# Anyone holding this file can read every bundle sent to this office.\n"
            + age_identity(ws.keys.encryption_private)
            + "\n"
        )
        _write_new_file(out, text.encode(), 0o600)
        ws.record("age key written", "", {"file": out.name})
    say(
        f"valise: warning: {out} holds this office's private bundle key in clear. Keep it"
        " offline (a sealed envelope, an encrypted archive), never beside the bundles."
    )
    return 0


# -- peers ---------------------------------------------------------------------------------


def cmd_peer_add(args: argparse.Namespace) -> int:
    """Record a peer; prints its id alone on stdout."""
    card = read_card(Path(args.card))
    with unlock(args) as ws:
        peer = peers.add_peer(ws, card, args.role)
        ours = ws.fingerprint
        probation = peer_state.on_probation(ws, peer)
    line(peer.peer_id)
    office = one_line(peer.office_name, 120)
    say(f"Added {office} as {peer.role}.")
    say(f"Their fingerprint: {peer.fingerprint}")
    say(f"Our fingerprint:   {ours}")
    compare = (
        "Read our fingerprint to them, have them read theirs to you, then run"
        f" `valise peer verify {peer.peer_id} --fingerprint DIGITS` with the digits they read."
    )
    if probation:
        say(
            f"{office} is on probation: its bundles are kept unread and nothing is written"
            f" for it until you verify it. {compare}"
        )
    elif not peer.verified:
        say(
            f"{office} is not verified, but this office accepts unverified peers"
            f" (`valise policy show`), so bundles go both ways. {compare}"
        )
    return 0


def _peer_state(ws: Workspace, peer: peers.Peer) -> str:
    """One word for what a peer's state allows: revoked, probation, unverified (accepted by
    the setting) or verified."""
    if peer_state.revocation(ws, peer) is not None:
        return "revoked"
    if peer_state.on_probation(ws, peer):
        return "probation"
    return "verified" if peer.verified else "unverified"


def _peer_json(peer: peers.Peer, state: str) -> dict[str, Any]:
    return {
        "id": peer.peer_id,
        "origin": peer.origin,
        "office": peer.office_name,
        "role": peer.role,
        "fingerprint": peer.fingerprint,
        "verified": peer.verified,
        "revoked_after": peer.revoked_after,
        "verified_at": peer.verified_at,
        "added_at": peer.added_at,
        "state": state,
    }


def cmd_peer_list(args: argparse.Namespace) -> int:
    """Every peer with its role and whether its fingerprint was compared."""
    with unlock(args) as ws:
        found = [(p, _peer_state(ws, p)) for p in peers.list_peers(ws)]
    if args.json:
        print_json([_peer_json(p, state) for p, state in found])
    else:
        print_table(
            ["ID", "OFFICE", "ROLE", "VERIFIED", "REVOKED", "STATE", "FINGERPRINT"],
            [
                (
                    p.peer_id,
                    p.office_name,
                    p.role,
                    "yes" if p.verified else "no",
                    "" if p.revoked_after is None else f"after {p.revoked_after}",
                    state,
                    p.fingerprint,
                )
                for p, state in found
            ],
        )
        if any(state == "probation" for _, state in found):
            say(
                "Peers on probation send and receive nothing until you compare their"
                " fingerprint by phone or on paper and run `valise peer verify ID"
                " --fingerprint DIGITS`."
            )
    return 0


def cmd_peer_verify(args: argparse.Namespace) -> int:
    """Record that the digits the other office read out match its card; anything else is
    refused and nothing changes."""
    with unlock(args) as ws:
        peer = peers.verify_peer(ws, peers.get_peer(ws, args.peer), args.fingerprint)
    say(
        f"{one_line(peer.office_name, 120)} is verified: its bundles are read and bundles are"
        " written for it (those it sent before are read at the next import or sync)."
    )
    return 0


def cmd_peer_revoke(args: argparse.Namespace) -> int:
    """Revoke a peer's key after one of its changesets; the statement reaches every peer and
    counts where this office is an authority."""
    with unlock(args) as ws:
        peer = peers.get_peer(ws, args.peer)
        _, newest = trust.last_seq_of(ws, peer.origin)
        trust.revoke_peer(ws, peer, args.after, args.reason)
    say(
        f"The key of {peer.office_name} is revoked after its changeset {args.after} (the newest"
        f" held here is {newest}). Later changesets signed with it are refused here and, once"
        " the next bundles arrive, at the offices that name this one as an authority (an"
        " advisory elsewhere). `valise revocation retract ID` withdraws it."
    )
    return 0


def cmd_identity_rotate(args: argparse.Namespace) -> int:
    """New keys for this office, announced to peers under the old key."""
    with unlock(args) as ws:
        fingerprint = trust.rotate_identity(ws)
    say(
        "This office has new keys. Peers learn them from the next bundles; the new"
        f" fingerprint, to read to them, is:\n{fingerprint}"
    )
    return 0


def cmd_case_share(args: argparse.Namespace) -> int:
    """Grant a peer its role in a case; the case's whole history goes in the next bundle
    for it, and the signed grant to every member."""
    with unlock(args) as ws:
        peer = peers.get_peer(ws, args.peer)
        case_id = peers.share_case(ws, args.case, peer)
    say(f"Case {case_id} is shared with {peer.office_name} as {peer.role}.")
    will, will_not = what_role_receives(peer.role)
    say(f"It will receive: {will}\nIt will not receive: {will_not}")
    return 0


def cmd_case_unshare(args: argparse.Namespace) -> int:
    """Stop sending a case to a peer and accepting its later changes there."""
    with unlock(args) as ws:
        peer = peers.get_peer(ws, args.peer)
        case_id = peers.unshare_case(ws, args.case, peer)
    say(
        f"Case {case_id} is no longer sent to {peer.office_name}, and its changes there after"
        " this are held back (what it received stays with it)."
    )
    return 0


# -- bundles -------------------------------------------------------------------------------


def cmd_bundle_export(args: argparse.Namespace) -> int:
    """Write one bundle per group of the peers named that may see the same things; prints
    each head file's path, one per line. Exit 1 when a group's bundle failed."""
    progress = TerminalProgress("Writing the bundle")
    with unlock(args) as ws:
        recipients = [peers.get_peer(ws, text) for text in args.peers]
        options = {"part_size": args.part_size} if args.part_size else {}
        try:
            run = export_bundles(ws, recipients, Path(args.out), progress=progress, **options)
        finally:
            progress.end()
    for result in run.written:
        line(result.head)
        say(
            f"Bundle for {office_names(result.recipients)}: {result.changesets:,}"
            f" changesets in {len(result.cases):,} cases, {result.evidence:,} evidence files,"
            f" {result.bytes_written:,} bytes in {len(result.parts)} parts."
        )
    if run.failed:
        error(run.summary())
        return 1
    if len(run.written) > 1:
        say(run.summary())
    return 0


def describe(report: ImportReport) -> str:
    """One line about what a bundle did, for people."""
    if report.status != "imported":
        return f"{report.head.name}: {report.status}. {report.message}".rstrip()
    parts = [
        f"{report.changesets:,} changesets in {len(report.cases):,} cases",
        f"{report.evidence:,} evidence files",
        f"{report.conflicts:,} new conflicts",
    ]
    if report.duplicates:
        parts.append(f"{report.duplicates:,} already here")
    if report.unparked:
        parts.append(f"{report.unparked:,} earlier parked now applied")
    if report.released:
        parts.append(f"{report.released:,} held back earlier now applied (a grant allows them)")
    if report.parked:
        parts.append(f"{report.parked:,} parked ({'; '.join(report.parked_reasons)})")
    if report.quarantined:
        parts.append(f"{report.quarantined:,} quarantined ({'; '.join(report.quarantine_reasons)})")
    if report.receipts_refused:
        parts.append(f"{len(report.receipts_refused):,} receipts refused")
    if report.not_taken:
        parts.append(f"passed on by a partner and not taken ({'; '.join(report.not_taken)})")
    return f"{report.head.name}: from {report.sender} ({report.created}): " + ", ".join(parts)


def _print_reports(reports: list[ImportReport], as_json: bool) -> int:
    if as_json:
        print_json([r.to_json() for r in reports])
    elif not reports:
        say("No bundles found.")
    for report in reports:
        if not as_json:
            line(describe(report))
        if report.status in ("refused", "failed"):
            say(f"valise: {report.status} {report.head}: {report.message}")
        for sentence in report.receipts_refused:
            say(f"valise: warning: {sentence}")
    return 1 if any(r.status in ("refused", "failed") for r in reports) else 0


def cmd_bundle_import(args: argparse.Namespace) -> int:
    """Import every bundle found; exit 1 when any was refused."""
    progress = TerminalProgress("Importing")
    with unlock(args) as ws:
        try:
            reports = import_paths(ws, [Path(p) for p in args.paths], progress)
        finally:
            progress.end()
    return _print_reports(reports, args.json)


def cmd_bundle_inspect(args: argparse.Namespace) -> int:
    """Who sent it, to whom, when, what it holds, and whether it verifies."""
    with unlock(args) as ws:
        info = inspect_bundle(ws, Path(args.file))
    if args.json:
        print_json(info)
    else:
        print_fields(info.items())
    if info["verification"] in ("verified", "already imported", "written by this installation"):
        return 0
    error(f"{args.file}: {info.get('detail') or info['verification']}")
    return 1


def cmd_sync_usb(args: argparse.Namespace) -> int:
    """Import what is for us from the stick, then export for every peer with news; every
    step is reported, and a failed one makes the exit status 1."""
    progress = TerminalProgress("Syncing with the stick")
    with unlock(args) as ws:
        try:
            outcome = sync_usb(ws, Path(args.path), progress)
        finally:
            progress.end()
    if args.json:
        print_json(
            {
                "imported": [r.to_json() for r in outcome.imported],
                "steps": [{"action": s.action, "ok": s.ok, "text": s.text} for s in outcome.steps],
            }
        )
    else:
        for step in outcome.steps:
            line(step.text)
    if not outcome.exported and not any(s.action == "export" for s in outcome.failed):
        say("No peer has anything new to receive.")
    if outcome.failed:
        error(outcome.headline())
        return 1
    say(outcome.headline())
    return 0


# -- conflicts -----------------------------------------------------------------------------


def cmd_conflicts_list(args: argparse.Namespace) -> int:
    """Both values of each conflict, who wrote them and when; protected identities only
    with --reveal (audited)."""
    with unlock(args) as ws:
        found = conflicts.list_conflicts(ws, include_settled=args.all, reveal=args.reveal)
    if args.json:
        print_json([c.to_json() for c in found])
        return 0
    print_table(
        ["ID", "RECORD", "FIELD", "SHOWN", "BY", "OTHER", "BY", "STATUS"],
        [
            (
                c.id,
                f"{c.entity} {c.person or c.entity_id}",
                c.field,
                _conflict_value(c, c.shown_value),
                c.shown_by,
                _conflict_value(c, c.other_value),
                c.other_by,
                c.status,
            )
            for c in found
        ],
    )
    if any(c.withheld for c in found):
        say(
            "Protected identities are withheld; `valise conflicts list --reveal` shows them"
            " (recorded in the audit log). --keep shown or --keep other settles a conflict"
            " without showing them."
        )
    return 0


def _conflict_value(conflict: conflicts.Conflict, value: object) -> object:
    """A value for the table: a withheld one says how to see it."""
    if conflict.withheld and value == conflicts.WITHHELD:
        return f"{conflicts.WITHHELD[:-1]} — use --reveal)"
    return value


def cmd_conflicts_resolve(args: argparse.Namespace) -> int:
    """Settle a conflict with one of its values or a new one."""
    with unlock(args) as ws:
        conflicts.resolve(ws, args.conflict, keep=args.keep, value=args.value)
    say(f"Conflict {args.conflict} is settled.")
    return 0
