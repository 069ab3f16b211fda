"""case, person, incident, element, link, note."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli import UsageError, from_stdin, unlock
from desktop.commands import release_cmds, sync_cmds
from desktop.output import (
    line,
    positive_count,
    print_fields,
    print_json,
    print_table,
    say,
    warn_if_own_work_missing,
)
from storage import cases, queries
from storage.entities import (
    CASE_STATUSES,
    INCIDENT_STATUSES,
    LINK_STATUSES,
    NOTE_CLASSES,
    PROTECTION_LEVELS,
    ROLES,
    STRENGTHS,
)
from storage.records import Case, Element, Incident, Note, Person
from storage.sealing import strictest


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the record commands."""
    _register_case(commands, common)
    _register_person(commands, common)
    _register_incident(commands, common)
    _register_element(commands, common)
    p = commands.add_parser("link", parents=[common], help="link evidence to a record")
    p.add_argument("evidence", metavar="EVIDENCE", help="evidence id or ERN")
    p.add_argument("target", metavar="TARGET", help="incident, person or element id")
    p.add_argument("--strength", choices=[s for s in STRENGTHS if s], default="")
    p.add_argument("--status", choices=[s for s in LINK_STATUSES if s], default="")
    p.set_defaults(run=cmd_link)
    _register_note(commands, common)


def _case_fields(p: argparse.ArgumentParser, *, creating: bool) -> None:
    p.add_argument("--title", required=creating)
    p.add_argument("--summary", default="" if creating else None)
    p.add_argument("--status", choices=CASE_STATUSES)
    p.add_argument("--categories", help="comma-separated crime categories")
    p.add_argument("--jurisdiction")
    p.add_argument("--location")
    p.add_argument("--opened-on", dest="opened_on", help="date opened, e.g. 2027-03-15")


def _register_case(commands: Any, common: argparse.ArgumentParser) -> None:
    case = commands.add_parser("case", help="cases").add_subparsers(dest="action", metavar="ACTION")
    p = case.add_parser("add", parents=[common], help="open a case; prints its id")
    _case_fields(p, creating=True)
    p.add_argument("--reference", help="case reference (default: the next number)")
    p.set_defaults(run=cmd_case_add)
    p = case.add_parser("list", parents=[common], help="list cases")
    p.add_argument("--status", choices=CASE_STATUSES)
    p.add_argument("--sort", choices=sorted(queries.CASE_SORTS), default="updated")
    p.add_argument("--limit", type=positive_count, default=1000)
    p.add_argument("--withdrawn", action="store_true", help="only withdrawn cases (to restore one)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_case_list)
    p = case.add_parser("show", parents=[common], help="show one case")
    p.add_argument("case", metavar="ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_case_show)
    p = case.add_parser("update", parents=[common], help="change fields of a case")
    p.add_argument("case", metavar="ID")
    _case_fields(p, creating=False)
    p.add_argument("--reference", help="a new case reference (one no other case has)")
    p.set_defaults(run=cmd_case_update)
    p = case.add_parser("withdraw", parents=[common], help="withdraw a case")
    p.add_argument("case", metavar="ID")
    p.set_defaults(run=lambda a: _withdraw(a, Case, a.case))
    p = case.add_parser(
        "restore", parents=[common], help="bring back a withdrawn case (syncs like any change)"
    )
    p.add_argument("case", metavar="ID")
    p.set_defaults(run=cmd_case_restore)
    sync_cmds.register_case_sharing(case, common)


def _register_person(commands: Any, common: argparse.ArgumentParser) -> None:
    person = commands.add_parser("person", help="persons in a case").add_subparsers(
        dest="action", metavar="ACTION"
    )
    p = person.add_parser("add", parents=[common], help="add a person; prints its id")
    p.add_argument("case", metavar="CASE")
    p.add_argument(
        "--name",
        default="",
        help="legal name (kept protected when --protected); - reads it from standard input",
    )
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--protected", action="store_true", help="known to partners by pseudonym only")
    p.add_argument("--pseudonym", help="e.g. W-0042 (default for protected persons: next number)")
    p.add_argument("--protection", choices=PROTECTION_LEVELS)
    p.add_argument("--languages")
    p.set_defaults(run=cmd_person_add)
    p = person.add_parser("update", parents=[common], help="change a person's fields")
    p.add_argument("person", metavar="PERSON")
    p.add_argument("--name", help="legal name; - reads it from standard input")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--pseudonym")
    p.add_argument("--protection", choices=PROTECTION_LEVELS)
    p.add_argument("--languages")
    p.set_defaults(run=cmd_person_update)
    p = person.add_parser("list", parents=[common], help="persons of a case")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--reveal", action="store_true", help="show protected identities (audited)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_person_list)
    release_cmds.register_consent(person, common)


def _register_incident(commands: Any, common: argparse.ArgumentParser) -> None:
    incident = commands.add_parser("incident", help="incidents").add_subparsers(
        dest="action", metavar="ACTION"
    )
    p = incident.add_parser("add", parents=[common], help="record an incident; prints its id")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--title", required=True)
    p.add_argument("--description")
    p.add_argument("--from", dest="date_from", help="2027, 2027-03, 2027-03-15, before 2027-03")
    p.add_argument("--to", dest="date_to")
    p.add_argument("--location")
    p.add_argument("--coordinates")
    p.add_argument("--acts", dest="act_types", help="comma-separated act types")
    p.add_argument("--status", choices=INCIDENT_STATUSES)
    p.set_defaults(run=cmd_incident_add)
    p = incident.add_parser("list", parents=[common], help="incidents of a case")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(
        run=lambda a: _list(a, Incident, ["id", "date_from", "date_to", "title", "status"])
    )


def _register_element(commands: Any, common: argparse.ArgumentParser) -> None:
    element = commands.add_parser("element", help="legal elements").add_subparsers(
        dest="action", metavar="ACTION"
    )
    p = element.add_parser("add", parents=[common], help="add a legal element; prints its id")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--charge", required=True, help="crime, e.g. 'Murder as a war crime'")
    p.add_argument("--element", required=True, help="the element to prove")
    p.add_argument("--article", help="e.g. 8(2)(c)(i)")
    p.add_argument("--mode", dest="mode_of_liability", help="mode of liability")
    p.set_defaults(run=cmd_element_add)
    p = element.add_parser("list", parents=[common], help="legal elements of a case")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=lambda a: _list(a, Element, ["id", "charge", "article", "element"]))


