"""The Varosa demo: three real workspaces built from `resources/demo/varosa.json`.

People evaluating Valise (and trainers) need to see it with data in it: two field offices
and a tribunal liaison, shared cases, protected witnesses, evidence, and a conflict waiting
to be settled. Typing all of that by hand takes an afternoon, so `build_demo` makes it in
seconds, entirely through the public storage and sync functions, exactly as real offices
would: each workspace records its own cases, the installations exchange contact cards,
share cases and carry bundles on a folder that stands for a USB stick. Nothing here writes
SQL, so the demo is also an end-to-end check that those functions fit together.

The data is fictional and says so (DOMAIN.md: the Republic of Varosa). It lives in a JSON
file rather than in code so that trainers can change it without touching Python; `load_demo`
checks it fully first and names the exact place of any mistake.

The workspaces use the standard key derivation (never the fast test profile): a demo
workspace is still a real, encrypted workspace on someone's disk.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import struct
import sys
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import cases, evidence
from storage.consent import record_consent
from storage.entities import (
    ACT_TYPES,
    CASE_STATUSES,
    CLASSIFICATIONS,
    COLLECTION_METHODS,
    CONSENT_AUDIENCES,
    CONSENT_DECISIONS,
    CUSTODY_EVENTS,
    CUSTODY_MEDIA,
    EVIDENCE_TYPES,
    INCIDENT_STATUSES,
    LINK_STATUSES,
    NOTE_CLASSES,
    PROTECTION_LEVELS,
    ROLES,
    SENSITIVITY_FLAGS,
    STRENGTHS,
)
from storage.errors import StorageError
from storage.workspace import Workspace, create_workspace
from sync import conflicts, peers
from sync.cards import read_card
from sync.export import export_bundle
from sync.importer import ImportReport, import_paths

DEMO_FORMAT = "valise-demo/1"
# Printed by `valise demo` with a warning. The brief asked for "varosa demo", but the
# passphrase rules (storage.passphrase, at least 12 characters) refuse it.
DEMO_PASSPHRASE = "varosa demo only"  # noqa: S105 (a published demo passphrase)
MARKER = "VALISE-DEMO.txt"
STICK = "usb-stick"
CARDS = "cards"
PEER_ROLES = ("office", "liaison")
# Case fields the conflict may be about: open, editable text a person would retitle.
CONFLICT_FIELDS = ("title", "summary", "location", "jurisdiction")
MAX_PICTURE_SIDE = 1000


class DemoError(StorageError):
    """The demo cannot be built where asked (the folder exists, or is not a demo)."""


class DemoDataError(DemoError):
    """The demo data file is malformed; the message names the file and the exact place."""


def default_data_file() -> Path:
    """Where `varosa.json` is: inside a PyInstaller bundle, or beside the package (the same
    places ui.fonts looks for the fonts, and build.spec packs all of `resources/`)."""
    relative = Path("resources") / "demo" / "varosa.json"
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and (Path(bundle) / relative).is_file():
        return Path(bundle) / relative
    return Path(__file__).resolve().parents[1] / relative


# -- checking the data file ----------------------------------------------------------------


@dataclass
class _Checker:
    """Walks the JSON and reports the first mistake with its path, such as
    `installations[0].cases[1].persons[2].role`."""

    source: Path

    def fail(self, where: str, problem: str) -> DemoDataError:
        return DemoDataError(f"{self.source}: {where}: {problem}")

    def obj(
        self, value: object, where: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be an object, not {type(value).__name__}")
        unknown = sorted(set(value) - set(required) - set(optional))
        if unknown:
            allowed = ", ".join(sorted((*required, *optional)))
            raise self.fail(where, f"unknown field(s) {unknown}; allowed: {allowed}")
        missing = [name for name in required if name not in value]
        if missing:
            raise self.fail(where, f"missing field(s) {missing}")
        return value

    def text(self, doc: dict[str, Any], name: str, where: str, *, empty: bool = True) -> None:
        if name in doc and (
            not isinstance(doc[name], str) or (not empty and not doc[name].strip())
        ):
            raise self.fail(f"{where}.{name}", "must be text" + ("" if empty else ", not empty"))

    def texts(self, doc: dict[str, Any], names: tuple[str, ...], where: str) -> None:
        for name in names:
            self.text(doc, name, where)

    def choice(self, doc: dict[str, Any], name: str, options: tuple[str, ...], where: str) -> None:
        if name in doc and doc[name] not in options:
            shown = ", ".join(repr(o) for o in options)
            raise self.fail(f"{where}.{name}", f"{doc[name]!r} is not one of {shown}")

    def choices(self, doc: dict[str, Any], name: str, options: tuple[str, ...], where: str) -> None:
        if name not in doc:
            return
        value = doc[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{name}", "must be a list of text")
        unknown = [v for v in value if v not in options]
        if unknown:
            shown = ", ".join(repr(o) for o in options)
            raise self.fail(f"{where}.{name}", f"{unknown} not among {shown}")

    def items(self, doc: dict[str, Any], name: str, where: str) -> list[tuple[str, Any]]:
        value = doc.get(name, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}.{name}", "must be a list")
        return [(f"{where}.{name}[{index}]", item) for index, item in enumerate(value)]


_PERSON_TEXT = (
    "pseudonym",
    "name",
    "languages",
    "consent",
    "legal_name",
    "aliases",
    "birth_date",
    "contact",
    "home_location",
)
_INCIDENT_TEXT = ("description", "date_from", "date_to", "location", "coordinates")
_EVIDENCE_TEXT = (
    "title",
    "description",
    "created_at",
    "collected_at",
    "collected_by",
    "collection_location",
    "source",
)


def load_demo(path: Path | None = None) -> dict[str, Any]:
    """Read and check the demo data completely before anything is created, so a mistake
    in the file is reported with its place instead of leaving half a demo behind."""
    source = path or default_data_file()
    try:
        raw = source.read_text("utf-8")
    except OSError as exc:
        raise DemoDataError(f"{source}: cannot read the demo data ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise DemoDataError(f"{source}: the demo data is not UTF-8 text.") from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DemoDataError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    check = _Checker(source)
    top = check.obj(
        doc, "top level", ("format", "notice", "situation", "installations", "conflict"), ()
    )
    if top["format"] != DEMO_FORMAT:
        raise check.fail("format", f"must be {DEMO_FORMAT!r}, not {top['format']!r}")
    check.text(top, "situation", "top level", empty=False)
    check.text(top, "notice", "top level", empty=False)
    installations = check.items(top, "installations", "top level")
    seen: set[str] = set()
    for where, item in installations:
        _check_installation(check, item, where, seen)
    roles = [item["role"] for _, item in installations]
    if roles.count("liaison") != 1 or roles.count("office") < 1:
        raise check.fail(
            "installations",
            "needs exactly one installation with role 'liaison' and at least"
            " one with role 'office'",
        )
    by_key = {item["key"]: item for _, item in installations}
    for where, item in installations:
        for case_where, case in check.items(item, "cases", where):
            for index, peer in enumerate(case.get("shared_with", [])):
                if peer not in by_key or peer == item["key"]:
                    raise check.fail(
                        f"{case_where}.shared_with[{index}]",
                        f"{peer!r} is not another installation's key",
                    )
    _check_conflict(check, top["conflict"], by_key)
    return dict(top)


def _check_installation(
    check: _Checker, item: object, where: str, seen_installations: set[str]
) -> None:
    doc = check.obj(item, where, ("key", "office_name", "office_code", "role"), ("author", "cases"))
    check.texts(doc, ("key", "office_name", "office_code", "author"), where)
    check.choice(doc, "role", PEER_ROLES, where)
    key = doc["key"]
    if not key or not key.replace("-", "").isalnum() or key in seen_installations:
        raise check.fail(f"{where}.key", f"{key!r} must be a unique word (letters, digits, -)")
    seen_installations.add(key)
    keys: set[str] = set()
    for case_where, case in check.items(doc, "cases", where):
        _check_case(check, case, case_where, keys)


def _new_key(check: _Checker, doc: dict[str, Any], where: str, keys: set[str]) -> str:
    key = doc["key"]
    if not isinstance(key, str) or not key or key in keys:
        raise check.fail(f"{where}.key", f"{key!r} must be a key used once per installation")
    keys.add(key)
    return key


def _check_case(check: _Checker, case: object, where: str, keys: set[str]) -> None:
    doc = check.obj(
        case,
        where,
        ("key", "title"),
        (
            "year",
            "reference",
            "summary",
            "status",
            "categories",
            "jurisdiction",
            "location",
            "opened_on",
            "shared_with",
            "persons",
            "incidents",
            "elements",
            "evidence",
            "notes",
        ),
    )
    _new_key(check, doc, where, keys)
    check.texts(doc, ("summary", "jurisdiction", "location", "opened_on", "reference"), where)
    check.text(doc, "title", where, empty=False)
    check.choice(doc, "status", CASE_STATUSES, where)
    check.choices(doc, "categories", ACT_TYPES, where)
    if "year" in doc and (not isinstance(doc["year"], int) or not 1900 <= doc["year"] <= 2200):
        raise check.fail(f"{where}.year", "must be a year such as 2027")
    shared = doc.get("shared_with", [])
    if not isinstance(shared, list) or not all(isinstance(p, str) for p in shared):
        raise check.fail(f"{where}.shared_with", "must be a list of installation keys")
    in_case: set[str] = set()
    for item_where, person in check.items(doc, "persons", where):
        p = check.obj(
            person, item_where, ("key", "role"), ("protection", "consents", *_PERSON_TEXT)
        )
        in_case.add(_new_key(check, p, item_where, keys))
        check.choice(p, "role", ROLES, item_where)
        check.choice(p, "protection", PROTECTION_LEVELS, item_where)
        check.texts(p, _PERSON_TEXT, item_where)
        for consent_where, consent in check.items(p, "consents", item_where):
            c = check.obj(consent, consent_where, ("audience", "decision"), ("on", "by"))
            check.choice(c, "audience", CONSENT_AUDIENCES, consent_where)
            check.choice(c, "decision", CONSENT_DECISIONS, consent_where)
            check.texts(c, ("on", "by"), consent_where)
        if p.get("protection", "none") != "none" and not p.get("pseudonym"):
            raise check.fail(item_where, "a protected person needs a pseudonym")
        if p.get("protection", "none") == "none" and not (p.get("name") or p.get("pseudonym")):
            raise check.fail(item_where, "give the person a name or a pseudonym")
    for item_where, incident in check.items(doc, "incidents", where):
        i = check.obj(
            incident, item_where, ("key", "title"), ("act_types", "status", *_INCIDENT_TEXT)
        )
        in_case.add(_new_key(check, i, item_where, keys))
        check.text(i, "title", item_where, empty=False)
        check.texts(i, _INCIDENT_TEXT, item_where)
        check.choices(i, "act_types", ACT_TYPES, item_where)
        check.choice(i, "status", INCIDENT_STATUSES, item_where)
    for item_where, element in check.items(doc, "elements", where):
        e = check.obj(
            element, item_where, ("key", "charge", "element"), ("article", "mode_of_liability")
        )
        in_case.add(_new_key(check, e, item_where, keys))
        check.texts(e, ("charge", "element", "article", "mode_of_liability"), item_where)
    evidence_keys: set[str] = set()
    for item_where, item in check.items(doc, "evidence", where):
        evidence_keys.add(_check_evidence(check, item, item_where, keys, in_case))
    for item_where, note in check.items(doc, "notes", where):
        n = check.obj(note, item_where, ("class", "text"), ("about",))
        check.choice(n, "class", NOTE_CLASSES, item_where)
        check.text(n, "text", item_where, empty=False)
        if "about" in n and n["about"] not in in_case | evidence_keys:
            raise check.fail(f"{item_where}.about", f"{n['about']!r} is no record of this case")


def _check_evidence(
    check: _Checker, item: object, where: str, keys: set[str], in_case: set[str]
) -> str:
    doc = check.obj(
        item,
        where,
        ("key", "file", "content"),
        (
            "type",
            "collection_method",
            "classification",
            "sensitivity",
            "links",
            "custody",
            *_EVIDENCE_TEXT,
        ),
    )
    key = _new_key(check, doc, where, keys)
    check.text(doc, "file", where, empty=False)
    name = doc["file"]
    if "/" in name or "\\" in name or name.startswith("."):
        raise check.fail(f"{where}.file", f"{name!r} must be a plain file name")
    check.texts(doc, _EVIDENCE_TEXT, where)
    check.choice(doc, "type", EVIDENCE_TYPES, where)
    check.choice(doc, "collection_method", COLLECTION_METHODS, where)
    check.choice(doc, "classification", CLASSIFICATIONS, where)
    check.choices(doc, "sensitivity", SENSITIVITY_FLAGS, where)
    _check_content(check, doc["content"], f"{where}.content")
    for link_where, link in check.items(doc, "links", where):
        ln = check.obj(link, link_where, ("to",), ("strength", "status"))
        if ln["to"] not in in_case:
            raise check.fail(
                f"{link_where}.to", f"{ln['to']!r} is no incident, person or element of this case"
            )
        check.choice(ln, "strength", STRENGTHS, link_where)
        check.choice(ln, "status", LINK_STATUSES, link_where)
    for event_where, event in check.items(doc, "custody", where):
        ev = check.obj(
            event,
            event_where,
            ("event", "at"),
            ("location", "note", "medium", "from_holder", "to_holder"),
        )
        check.choice(ev, "event", CUSTODY_EVENTS, event_where)
        check.choice(ev, "medium", CUSTODY_MEDIA, event_where)
        check.texts(ev, ("at", "location", "note", "from_holder", "to_holder"), event_where)
    return key


def _check_content(check: _Checker, content: object, where: str) -> None:
    kind = content.get("kind") if isinstance(content, dict) else None
    if kind == "text":
        doc = check.obj(content, where, ("kind", "text"), ())
        check.text(doc, "text", where, empty=False)
    elif kind == "pdf":
        doc = check.obj(content, where, ("kind", "lines"), ())
        lines = doc["lines"]
        if not isinstance(lines, list) or not lines or not all(isinstance(x, str) for x in lines):
            raise check.fail(f"{where}.lines", "must be a list of text lines")
        if not all(line.isascii() and line.isprintable() for line in "".join(lines)):
            raise check.fail(f"{where}.lines", "must be printable ASCII (the PDF font is basic)")
    elif kind == "png":
        doc = check.obj(content, where, ("kind", "width", "height", "background", "shapes"), ())
        for side in ("width", "height"):
            if not isinstance(doc[side], int) or not 1 <= doc[side] <= MAX_PICTURE_SIDE:
                raise check.fail(f"{where}.{side}", f"must be 1 to {MAX_PICTURE_SIDE} pixels")
        _colour(check, doc["background"], f"{where}.background")
        for shape_where, shape in check.items(doc, "shapes", where):
            s = check.obj(shape, shape_where, ("rect", "color"), ())
            rect = s["rect"]
            if (
                not isinstance(rect, list)
                or len(rect) != 4
                or not all(isinstance(v, int) and v >= 0 for v in rect)
            ):
                raise check.fail(f"{shape_where}.rect", "must be [x, y, width, height] in pixels")
            _colour(check, s["color"], f"{shape_where}.color")
    else:
        raise check.fail(where, "must be an object whose kind is 'text', 'pdf' or 'png'")


def _colour(check: _Checker, value: object, where: str) -> tuple[int, int, int]:
    if not isinstance(value, str) or len(value) != 7 or value[0] != "#":
        raise check.fail(where, f"{value!r} is not a colour such as '#c0262d'")
    try:
        return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)
    except ValueError:
        raise check.fail(where, f"{value!r} is not a colour such as '#c0262d'") from None


def _check_conflict(check: _Checker, conflict: object, by_key: dict[str, Any]) -> None:
    doc = check.obj(
        conflict, "conflict", ("office", "case", "field", "office_value", "liaison_value"), ()
    )
    office = by_key.get(doc["office"])
    if office is None or office["role"] != "office":
        raise check.fail("conflict.office", f"{doc['office']!r} is not an office's key")
    liaison = next(key for key, item in by_key.items() if item["role"] == "liaison")
    case = next((c for c in office.get("cases", []) if c["key"] == doc["case"]), None)
    if case is None or liaison not in case.get("shared_with", []):
        raise check.fail(
            "conflict.case",
            f"{doc['case']!r} is not a case of {office['key']} shared with the liaison",
        )
    check.choice(doc, "field", CONFLICT_FIELDS, "conflict")
    for name in ("office_value", "liaison_value"):
        check.text(doc, name, "conflict", empty=False)
    if doc["office_value"] == doc["liaison_value"]:
        raise check.fail("conflict", "the two values must differ to make a conflict")


# -- evidence bytes --------------------------------------------------------------------------


def _png(content: dict[str, Any]) -> bytes:
    """A small RGB PNG of filled rectangles (a sketch map), without any imaging library."""
    width, height = int(content["width"]), int(content["height"])
    check = _Checker(Path("png"))
    background = bytes(_colour(check, content["background"], "background"))
    pixels = [bytearray(background * width) for _ in range(height)]
    for shape in content["shapes"]:
        x, y, w, h = (int(v) for v in shape["rect"])
        colour = bytes(_colour(check, shape["color"], "color"))
        x_end, y_end = min(x + w, width), min(y + h, height)
        for row in pixels[y:y_end]:
            if x < x_end:
                row[x * 3 : x_end * 3] = colour * (x_end - x)
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF of plain text lines in Helvetica, written by hand (PDF 1.4)."""

    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 11 Tf 14 TL 56 780 Td " + " ".join(f"({escape(x)}) Tj T*" for x in lines)
    stream = (text + " ET").encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def evidence_bytes(content: dict[str, Any]) -> bytes:
    """The bytes of a demo evidence file, made from its description in the data file (so
    the repository holds no binary fixtures and trainers can edit the text)."""
    if content["kind"] == "text":
        return str(content["text"]).encode("utf-8")
    if content["kind"] == "pdf":
        return _pdf([str(line) for line in content["lines"]])
    return _png(content)


