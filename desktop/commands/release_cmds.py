"""evidence release|releases|unrelease, person consent."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli import UsageError, from_stdin, unlock
from desktop.output import line, print_json, print_table, say
from storage import queries
from storage.consent import consent_history, current_consent, record_consent
from storage.entities import CONSENT_AUDIENCES, CONSENT_DECISIONS
from storage.records import Evidence, Person
from storage.releases import releases_of
from sync.releases import release_to, unrelease_to


def register_release(actions: Any, common: argparse.ArgumentParser) -> None:
    """Add `evidence release`, `evidence releases` and `evidence unrelease`."""
    p = actions.add_parser(
        "release",
        parents=[common],
        help="release an item to an NGO or defence peer (signed, audited, in its custody)",
    )
    p.add_argument("evidence", metavar="EVIDENCE")
    p.add_argument(
        "--to",
        required=True,
        metavar="PEER",
        help="a peer id, or ngo / defence for every peer of that role",
    )
    p.add_argument(
        "--with-file-name",
        dest="with_file_name",
        action="store_true",
        help="the original file name goes too (by default it does not)",
    )
    p.set_defaults(run=cmd_evidence_release)

    p = actions.add_parser("releases", parents=[common], help="to whom an item is released")
    p.add_argument("evidence", metavar="EVIDENCE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_evidence_releases)

    p = actions.add_parser(
        "unrelease",
        parents=[common],
        help="withdraw a release: nothing more is sent; what was sent stays sent",
    )
    p.add_argument("evidence", metavar="EVIDENCE")
    p.add_argument("--to", required=True, metavar="PEER", help="a peer id, or ngo / defence")
    p.set_defaults(run=cmd_evidence_unrelease)


def register_consent(actions: Any, common: argparse.ArgumentParser) -> None:
    """Add `person consent`."""
    p = actions.add_parser(
        "consent",
        parents=[common],
        help="record (or, without a decision, show) a person's consent per audience",
    )
    p.add_argument("person", metavar="PERSON")
    p.add_argument("--audience", choices=CONSENT_AUDIENCES)
    decision = p.add_mutually_exclusive_group()
    for value in CONSENT_DECISIONS:
        decision.add_argument(
            f"--{value}", dest="decision", action="store_const", const=value, help=value
        )
    p.add_argument("--on", dest="decided_on", help="when it was decided (default: today)")
    p.add_argument("--by", dest="decided_by", help="who took it (default: this author)")
    p.add_argument(
        "--note", default="", help="kept protected (offices only); - reads it from standard input"
    )
    p.add_argument("--history", action="store_true", help="every statement, oldest first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_person_consent)


def cmd_evidence_release(args: argparse.Namespace) -> int:
    """Release an item and print the release's id."""
    with unlock(args) as ws:
        release_id = release_to(ws, args.evidence, args.to, with_file_name=args.with_file_name)
        item = queries.get(ws.conn, Evidence, args.evidence)
        release = next(r for r in releases_of(ws.conn, item.id) if r.id == release_id)
    say(
        f"{item.ern} is released to {release.grantee},"
        f" {'with' if release.with_file_name else 'without'} its original file name; the"
        " release is recorded in its custody. It goes with the next bundle once the case is"
        " shared with them."
    )
    line(release_id)
    return 0


def cmd_evidence_releases(args: argparse.Namespace) -> int:
    """Every release of an item, withdrawn ones marked."""
    with unlock(args) as ws:
        item = queries.get(ws.conn, Evidence, args.evidence)
        found = releases_of(ws.conn, item.id)
    if args.json:
        print_json([{**r.__dict__, "grantee": r.grantee} for r in found])
        return 0
    print_table(
        ["ID", "AT", "TO", "FILE NAME", "STATE"],
        [
            (
                r.id,
                r.at,
                r.grantee,
                "released" if r.with_file_name else "withheld",
                "withdrawn" if r.withdrawn else "standing",
            )
            for r in found
        ],
    )
    return 0


def cmd_evidence_unrelease(args: argparse.Namespace) -> int:
    """Withdraw releases of an item to a peer or role."""
    with unlock(args) as ws:
        count = unrelease_to(ws, args.evidence, args.to)
        item = queries.get(ws.conn, Evidence, args.evidence)
    say(
        f"Withdrew {count} release{'s' if count != 1 else ''} of {item.ern}: nothing more of"
        " it is sent to them. What they already received stays with them."
    )
    return 0


def cmd_person_consent(args: argparse.Namespace) -> int:
    """Record a decision (with --audience and --given/--refused/--unknown), else show."""
    if (args.decision is None) != (args.audience is None):
        raise UsageError(
            "give both --audience and one of --given, --refused or --unknown to record a"
            " decision, or neither to show the person's consent"
        )
    with unlock(args) as ws:
        person = queries.get(ws.conn, Person, args.person)
        if args.decision is not None:
            line(
                record_consent(
                    ws,
                    person.id,
                    args.audience,
                    args.decision,
                    decided_on=args.decided_on,
                    decided_by=args.decided_by,
                    note=from_stdin(args.note, "note") or "",
                )
            )
            return 0
        if args.history:
            statements = consent_history(ws.conn, person.id)
        else:
            standing = current_consent(ws.conn, person.id)
            statements = [standing[a] for a in CONSENT_AUDIENCES if a in standing]
    if args.json:
        print_json([s.__dict__ for s in statements])
        return 0
    shown = {s.audience for s in statements}
    rows = [(s.audience, s.decision, s.decided_on, s.decided_by) for s in statements]
    if not args.history:
        rows += [
            (a, "unknown (nothing recorded)", "", "") for a in CONSENT_AUDIENCES if a not in shown
        ]
    print_table(["AUDIENCE", "DECISION", "ON", "BY"], rows)
    return 0