def _register_note(commands: Any, common: argparse.ArgumentParser) -> None:
    note = commands.add_parser("note", help="notes").add_subparsers(dest="action", metavar="ACTION")
    p = note.add_parser("add", parents=[common], help="add a note; prints its id")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--text", required=True, help="the note; - reads it from standard input")
    p.add_argument("--class", dest="klass", choices=NOTE_CLASSES, default="open")
    p.set_defaults(run=cmd_note_add)
    p = note.add_parser("list", parents=[common], help="notes of a case")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=lambda a: _list(a, Note, ["id", "klass", "text"]))
    p = note.add_parser("update", parents=[common], help="change a note's text or class")
    p.add_argument("note", metavar="NOTE")
    p.add_argument("--text", help="the new text; - reads it from standard input")
    p.add_argument("--class", dest="klass", choices=NOTE_CLASSES)
    p.add_argument(
        "--lower-class",
        action="store_true",
        help="needed to make the class less strict (text written while privileged or "
        "protected stays where it was; text written after travels under the new class)",
    )
    p.set_defaults(run=cmd_note_update)
    p = note.add_parser("withdraw", parents=[common], help="withdraw a note (kept in history)")
    p.add_argument("note", metavar="NOTE")
    p.set_defaults(run=lambda a: _withdraw(a, Note, a.note))


def cmd_case_add(args: argparse.Namespace) -> int:
    """Open a case and print its id alone."""
    with unlock(args) as ws:
        case_id = cases.add_case(
            ws,
            args.title,
            args.summary,
            reference=args.reference,
            status=args.status,
            categories=args.categories,
            jurisdiction=args.jurisdiction,
            location=args.location,
            opened_on=args.opened_on,
        )
        if args.reference is None:
            warn_if_own_work_missing(
                ws.awaiting_own_work,
                f"the reference {queries.get(ws.conn, Case, case_id).reference}",
            )
    line(case_id)
    return 0


def cmd_case_list(args: argparse.Namespace) -> int:
    """List cases as a table or JSON."""
    with unlock(args) as ws:
        found = queries.list_cases(
            ws.conn,
            status=args.status,
            sort=args.sort,
            descending=args.sort == "updated",
            limit=args.limit,
            where=queries.CaseFilter(status=args.status, withdrawn=args.withdrawn),
        )
    if args.json:
        print_json([c.to_json() for c in found])
    else:
        print_table(
            ["ID", "REFERENCE", "STATUS", "TITLE"],
            [(c.id, c.reference, c.status, c.title) for c in found],
        )
    return 0


def cmd_case_show(args: argparse.Namespace) -> int:
    """One case with the number of records of each kind."""
    with unlock(args) as ws:
        case = queries.get(ws.conn, Case, args.case)
        counts = queries.case_counts(ws.conn, case.id)
    if args.json:
        print_json({**case.to_json(), "counts": counts})
    else:
        print_fields([*case.to_json().items(), *counts.items()])
    return 0


def cmd_case_update(args: argparse.Namespace) -> int:
    """Change fields of a case."""
    with unlock(args) as ws:
        case_id = cases.update_case(
            ws,
            args.case,
            reference=args.reference,
            title=args.title,
            summary=args.summary,
            status=args.status,
            categories=args.categories,
            jurisdiction=args.jurisdiction,
            location=args.location,
            opened_on=args.opened_on,
        )
    line(case_id)
    return 0


def cmd_case_restore(args: argparse.Namespace) -> int:
    """Bring back a withdrawn case; prints its id."""
    with unlock(args) as ws:
        case_id = cases.restore_case(ws, args.case)
        reference = queries.get(ws.conn, Case, case_id).reference
    say(f"Case {reference} is back in the case list; it reaches its peers with the next sync.")
    line(case_id)
    return 0