# -- building ------------------------------------------------------------------------------


@dataclass
class _Installation:
    """One open workspace of the demo and the ids its data file keys stand for."""

    spec: dict[str, Any]
    ws: Workspace
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return str(self.spec["key"])


@contextlib.contextmanager
def _at(source: Path, where: str) -> Iterator[None]:
    """Name the place in the data file when storage refuses a value from it."""
    try:
        yield
    except DemoError:
        raise
    except StorageError as exc:
        raise DemoDataError(f"{source}: {where}: {exc}") from None


def _words(values: list[str] | None) -> str | None:
    return None if values is None else ", ".join(values)


def _record_case(inst: _Installation, case: dict[str, Any], files: Path, where: str) -> None:
    ws = inst.ws
    with ws.transaction():
        reference = case.get("reference") or cases.case_reference(ws, case.get("year"))
        case_id = cases.add_case(
            ws,
            case["title"],
            case.get("summary", ""),
            reference=reference,
            status=case.get("status"),
            categories=_words(case.get("categories")),
            jurisdiction=case.get("jurisdiction"),
            location=case.get("location"),
            opened_on=case.get("opened_on"),
        )
    inst.ids[case["key"]] = case_id
    for index, person in enumerate(case.get("persons", [])):
        extra = {k: person.get(k) for k in ("languages", "consent", "aliases", "birth_date")}
        extra.update({k: person.get(k) for k in ("contact", "home_location")})
        with _at(files, f"{where}.persons[{index}]"):
            inst.ids[person["key"]] = cases.add_person(
                ws,
                case_id,
                person["role"],
                name=person.get("name") or person.get("legal_name", ""),
                pseudonym=person.get("pseudonym"),
                protection=person.get("protection"),
                **extra,
            )
            for consent in person.get("consents", []):
                record_consent(
                    ws,
                    inst.ids[person["key"]],
                    consent["audience"],
                    consent["decision"],
                    decided_on=consent.get("on"),
                    decided_by=consent.get("by"),
                )
    for index, incident in enumerate(case.get("incidents", [])):
        fields = {k: incident.get(k) for k in (*_INCIDENT_TEXT, "status")}
        with _at(files, f"{where}.incidents[{index}]"):
            inst.ids[incident["key"]] = cases.add_incident(
                ws,
                case_id,
                incident["title"],
                act_types=_words(incident.get("act_types")),
                **fields,
            )
    for index, element in enumerate(case.get("elements", [])):
        with _at(files, f"{where}.elements[{index}]"):
            inst.ids[element["key"]] = cases.add_element(
                ws,
                case_id,
                element["charge"],
                element["element"],
                article=element.get("article"),
                mode_of_liability=element.get("mode_of_liability"),
            )
    for index, item in enumerate(case.get("evidence", [])):
        _record_evidence(inst, case_id, item, files, f"{where}.evidence[{index}]")
    for index, note in enumerate(case.get("notes", [])):
        with _at(files, f"{where}.notes[{index}]"):
            cases.add_note(
                ws,
                case_id,
                note["text"],
                klass=note["class"],
                subject=inst.ids[note["about"]] if "about" in note else "",
            )


