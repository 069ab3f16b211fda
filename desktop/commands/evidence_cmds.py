"""evidence add|list|show|get|verify (release, releases, unrelease), custody add|list."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from desktop.cli import unlock
from desktop.commands import release_cmds
from desktop.output import (
    TerminalProgress,
    line,
    print_fields,
    print_json,
    print_table,
    say,
    warn_if_own_work_missing,
)
from storage import cases, evidence, queries
from storage.entities import (
    CLASSIFICATIONS,
    COLLECTION_METHODS,
    CUSTODY_EVENTS,
    CUSTODY_MEDIA,
    EVIDENCE_TYPES,
)
from storage.errors import IntegrityError
from storage.records import Case, Evidence
from storage.releases import releases_of


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the evidence and custody commands."""
    ev = commands.add_parser("evidence", help="evidence items").add_subparsers(
        dest="action", metavar="ACTION"
    )
    p = ev.add_parser("add", parents=[common], help="add a file as evidence; prints its id")
    p.add_argument("case", metavar="CASE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--title")
    p.add_argument("--type", choices=EVIDENCE_TYPES)
    p.add_argument("--description")
    p.add_argument("--created-at", dest="created_at", help="when the item was made (may be vague)")
    p.add_argument("--collected-at", dest="collected_at", help="default: now")
    p.add_argument("--collected-by", dest="collected_by")
    p.add_argument(
        "--method", dest="collection_method", choices=[m for m in COLLECTION_METHODS if m]
    )
    p.add_argument("--location", dest="collection_location")
    p.add_argument("--source", help="pseudonym or organisation that gave it")
    p.add_argument("--classification", choices=CLASSIFICATIONS)
    p.add_argument("--sensitivity", help="comma-separated: graphic, sexual violence, child, …")
    p.set_defaults(run=cmd_evidence_add)

    p = ev.add_parser("update", parents=[common], help="change register fields of an item")
    p.add_argument("evidence", metavar="ID")
    p.add_argument("--title")
    p.add_argument("--type", choices=EVIDENCE_TYPES)
    p.add_argument("--description")
    p.add_argument("--created-at", dest="created_at")
    p.add_argument("--collected-at", dest="collected_at")
    p.add_argument("--collected-by", dest="collected_by")
    p.add_argument(
        "--method", dest="collection_method", choices=[m for m in COLLECTION_METHODS if m]
    )
    p.add_argument("--location", dest="collection_location")
    p.add_argument("--source")
    p.add_argument("--classification", choices=CLASSIFICATIONS)
    p.add_argument("--sensitivity")
    p.add_argument("--holder", dest="current_holder")
    p.add_argument("--custody-status", dest="custody_status")
    p.set_defaults(run=cmd_evidence_update)

    p = ev.add_parser("list", parents=[common], help="the evidence register of a case")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_evidence_list)

    p = ev.add_parser("show", parents=[common], help="one evidence item with its custody")
    p.add_argument("evidence", metavar="ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_evidence_show)

    p = ev.add_parser("get", parents=[common], help="write a verified plain copy (audited)")
    p.add_argument("evidence", metavar="ID")
    p.add_argument("--out", required=True, metavar="PATH", help="file (or folder) to write")
    p.set_defaults(run=cmd_evidence_get)

    p = ev.add_parser("verify", parents=[common], help="re-hash every stored item")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_evidence_verify)
    release_cmds.register_release(ev, common)

    cu = commands.add_parser("custody", help="chain of custody").add_subparsers(
        dest="action", metavar="ACTION"
    )
    p = cu.add_parser("add", parents=[common], help="append a custody event; prints its id")
    p.add_argument("evidence", metavar="EVIDENCE")
    p.add_argument("--event", required=True, choices=CUSTODY_EVENTS)
    p.add_argument("--at", help="when (UTC), e.g. 2027-03-15T14:30Z; default: now")
    p.add_argument("--actor", help="who handled it (default: this workspace's author)")
    p.add_argument("--from", dest="from_holder")
    p.add_argument("--to", dest="to_holder")
    p.add_argument("--location")
    p.add_argument("--medium", choices=[m for m in CUSTODY_MEDIA if m])
    p.add_argument("--note")
    p.add_argument("--hash", dest="hash_seen", help="SHA-256 observed")
    p.set_defaults(run=cmd_custody_add)

    p = cu.add_parser("list", parents=[common], help="an item's chain of custody")
    p.add_argument("evidence", metavar="EVIDENCE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_custody_list)


def cmd_evidence_add(args: argparse.Namespace) -> int:
    """Stream a file into the encrypted store; print the new id alone."""
    source = Path(args.file)
    with unlock(args) as ws:
        evidence_id = evidence.add_evidence(
            ws,
            args.case,
            source,
            progress=TerminalProgress(f"Adding {source.name}"),
            title=args.title,
            type=args.type,
            description=args.description,
            created_at=args.created_at,
            collected_at=args.collected_at,
            collected_by=args.collected_by,
            collection_method=args.collection_method,
            collection_location=args.collection_location,
            source=args.source,
            classification=args.classification,
            sensitivity=args.sensitivity,
        )
        ern = queries.get(ws.conn, Evidence, evidence_id).ern
        warn_if_own_work_missing(ws.awaiting_own_work, f"the evidence number {ern}")
    line(evidence_id)
    return 0


_REGISTER_FIELDS = (
    "title",
    "type",
    "description",
    "created_at",
    "collected_at",
    "collected_by",
    "collection_method",
    "collection_location",
    "source",
    "classification",
    "sensitivity",
    "current_holder",
    "custody_status",
)


def cmd_evidence_update(args: argparse.Namespace) -> int:
    """Change register fields (the file itself, its hash and size never change)."""
    with unlock(args) as ws:
        changed = cases.update_record(
            ws, Evidence, args.evidence, **{name: getattr(args, name) for name in _REGISTER_FIELDS}
        )
    line(changed)
    return 0


def cmd_evidence_list(args: argparse.Namespace) -> int:
    """The register of one case."""
    with unlock(args) as ws:
        case = queries.get(ws.conn, Case, args.case)
        items = queries.in_case(ws.conn, Evidence, case.id)
    if args.json:
        print_json([i.to_json() for i in items])
    else:
        print_table(
            ["ID", "ERN", "TYPE", "SIZE", "TITLE"],
            [(i.id, i.ern, i.type, i.size, i.title) for i in items],
        )
    return 0


def cmd_evidence_show(args: argparse.Namespace) -> int:
    """One item, its links and its custody."""
    with unlock(args) as ws:
        item = queries.get(ws.conn, Evidence, args.evidence)
        chain = queries.custody_of(ws.conn, item.id)
        links = queries.links_of(ws.conn, item.id)
        released = releases_of(ws.conn, item.id)
    if args.json:
        print_json(
            {
                **item.to_json(),
                "custody": [e.to_json() for e in chain],
                "links": [link.to_json() for link in links],
                "releases": [{**r.__dict__, "grantee": r.grantee} for r in released],
            }
        )
        return 0
    print_fields(item.to_json().items())
    line("\nCustody:")
    print_table(
        ["AT", "EVENT", "SIGNED BY", "ACTOR (AS WRITTEN)", "TO", "RESULT"],
        [(e.at, e.event, e.signer, e.actor, e.to_holder, e.result) for e in chain],
    )
    return 0


def cmd_evidence_get(args: argparse.Namespace) -> int:
    """Stream a verified plain copy out."""
    with unlock(args) as ws:
        item = evidence.export_evidence(
            ws, args.evidence, Path(args.out), progress=TerminalProgress("Writing")
        )
    say(f"Wrote {item.ern} ({item.size} bytes, SHA-256 verified).")
    return 0


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    """Re-hash every item; exit 1 and name every mismatch."""
    with unlock(args) as ws:
        results = evidence.verify_all(ws, progress=TerminalProgress("Verifying"))
    bad = [r for r in results if not r.ok]
    if args.json:
        print_json([r.__dict__ for r in results])
    else:
        for r in bad:
            line(f"MISMATCH {r.ern} ({r.evidence_id}): {r.problem or 'hash differs'}")
        line(f"{len(results) - len(bad)} of {len(results)} evidence items verified.")
    if bad:
        raise IntegrityError(f"{len(bad)} evidence item(s) failed verification; see above.")
    return 0


def cmd_custody_add(args: argparse.Namespace) -> int:
    """Append a custody event."""
    with unlock(args) as ws:
        event_id = evidence.add_custody(
            ws,
            args.evidence,
            args.event,
            at=args.at,
            from_holder=args.from_holder,
            to_holder=args.to_holder,
            location=args.location,
            medium=args.medium,
            note=args.note,
            hash_seen=args.hash_seen,
            **({"actor": args.actor} if args.actor else {}),
        )
    line(event_id)
    return 0


def cmd_custody_list(args: argparse.Namespace) -> int:
    """An item's chain of custody."""
    with unlock(args) as ws:
        chain = evidence.custody(ws, args.evidence)
    if args.json:
        print_json([e.to_json() for e in chain])
    else:
        print_table(
            ["AT", "EVENT", "SIGNED BY", "ACTOR (AS WRITTEN)", "FROM", "TO", "HASH SEEN", "NOTE"],
            [
                (
                    e.at,
                    e.event,
                    e.signer,
                    e.actor,
                    e.from_holder,
                    e.to_holder,
                    e.hash_seen[:16],
                    e.note,
                )
                for e in chain
            ],
        )
    return 0