def _withdraw(args: argparse.Namespace, record: type[Any], ident: str) -> int:
    with unlock(args) as ws:
        line(cases.withdraw(ws, record, ident))
    return 0


def cmd_person_add(args: argparse.Namespace) -> int:
    """Add a person and print the id alone."""
    name = from_stdin(args.name, "name") or ""
    with unlock(args) as ws:
        person_id = cases.add_person(
            ws,
            args.case,
            args.role,
            name=name,
            protected=args.protected,
            pseudonym=args.pseudonym,
            protection=args.protection,
            languages=args.languages,
        )
        person = queries.get(ws.conn, Person, person_id)
        if person.is_protected and not args.pseudonym:
            warn_if_own_work_missing(ws.awaiting_own_work, f"the pseudonym {person.pseudonym}")
    line(person_id)
    return 0


def cmd_person_update(args: argparse.Namespace) -> int:
    """Change a person's fields (those given) and print the id alone."""
    name = from_stdin(args.name, "name")
    changes = {
        "legal_name": name,
        "role": args.role,
        "pseudonym": args.pseudonym,
        "protection": args.protection,
        "languages": args.languages,
    }
    if all(value is None for value in changes.values()):
        raise UsageError(
            "say what to change: --name, --role, --pseudonym, --protection or --languages"
        )
    with unlock(args) as ws:
        person_id = cases.update_record(ws, Person, args.person, **changes)
    line(person_id)
    return 0


def cmd_person_list(args: argparse.Namespace) -> int:
    """Persons of a case; protected identities are withheld unless --reveal (audited)."""
    with unlock(args) as ws:
        case = queries.get(ws.conn, Case, args.case)
        people = queries.in_case(ws.conn, Person, case.id)
        if args.reveal:
            cases.record_reveal(ws, case.id, [p.id for p in people if p.is_protected])
    rows = [_person_json(p, args.reveal) for p in people]
    if args.json:
        print_json(rows)
    else:
        print_table(
            ["ID", "ROLE", "PROTECTION", "NAME"],
            [(r["id"], r["role"], r["protection"], r["name"]) for r in rows],
        )
    return 0


_IDENTITY_FIELDS = ("legal_name", "aliases", "birth_date", "contact", "home_location")


def _person_json(person: Person, reveal: bool) -> dict[str, Any]:
    data = person.to_json()
    withheld = person.is_protected and not reveal
    if withheld:
        for name in _IDENTITY_FIELDS:
            data[name] = "(protected)" if data[name] else ""
    data["name"] = person.display_name if withheld else (person.legal_name or person.pseudonym)
    data["protected"] = person.is_protected
    return data


def cmd_incident_add(args: argparse.Namespace) -> int:
    """Record an incident and print its id alone."""
    with unlock(args) as ws:
        incident_id = cases.add_incident(
            ws,
            args.case,
            args.title,
            description=args.description,
            date_from=args.date_from,
            date_to=args.date_to,
            location=args.location,
            coordinates=args.coordinates,
            act_types=args.act_types,
            status=args.status,
        )
    line(incident_id)
    return 0


def cmd_element_add(args: argparse.Namespace) -> int:
    """Add a legal element and print its id alone."""
    with unlock(args) as ws:
        element_id = cases.add_element(
            ws,
            args.case,
            args.charge,
            args.element,
            article=args.article,
            mode_of_liability=args.mode_of_liability,
        )
    line(element_id)
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    """Link evidence to an incident, person or element; prints the link id."""
    with unlock(args) as ws:
        link_id = cases.add_link(
            ws, args.evidence, args.target, strength=args.strength, status=args.status
        )
    line(link_id)
    return 0


def cmd_note_add(args: argparse.Namespace) -> int:
    """Add a note and print its id alone."""
    text = from_stdin(args.text, "note")
    with unlock(args) as ws:
        note_id = cases.add_note(ws, args.case, text or "", klass=args.klass)
    line(note_id)
    return 0


def cmd_note_update(args: argparse.Namespace) -> int:
    """Change a note's text or class and print its id; lowering the class needs
    `--lower-class`, said on purpose."""
    if args.text is None and args.klass is None:
        raise UsageError("say what to change: --text and/or --class")
    text = from_stdin(args.text, "note")
    with unlock(args) as ws:
        note = queries.get(ws.conn, Note, args.note)
        if (
            args.klass is not None
            and strictest(args.klass, note.klass) != args.klass
            and not args.lower_class
        ):
            raise UsageError(
                f"the note is {note.klass}; making it {args.klass} lets text written from now"
                " on travel more widely. Add --lower-class to do it."
            )
        line(cases.update_record(ws, Note, note.id, text=text, klass=args.klass))
    return 0


def _list(args: argparse.Namespace, record: type[Any], columns: list[str]) -> int:
    with unlock(args) as ws:
        case = queries.get(ws.conn, Case, args.case)
        found = queries.in_case(ws.conn, record, case.id)
    if args.json:
        print_json([r.to_json() for r in found])
    else:
        print_table([c.upper() for c in columns], [[getattr(r, c) for c in columns] for r in found])
    return 0