def _record_evidence(
    inst: _Installation, case_id: str, item: dict[str, Any], source: Path, where: str
) -> None:
    ws = inst.ws
    fields = {k: item.get(k) for k in (*_EVIDENCE_TEXT, "type", "collection_method")}
    fields["classification"] = item.get("classification")
    fields["sensitivity"] = _words(item.get("sensitivity"))
    with tempfile.TemporaryDirectory(prefix="valise-demo-") as scratch:
        path = Path(scratch) / item["file"]
        path.write_bytes(evidence_bytes(item["content"]))
        with _at(source, where):
            evidence_id = evidence.add_evidence(ws, case_id, path, **fields)
    inst.ids[item["key"]] = evidence_id
    for index, link in enumerate(item.get("links", [])):
        with _at(source, f"{where}.links[{index}]"):
            cases.add_link(
                ws,
                evidence_id,
                inst.ids[link["to"]],
                strength=link.get("strength", ""),
                status=link.get("status", ""),
            )
    for index, event in enumerate(item.get("custody", [])):
        extra = {k: event.get(k) for k in ("location", "note", "medium", "from_holder")}
        with _at(source, f"{where}.custody[{index}]"):
            evidence.add_custody(
                ws,
                evidence_id,
                event["event"],
                at=event["at"],
                to_holder=event.get("to_holder"),
                **extra,
            )


