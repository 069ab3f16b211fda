"""search, log, audit verify|list."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli import unlock
from desktop.output import line, positive_count, print_json, print_table, say
from storage import audit, history, queries, search
from storage.errors import IntegrityError
from storage.records import Case


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add search, log and audit."""
    p = commands.add_parser("search", parents=[common], help="full-text search, ranked")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--limit", type=positive_count, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_search)

    p = commands.add_parser("log", parents=[common], help="the signed history, newest first")
    p.add_argument("--case", help="only this case")
    p.add_argument("--limit", type=positive_count, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_log)

    au = commands.add_parser("audit", help="the audit chain").add_subparsers(
        dest="action", metavar="ACTION"
    )
    p = au.add_parser("verify", parents=[common], help="check the whole chain")
    p.set_defaults(run=cmd_audit_verify)
    p = au.add_parser(
        "anchor",
        parents=[common],
        help="accept an unanchored chain as it stands, after comparing with a backup",
    )
    p.set_defaults(run=cmd_audit_anchor)
    p = au.add_parser("list", parents=[common], help="recent audit entries")
    p.add_argument("--limit", type=positive_count, default=50)
    p.add_argument("--action", dest="only_action")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_audit_list)


def cmd_search(args: argparse.Namespace) -> int:
    """Ranked hits with their case."""
    with unlock(args) as ws:
        results = search.search_results(ws.conn, args.text, limit=args.limit)
    hits = results.hits
    if results.many:
        say(
            f"valise: more than {search.RANK_LIMIT:,} records match; showing the most recently "
            "changed first. Add words to narrow the search."
        )
    if args.json:
        print_json([hit.__dict__ for hit in hits])
    else:
        print_table(
            ["KIND", "ID", "CASE", "MATCH"],
            [(h.entity, h.entity_id, h.case_reference, h.snippet) for h in hits],
        )
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    """Changesets with author, office, ops and signature state."""
    with unlock(args) as ws:
        case_id = queries.resolve(ws.conn, Case, args.case) if args.case else None
        entries = history.log(ws.conn, case_id, limit=args.limit)
    if args.json:
        print_json([e.to_json() for e in entries])
        return 0
    for e in entries:
        state = "signature ok" if e.signature_ok else "SIGNATURE BAD"
        line(f"changeset {e.id[:16]}  signed by {e.signer} #{e.epoch}.{e.seq}  {state}")
        line(f"  hlc {e.hlc}  author (as written) {e.author}  case {e.case_reference or e.case_id}")
        for op in e.ops:
            line(f"    {op}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Print `ok` and the count, or name the first broken entry, or say the chain is
    unanchored (exit 1 for both)."""
    with unlock(args) as ws:
        report = ws.verify_audit()
    if not report.ok:
        raise IntegrityError(report.verdict())
    line(f"ok {report.count}")
    return 0


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    """Re-anchor an unanchored chain (recorded in the chain); refuse a broken one."""
    with unlock(args) as ws:
        report = ws.verify_audit()
        if report.broken_at is not None:
            raise IntegrityError(report.verdict() + " A broken chain is not re-anchored.")
        if report.ok:
            line(f"The chain is anchored already ({report.count:,} entries); nothing changed.")
            return 0
        ws.reanchor_audit()
        count = ws.verify_audit().count
    line(f"Re-anchored: the chain's {count:,} entries are sealed as they stand now.")
    return 0


def cmd_audit_list(args: argparse.Namespace) -> int:
    """Newest audit entries first."""
    with unlock(args) as ws:
        found = audit.entries(ws.conn, limit=args.limit, action=args.only_action)
    if args.json:
        print_json([e.__dict__ for e in found])
    else:
        print_table(
            ["SEQ", "AT", "ACTOR", "ACTION", "SUBJECT", "DETAIL"],
            [(e.seq, e.at, e.actor, e.action, e.subject, e.detail) for e in found],
        )
    return 0