def _introduce(installations: list[_Installation], stick: Path) -> None:
    """Every installation writes its card to the stick and adds the others' cards as
    peers, with the role it gives them, verified (they were all set up side by side)."""
    cards = stick / CARDS
    cards.mkdir(parents=True)
    for inst in installations:
        (cards / f"{inst.key}.card").write_bytes(peers.card_bytes(inst.ws))
    for inst in installations:
        for other in installations:
            if other is not inst:
                card = read_card(cards / f"{other.key}.card")
                peer = peers.add_peer(inst.ws, card, other.spec["role"])
                peers.verify_peer(inst.ws, peer, card.fingerprint)


def _carry(sender: _Installation, receiver: _Installation, stick: Path) -> ImportReport:
    """One courier trip: a bundle from `sender` for `receiver` on the stick, imported there,
    then taken off the stick."""
    peer = peers.get_peer(sender.ws, receiver.ws.origin)
    result = export_bundle(sender.ws, [peer], stick)
    reports = import_paths(receiver.ws, [result.head])
    for path in result.files:
        path.unlink(missing_ok=True)
    if len(reports) != 1 or reports[0].status != "imported":
        told = "; ".join(f"{r.status}: {r.message}" for r in reports) or "nothing imported"
        raise DemoError(f"The bundle from {sender.key} to {receiver.key} failed: {told}")
    return reports[0]


def _make_conflict(
    data: dict[str, Any], by_key: dict[str, _Installation], liaison: _Installation, stick: Path
) -> None:
    """The office and the liaison change the same field of a shared case while apart; the
    office's bundle then brings its edit to the liaison, whose queue holds the other."""
    spec = data["conflict"]
    office = by_key[spec["office"]]
    case_id = office.ids[spec["case"]]
    cases.update_case(liaison.ws, case_id, **{spec["field"]: spec["liaison_value"]})
    cases.update_case(office.ws, case_id, **{spec["field"]: spec["office_value"]})
    report = _carry(office, liaison, stick)
    found = conflicts.list_conflicts(liaison.ws)
    if report.conflicts != 1 or len(found) != 1:
        raise DemoError(
            f"The demo should leave one conflict at the liaison, not {len(found)}; the merge"
            " rules may have changed."
        )


def _write_marker(folder: Path, data: dict[str, Any], liaison: str) -> None:
    (folder / MARKER).write_text(
        "Valise demo: FICTIONAL data (the Republic of Varosa). Not for real work.\n\n"
        f"{data.get('notice', '')}\n\n"
        f"Open the liaison's workspace ({liaison}/) to see both offices' cases and a"
        " conflict waiting to be settled. Delete this whole folder when you are done.\n",
        "utf-8",
    )


def is_demo_folder(folder: Path) -> bool:
    """True when `folder` holds a demo that build_demo finished (its marker file is there);
    only such a folder may be replaced, so `--rebuild` can never delete someone's files."""
    return (folder / MARKER).is_file()


def liaison_folder(folder: Path, data_file: Path | None = None) -> Path:
    """The workspace to open in a demo folder: the liaison's, which shows the most."""
    data = load_demo(data_file)
    key = next(i["key"] for i in data["installations"] if i["role"] == "liaison")
    return folder / str(key)


def _build_into(folder: Path, passphrase: str, data: dict[str, Any], source: Path) -> str:
    """Make every workspace of the demo in `folder`; returns the liaison's key."""
    stick = folder / STICK
    installations: list[_Installation] = []
    try:
        for spec in data["installations"]:
            ws = create_workspace(
                folder / spec["key"],
                spec["office_name"],
                passphrase,
                office_code=spec["office_code"],
                situation=data["situation"],
                author=spec.get("author"),
            )
            installations.append(_Installation(spec, ws))
            with ws.transaction():
                ws.set_meta("role", spec["role"])  # what its contact card says it is
        _introduce(installations, stick)
        by_key = {inst.key: inst for inst in installations}
        for where_index, inst in enumerate(installations):
            for index, case in enumerate(inst.spec.get("cases", [])):
                _record_case(inst, case, source, f"installations[{where_index}].cases[{index}]")
                for other in case.get("shared_with", []):
                    peer = peers.get_peer(inst.ws, by_key[other].ws.origin)
                    peers.share_case(inst.ws, inst.ids[case["key"]], peer)
        liaison = next(i for i in installations if i.spec["role"] == "liaison")
        offices = [i for i in installations if i.spec["role"] == "office"]
        for office in offices:  # the courier brings every office's cases to the liaison
            _carry(office, liaison, stick)
        for office in offices:  # and brings back the liaison's receipts
            _carry(liaison, office, stick)
        _make_conflict(data, by_key, liaison, stick)
        return liaison.key
    finally:
        for inst in installations:
            inst.ws.close()


def build_demo(
    target: Path, passphrase: str, *, replace: bool = False, data_file: Path | None = None
) -> Path:
    """Build the Varosa demo in `target` and return the liaison's workspace folder (the one
    to open: it holds both offices' shared cases and the pending conflict).

    The demo is made in a hidden folder beside `target` and moved into place only when
    complete, so a failure leaves nothing half-built. An existing demo is replaced only
    with `replace=True`, and only a folder that holds a finished demo: anything else in
    `target` is never deleted. Prints nothing.
    """
    source = data_file or default_data_file()
    data = load_demo(source)
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise DemoError(f"{target} is a file; choose a folder for the demo.")
        if any(target.iterdir()):
            if not is_demo_folder(target):
                raise DemoError(
                    f"{target} is not empty and holds no Valise demo; choose another folder."
                )
            if not replace:
                raise DemoError(
                    f"A demo already exists in {target}; rebuild it (valise demo --rebuild)"
                    " or choose another folder."
                )
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.parent / f".{target.name}.building-{secrets.token_hex(4)}"
    building.mkdir(mode=0o700)
    try:
        liaison = _build_into(building, passphrase, data, source)
        _write_marker(building, data, liaison)
        if target.exists():
            old = target.parent / f".{target.name}.old-{secrets.token_hex(4)}"
            target.rename(old)
            building.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return target / liaison
