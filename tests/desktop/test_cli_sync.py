"""The sync commands run as people run them: real workspaces in their own folders, one
`valise` process per step, bundles carried between them in folders standing for sticks.

First the whole path end to end (init, contact cards, peers and fingerprints, sharing,
export, inspect, import, `sync usb` back and forth until nothing is left to say, conflicts
listed with both values and settled by --keep and by --value, the settlement reaching the
other office, and a protected witness arriving at an NGO by pseudonym only). Then every
new command that takes outside input, fed wrong input: each must end with the exit code
the conventions ask (2 for a usage error, 1 for a failure), a `valise: ...` message naming
the problem, no traceback, and the workspace as it was.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
import pytest
from pyrage import x25519

from storage import cases, evidence, queries
from storage.records import Person
from storage.workspace import FIRST_USER, Workspace, open_workspace
from sync import conflicts, peers
from sync.bundle_format import BUNDLE_FOLDER, HEAD_SUFFIX, PART_SUFFIX
from sync.cards import parse_card
from sync.export import export_bundle
from sync.importer import import_paths
from tests.conftest import OFFICER, OFFICER_PASSPHRASE, PASSPHRASE
from tests.desktop.clitools import (
    ROOT,
    assert_ok,
    assert_refused,
    contents,
    fingerprint,
    temp_leftovers,
    valise,
)
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network

PEER_ID = re.compile(r"[0-9a-f]{16}")
NAME = "Zuleyka Quennell-Marsh"


@dataclass
class Office:
    """One installation in its own folder, driven through the command line."""

    name: str
    root: Path
    user: str = FIRST_USER  # `valise init`'s first user, a supervisor
    passphrase: str = PASSPHRASE

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "VALISE_WORKSPACE": str(self.root),
            "VALISE_USER": self.user,
            "VALISE_PASSPHRASE": self.passphrase,
        }

    def with_officer(self) -> Office:
        """The office as a protection officer its supervisor adds here (only they reveal
        identities)."""
        adding = {**self.env, "VALISE_NEW_PASSPHRASE": OFFICER_PASSPHRASE}
        assert_ok(valise(adding, "user", "add", OFFICER, "--role", "protection-officer"))
        return Office(self.name, self.root, OFFICER, OFFICER_PASSPHRASE)

    def run(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        return valise(self.env, *args)

    def ok(self, *args: str | os.PathLike[str]) -> str:
        return assert_ok(self.run(*args))

    def json(self, *args: str | os.PathLike[str]) -> Any:
        return json.loads(self.ok(*args, "--json"))


def init_office(root: Path, office: str, code: str) -> Office:
    """`valise init` with --workspace (the other commands use VALISE_WORKSPACE)."""
    env = {**os.environ, "VALISE_PASSPHRASE": PASSPHRASE}
    result = valise(env, "init", "--office", office, "--code", code, "--workspace", root)
    assert_ok(result)
    assert (root / "workspace.db").exists()
    return Office(office, root)


def stick_bundles(stick: Path) -> list[Path]:
    folder = stick / BUNDLE_FOLDER
    return sorted(folder.glob("*.age")) if folder.exists() else []


def sync_until_quiet(offices: list[Office], stick: Path, max_rounds: int = 6) -> int:
    """`sync usb` at each office in turn until a whole round imports and writes nothing;
    returns the number of rounds it took."""
    for round_number in range(1, max_rounds + 1):
        busy = False
        for office in offices:
            result = office.run("sync", "usb", stick, "--json")
            reports = json.loads(assert_ok(result))["imported"]
            # Our own bundle left for a peer is seen as ours; everything else is for us.
            assert {r["status"] for r in reports} <= {"imported", "ours"}, reports
            assert all(r["quarantined"] == 0 and r["parked"] == 0 for r in reports), reports
            wrote = "No peer has anything new to receive." not in result.stderr
            busy = busy or wrote or any(r["status"] == "imported" for r in reports)
        if not busy:
            assert stick_bundles(stick) == []  # everything carried was taken off the stick
            return round_number
    raise AssertionError(f"still exchanging after {max_rounds} rounds")


# -- end to end --------------------------------------------------------------------------------


def test_two_offices_and_an_ngo_exchange_and_settle_conflicts_from_the_command_line(
    tmp_path: Path,
) -> None:
    kabora = init_office(tmp_path / "kabora", "Kabora field office", "KAB")
    dressa = init_office(tmp_path / "dressa", "Dressa field office", "DRS")
    ngo = init_office(tmp_path / "ngo", "Varosa Documentation Project", "VDP")
    identity = {o.name: o.json("identity") for o in (kabora, dressa, ngo)}
    cards = tmp_path / "cards"
    cards.mkdir()
    for office in (kabora, dressa, ngo):
        card = cards / f"{office.root.name}.card"
        result = office.run("identity", "card", "--out", card)
        assert_ok(result)
        assert identity[office.name]["fingerprint"] in result.stderr
        assert parse_card(card.read_bytes()).office_name == office.name

    # Peers: the id alone on stdout, 16 hex digits, the start of the origin.
    added = kabora.run("peer", "add", cards / "dressa.card", "--role", "office")
    dressa_id = assert_ok(added)
    assert f"Their fingerprint: {identity['Dressa field office']['fingerprint']}" in added.stderr
    assert f"Our fingerprint:   {identity['Kabora field office']['fingerprint']}" in added.stderr
    assert "Dressa field office is on probation" in added.stderr
    assert f"valise peer verify {dressa_id} --fingerprint DIGITS" in added.stderr
    ngo_id = kabora.ok("peer", "add", cards / "ngo.card", "--role", "ngo")
    kabora_id = dressa.ok("peer", "add", cards / "kabora.card", "--role", "office")
    assert ngo.ok("peer", "add", cards / "kabora.card", "--role", "office") == kabora_id
    for peer_id, office in ((dressa_id, dressa), (ngo_id, ngo), (kabora_id, kabora)):
        assert PEER_ID.fullmatch(peer_id), peer_id
        assert identity[office.name]["origin"].startswith(peer_id)
    listed = {p["id"]: p for p in kabora.json("peer", "list")}
    assert set(listed) == {dressa_id, ngo_id}
    assert listed[dressa_id]["office"] == "Dressa field office"
    assert (listed[dressa_id]["role"], listed[ngo_id]["role"]) == ("office", "ngo")
    assert listed[dressa_id]["fingerprint"] == identity["Dressa field office"]["fingerprint"]
    assert not listed[dressa_id]["verified"]
    assert listed[dressa_id]["state"] == "probation"

    # Fingerprints: a wrong one is refused and changes nothing; the right one verifies.
    wrong = "1" * 40
    refused = kabora.run("peer", "verify", dressa_id, "--fingerprint", wrong)
    assert_refused(refused, 1, "does not match", "Dressa field office")
    assert not {p["id"]: p for p in kabora.json("peer", "list")}[dressa_id]["verified"]
    digits = identity["Dressa field office"]["fingerprint"]
    kabora.ok("peer", "verify", dressa_id, "--fingerprint", digits)
    verified = {p["id"]: p for p in kabora.json("peer", "list")}[dressa_id]
    assert verified["verified"] and verified["state"] == "verified"

    # A case with a protected witness, shared with Dressa, carried on a stick.
    case_id = kabora.ok("case", "add", "--title", "Shelling of the Oru market")
    kabora.ok("person", "add", case_id, "--role", "witness", "--name", NAME, "--protected")
    kabora.ok("case", "share", case_id, dressa_id)
    stick = tmp_path / "stick-1"
    head = Path(kabora.ok("bundle", "export", "--to", dressa_id, "--out", stick))
    assert head.is_file() and head.name.endswith(HEAD_SUFFIX)
    assert head.parent == stick / BUNDLE_FOLDER
    assert list(head.parent.glob(f"*{PART_SUFFIX}"))

    # Dressa never compared Kabora's fingerprint: the bundle is kept unread, with how to
    # verify; once the digits are typed, the next import reads it.
    inspected = dressa.run("bundle", "inspect", head, "--json")
    assert inspected.returncode == 1 and "was never compared" in inspected.stderr
    info = json.loads(inspected.stdout)
    assert info["verification"] == "sender not verified"
    assert f"valise peer verify {kabora_id} --fingerprint DIGITS" in info["detail"]
    kept = dressa.json("bundle", "import", stick)
    assert [(r["status"], r["reason"]) for r in kept] == [("parked", "unverified sender")]
    assert dressa.json("case", "list") == []
    kabora_digits = identity["Kabora field office"]["fingerprint"]
    dressa.ok("peer", "verify", kabora_id, "--fingerprint", kabora_digits)
    info = dressa.json("bundle", "inspect", head)
    assert info["verification"] == "verified"
    assert "Kabora field office" in info["sender"] and kabora_id in info["sender"]
    assert info["recipients"] == "Dressa field office"
    # The case, the witness and the grant that shares the case with Dressa.
    assert (info["changesets"], info["evidence_files"]) == (3, 0)
    assert info["sender_verified"] is True
    assert dressa.json("case", "list") == []  # inspecting applies nothing

    imported = dressa.json("bundle", "import", stick)
    # The bundle on the stick is read; the copy kept aside is then seen as read and dropped.
    assert [(r["status"], r["changesets"]) for r in imported] == [
        ("imported", 3),
        ("already imported", 0),
    ]
    assert imported[0]["sender_id"] == kabora_id
    assert [c["id"] for c in dressa.json("case", "list")] == [case_id]
    again = dressa.json("bundle", "import", head)
    assert [r["status"] for r in again] == ["already imported"]
    assert dressa.json("bundle", "inspect", head)["verification"] == "already imported"
    person = dressa.with_officer().json("person", "list", case_id, "--reveal")[0]
    assert person["legal_name"] == NAME  # offices see protected identities

    # Both offices change the same two fields without seeing each other's edit.
    kabora.ok("case", "update", case_id, "--title", "Oru market, 12 March", "--summary", "K")
    dressa.ok("case", "update", case_id, "--title", "Oru market shelling", "--summary", "D")
    courier = tmp_path / "courier"
    courier.mkdir()
    sync_until_quiet([kabora, dressa], courier)
    lists = {o.name: o.json("conflicts", "list") for o in (kabora, dressa)}
    for office_name, found in lists.items():
        by_field = {c["field"]: c for c in found}
        assert set(by_field) == {"title", "summary"}, office_name
        title = by_field["title"]
        assert {title["shown_value"], title["other_value"]} == {
            "Oru market, 12 March",
            "Oru market shelling",
        }
        assert {by_field["summary"]["shown_value"], by_field["summary"]["other_value"]} == {
            "K",
            "D",
        }
        assert all(c["status"] == "open" and c["case_id"] == case_id for c in found)
        assert {title["shown_by"], title["other_by"]} == {  # each office's first user
            "Supervisor (Kabora field office)",
            "Supervisor (Dressa field office)",
        }
    shown = {o: {c["field"]: c["shown_value"] for c in f} for o, f in lists.items()}
    assert shown["Kabora field office"] == shown["Dressa field office"]  # the same everywhere

    # Kabora keeps Dressa's title; Dressa writes a new summary.
    k_title = next(c for c in lists["Kabora field office"] if c["field"] == "title")
    d_summary = next(c for c in lists["Dressa field office"] if c["field"] == "summary")
    kabora.ok("conflicts", "resolve", str(k_title["id"]), "--keep", "Oru market shelling")
    dressa.ok("conflicts", "resolve", str(d_summary["id"]), "--value", "Agreed: three strikes")
    assert [c["field"] for c in kabora.json("conflicts", "list")] == ["summary"]
    sync_until_quiet([kabora, dressa], courier)
    for office in (kabora, dressa):
        assert office.json("conflicts", "list") == [], office.name
        settled = office.json("conflicts", "list", "--all")
        assert {c["status"] for c in settled} == {"resolved"} and len(settled) == 2
        case = office.json("case", "show", case_id)
        assert (case["title"], case["summary"]) == ("Oru market shelling", "Agreed: three strikes")

    # The NGO receives the case with the witness known by pseudonym only.
    kabora.ok("peer", "verify", ngo_id, "--fingerprint", identity[ngo.name]["fingerprint"])
    ngo.ok("peer", "verify", kabora_id, "--fingerprint", kabora_digits)
    kabora.ok("case", "share", case_id, ngo_id)
    head = Path(kabora.ok("bundle", "export", "--to", ngo_id, "--out", tmp_path / "stick-ngo"))
    assert ngo.json("bundle", "import", head)[0]["status"] == "imported"
    ngo_officer = ngo.with_officer()  # even their protection officer has no name to reveal
    witness = ngo_officer.json("person", "list", case_id, "--reveal")[0]
    assert witness["pseudonym"] == "W-0001" and witness["legal_name"] == ""
    assert NAME not in ngo_officer.ok("person", "list", case_id, "--reveal", "--json")
    assert ngo.json("case", "show", case_id)["title"] == "Oru market shelling"


# -- a prepared pair of offices for the bad-input tests -------------------------------------


@dataclass(frozen=True)
class Pair:
    """Kabora and Dressa, each the other's peer, with a shared case and conflicts at
    Kabora: one open (title), one settled (summary)."""

    kabora: Path
    dressa: Path
    kabora_card: Path
    dressa_card: Path
    dressa_id: str
    case_id: str
    open_conflict: int
    settled_conflict: int
    titles: tuple[str, str]
    head: Path  # a bundle from Dressa to Kabora, not yet imported


@pytest.fixture(scope="module")
def pair_template(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    base = tmp_path_factory.mktemp("pair")
    kabora = init_office(base / "kabora", "Kabora field office", "KAB")
    dressa = init_office(base / "dressa", "Dressa field office", "DRS")
    cards = {}
    for office in (kabora, dressa):
        cards[office.name] = base / f"{office.root.name}.card"
        office.ok("identity", "card", "--out", cards[office.name])
    dressa_id = kabora.ok("peer", "add", cards["Dressa field office"], "--role", "office")
    kabora_id = dressa.ok("peer", "add", cards["Kabora field office"], "--role", "office")
    for office, peer_id, other in ((kabora, dressa_id, dressa), (dressa, kabora_id, kabora)):
        digits = other.json("identity")["fingerprint"]
        office.ok("peer", "verify", peer_id, "--fingerprint", digits)
    titles = ("Oru market, 12 March", "Oru market shelling")
    with (
        open_workspace(kabora.root, PASSPHRASE) as k,
        open_workspace(dressa.root, PASSPHRASE) as d,
    ):
        case_id = cases.add_case(k, "Shelling of the Oru market")
        peers.share_case(k, case_id, peers.get_peer(k, dressa_id))
        to_kabora = peers.get_peer(d, k.origin)
        import_paths(d, [export_bundle(k, [peers.get_peer(k, dressa_id)], base / "s1").head])
        cases.update_case(k, case_id, title=titles[0], summary="K")
        cases.update_case(d, case_id, title=titles[1], summary="D")
        import_paths(k, [export_bundle(d, [to_kabora], base / "s2").head])
        found = {c.field: c.id for c in conflicts.list_conflicts(k)}
        assert set(found) == {"title", "summary"}
        conflicts.resolve(k, found["summary"], keep="shown")
        cases.update_case(d, case_id, location="Oru")
        head = export_bundle(d, [to_kabora], base / "s3").head
    return Pair(
        kabora.root,
        dressa.root,
        cards["Kabora field office"],
        cards["Dressa field office"],
        dressa_id,
        case_id,
        found["title"],
        found["summary"],
        titles,
        head,
    )


class Unchanged:
    """Captures a workspace; `check()` asserts it is as it was: byte for byte, or (when a
    refusal is audited by design) record for record with exactly those audit entries."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = fingerprint(root)
        self.records = contents(root)

    def check(self, *audited: str) -> None:
        if not audited:
            assert fingerprint(self.root) == self.files, "workspace files changed"
        assert temp_leftovers(self.root) == []
        after = contents(self.root)
        assert after.audit_ok
        assert after.tables == self.records.tables, "records changed"
        before = self.records.audit_actions
        assert after.audit_actions[: len(before)] == before
        assert list(after.audit_actions[len(before) :]) == list(audited)


@dataclass
class Kabora:
    """A fresh copy of the prepared Kabora workspace, with everything a test needs."""

    office: Office
    pair: Pair
    unchanged: Unchanged

    def run(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        return self.office.run(*args)


@pytest.fixture
def kab(pair_template: Pair, tmp_path: Path) -> Iterator[Kabora]:
    root = tmp_path / "kabora"
    shutil.copytree(pair_template.kabora, root)
    yield Kabora(Office("Kabora field office", root), pair_template, Unchanged(root))


def assert_failed(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Like assert_refused, for commands that also report per item on stdout (an import
    lists each bundle it looked at, refused ones too)."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("valise: ")]
    text = "\n".join(ln for ln in lines if not ln.startswith("valise: warning:"))
    assert text, f"no 'valise: ...' message on stderr:\n{result.stderr}"
    for needle in needles:
        assert needle.lower() in text.lower(), f"{needle!r} not in the message:\n{text}"
    return text


# -- contact cards ---------------------------------------------------------------------------


def _bad_card(kind: str, tmp_path: Path, pair: Pair) -> tuple[Path, str]:
    """A card file that is wrong in one way, and a word the message must hold."""
    good = pair.dressa_card.read_bytes()
    path = tmp_path / f"card-{kind}.card"
    if kind == "garbage":
        path.write_text("Dressa field office, call +999 4471 0023\n")
        needle = "not a Valise contact card"
    elif kind == "empty":
        path.write_bytes(b"")
        needle = "not a Valise contact card"
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 4)
        needle = "not a Valise contact card"
    elif kind == "non-utf8":
        path.write_bytes(good.replace(b"Dressa", b"Dr\xe9ssa"))
        needle = "not a Valise contact card"
    elif kind == "folder":
        path.mkdir()
        needle = "folder"
    elif kind == "missing":
        needle = "No such file"
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
        needle = "not a Valise contact card"
    elif kind == "tampered-office":
        path.write_bytes(good.replace(b"Dressa field office", b"Dressx field office"))
        needle = "signature"
    elif kind == "unknown-role":
        path.write_bytes(good.replace(b'"role":"office"', b'"role":"judge"'))
        needle = "judge"
    elif kind == "oversized":
        path.write_bytes(good + b" " * 20_000)
        needle = "bytes"
    elif kind == "our-own":
        shutil.copyfile(pair.kabora_card, path)
        needle = "own card"
    else:  # pragma: no cover
        raise AssertionError(kind)
    assert kind in ("folder", "missing", "garbage", "empty", "binary") or path.read_bytes() != good
    return path, needle


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "empty",
        "binary",
        "non-utf8",
        "folder",
        "missing",
        "truncated",
        "tampered-office",
        "unknown-role",
        "oversized",
        "our-own",
    ],
)
def test_peer_add_refuses_a_bad_card_and_names_it(kab: Kabora, tmp_path: Path, kind: str) -> None:
    path, needle = _bad_card(kind, tmp_path, kab.pair)
    message = assert_refused(kab.run("peer", "add", path, "--role", "liaison"), 1, needle)
    if kind != "our-own":
        assert str(path) in message
    kab.unchanged.check()


def test_peer_add_with_an_invalid_or_missing_role_is_a_usage_error(kab: Kabora) -> None:
    card = kab.pair.dressa_card
    assert_refused(kab.run("peer", "add", card, "--role", "judge"), 2, "--role", "judge")
    assert_refused(kab.run("peer", "add", card, "--role", "Office"), 2, "--role")
    assert_refused(kab.run("peer", "add", card), 2, "--role")
    kab.unchanged.check()


# -- peer ids ---------------------------------------------------------------------------------

PEER_COMMANDS = [
    ["peer", "verify", "{peer}", "--fingerprint", "12345"],
    ["case", "share", "{case}", "{peer}"],
    ["case", "unshare", "{case}", "{peer}"],
    ["bundle", "export", "--to", "{peer}", "--out", "{out}"],
    ["peer", "revoke", "{peer}", "--after", "3"],
]


def _with_peer(kab: Kabora, command: list[str], peer: str, out: Path) -> list[str]:
    values = {"peer": peer, "case": kab.pair.case_id, "out": str(out)}
    return [part.format(**values) for part in command]


@pytest.mark.parametrize(
    ("peer", "needle"),
    [
        pytest.param("0123456789abcdef", "No peer with id", id="unknown"),
        pytest.param("zz12345678qwerty", "not a peer id", id="non-hex"),
        pytest.param("12ab", "not a peer id", id="too-short"),
        pytest.param("", "not a peer id", id="empty"),
    ],
)
def test_every_command_naming_a_peer_refuses_a_bad_id(
    kab: Kabora, tmp_path: Path, peer: str, needle: str
) -> None:
    out = tmp_path / "stick"
    for command in PEER_COMMANDS:
        result = kab.run(*_with_peer(kab, command, peer, out))
        message = assert_refused(result, 1, needle)
        assert repr(peer) in message or "peer id" in message
    assert not out.exists()
    kab.unchanged.check()


def test_every_command_naming_a_peer_refuses_an_ambiguous_id(kab: Kabora, tmp_path: Path) -> None:
    """Two peers whose ids start alike (crafted in the table: real keys would take 2^32
    tries): a short start names neither."""
    with open_workspace(kab.office.root, PASSPHRASE) as ws, ws.transaction() as conn:
        dressa = peers.get_peer(ws, kab.pair.dressa_id)
        twin = dressa.origin[:10] + ("0" if dressa.origin[10] != "0" else "1") * 54
        conn.execute(
            "INSERT INTO peers(origin, office_name, role, signing_public,"
            " encryption_public, card, added_at) SELECT ?, 'Twin office', role,"
            " signing_public, encryption_public, card, added_at FROM peers WHERE origin = ?",
            (twin, dressa.origin),
        )
    unchanged = Unchanged(kab.office.root)
    out = tmp_path / "stick"
    for command in PEER_COMMANDS:
        result = kab.run(*_with_peer(kab, command, kab.pair.dressa_id[:9], out))
        assert_refused(result, 1, "more than one peer", kab.pair.dressa_id[:9])
    assert not out.exists()
    unchanged.check()


def _dressa_never_compared(kab: Kabora) -> Unchanged:
    """Dressa as if its fingerprint had never been compared at Kabora (the prepared pair
    verified each other); what the workspace holds then."""
    with open_workspace(kab.office.root, PASSPHRASE) as ws, ws.transaction() as conn:
        conn.execute("UPDATE peers SET verified_at = ''")
    return Unchanged(kab.office.root)


def test_peer_verify_with_a_wrong_fingerprint_changes_nothing(kab: Kabora) -> None:
    unchanged = _dressa_never_compared(kab)
    with open_workspace(kab.pair.dressa, PASSPHRASE) as dressa:
        real = dressa.fingerprint
    for wrong, needle in (
        ("12345 67890", "does not match"),
        (real[:-1] + ("0" if real[-1] != "0" else "1"), "does not match"),
        (real + " 1", "does not match"),
        ("not digits at all", "only the digits 0 to 9"),
        ("\u0663" * 40, "only the digits 0 to 9"),
        ("", "No fingerprint was given"),
        ("  -  ", "No fingerprint was given"),
    ):
        result = kab.run("peer", "verify", kab.pair.dressa_id, "--fingerprint", wrong)
        assert_refused(result, 1, needle, "Nothing was changed")
    unchanged.check()
    listed = json.loads(assert_ok(kab.run("peer", "list", "--json")))
    assert [(p["verified"], p["state"]) for p in listed] == [(False, "probation")]


def test_peer_verify_without_the_digits_is_a_usage_error(kab: Kabora) -> None:
    unchanged = _dressa_never_compared(kab)
    result = kab.run("peer", "verify", kab.pair.dressa_id)
    assert_refused(result, 2, "--fingerprint")
    assert_refused(kab.run("peer", "verify", kab.pair.dressa_id, "--fingerprint"), 2)
    unchanged.check()


def test_bundle_export_to_an_unverified_or_revoked_peer_is_refused_with_why(
    kab: Kabora, tmp_path: Path
) -> None:
    unchanged = _dressa_never_compared(kab)
    out = tmp_path / "stick"
    result = kab.run("bundle", "export", "--to", kab.pair.dressa_id, "--out", out)
    assert_refused(
        result,
        1,
        "Nothing is written for Dressa field office (office,",
        "its fingerprint was never compared",
        f"valise peer verify {kab.pair.dressa_id} --fingerprint DIGITS",
        "No bundle was written",
    )
    assert list(out.rglob("*.age")) == []
    courier = tmp_path / "courier"
    courier.mkdir()
    synced = kab.run("sync", "usb", courier)
    assert "its fingerprint was never compared" in assert_ok(synced)
    assert "1 peer skipped" in synced.stderr
    assert list(courier.rglob("*.age")) == []
    unchanged.check()

    with open_workspace(kab.pair.dressa, PASSPHRASE) as dressa:
        kab.office.ok("peer", "verify", kab.pair.dressa_id, "--fingerprint", dressa.fingerprint)
    kab.office.ok("peer", "revoke", kab.pair.dressa_id, "--after", "0", "--reason", "stolen")
    result = kab.run("bundle", "export", "--to", kab.pair.dressa_id, "--out", out)
    assert_refused(result, 1, "its key was revoked after its change 0 (stolen)")
    assert list(out.rglob("*.age")) == []
    listed = json.loads(assert_ok(kab.run("peer", "list", "--json")))
    assert [p["state"] for p in listed] == ["revoked"]


def test_policy_set_refuses_garbage_and_records_each_change(kab: Kabora) -> None:
    for args in (
        ["policy", "set", "accept-unverified-peers", "maybe"],
        ["policy", "set", "accept-unverified-peers", "YES"],
        ["policy", "set", "accept-unverified-peers"],
        ["policy", "set", "accept-everyone", "yes"],
        ["policy", "set"],
    ):
        assert_refused(kab.run(*args), 2)
    kab.unchanged.check()
    shown = json.loads(assert_ok(kab.run("policy", "show", "--json")))
    assert shown == {"accept-unverified-peers": "no"}

    said = kab.run("policy", "set", "accept-unverified-peers", "yes")
    assert "recorded in the audit log" in assert_ok(said) + said.stderr
    again = kab.run("policy", "set", "accept-unverified-peers", "yes")
    assert "already yes; nothing was changed" in again.stderr
    kab.office.ok("policy", "set", "accept-unverified-peers", "no")
    after = contents(kab.office.root)
    before = kab.unchanged.records.audit_actions
    assert after.audit_ok and after.audit_actions[: len(before)] == before
    assert after.audit_actions[len(before) :] == ("policy changed", "policy changed")


def test_peer_revoke_needs_a_sequence_number(kab: Kabora) -> None:
    peer = kab.pair.dressa_id
    for after in ("three", "-1", "", "1.5"):
        assert_refused(kab.run("peer", "revoke", peer, "--after", after), 2, "--after")
    assert_refused(kab.run("peer", "revoke", peer), 2, "--after")
    kab.unchanged.check()


def test_peer_revoke_and_identity_rotate_are_recorded(kab: Kabora) -> None:
    before = json.loads(assert_ok(kab.run("identity", "--json")))
    kab.office.ok("peer", "revoke", kab.pair.dressa_id, "--after", "2", "--reason", "lost")
    listed = json.loads(assert_ok(kab.run("peer", "list", "--json")))
    assert [p["revoked_after"] for p in listed] == [2]
    kab.office.ok("identity", "rotate")
    after = json.loads(assert_ok(kab.run("identity", "--json")))
    assert after["origin"] != before["origin"]
    assert after["fingerprint"] != before["fingerprint"]
    assert assert_ok(kab.run("audit", "verify")).startswith("ok ")


def test_case_share_of_an_unknown_case_is_refused(kab: Kabora) -> None:
    for action in ("share", "unshare"):
        result = kab.run("case", action, "ffffffffffffffffffff", kab.pair.dressa_id)
        assert_refused(result, 1, "ffffffffffffffffffff")
    kab.unchanged.check()


# -- bundle import ---------------------------------------------------------------------------


def test_bundle_import_of_a_missing_path_or_a_part_names_it(kab: Kabora, tmp_path: Path) -> None:
    missing = tmp_path / "no stick here"
    assert_refused(kab.run("bundle", "import", missing), 1, "no file or folder", str(missing))
    part = next(kab.pair.head.parent.glob(f"*{PART_SUFFIX}"))
    assert_refused(kab.run("bundle", "import", part), 1, "one part of a bundle", str(part))
    # One bad path among good ones: nothing is imported at all.
    result = kab.run("bundle", "import", kab.pair.head, missing)
    assert_refused(result, 1, str(missing))
    kab.unchanged.check()


def test_bundle_import_of_folders_without_bundles_finds_none(kab: Kabora, tmp_path: Path) -> None:
    empty = tmp_path / "empty stick"
    empty.mkdir()
    other = tmp_path / "holiday stick"
    (other / BUNDLE_FOLDER).mkdir(parents=True)
    (other / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a bundle")
    (other / BUNDLE_FOLDER / "notes.txt").write_text("nothing to see")
    for folder in (empty, other):
        result = kab.run("bundle", "import", folder)
        assert_ok(result)
        assert "No bundles found" in result.stderr and result.stdout == ""
        assert json.loads(assert_ok(kab.run("bundle", "import", folder, "--json"))) == []
    kab.unchanged.check()


@pytest.mark.parametrize("kind", ["garbage", "empty", "age-but-not-ours", "truncated-head"])
def test_bundle_import_of_a_bad_head_is_refused_and_applies_nothing(
    kab: Kabora, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / f"{kind}{HEAD_SUFFIX}"
    if kind == "garbage":
        path.write_bytes(b"VALISE-BUNDLE-HEAD/1\n but not really\n")
        needle = "not an encrypted Valise bundle"
    elif kind == "empty":
        path.write_bytes(b"")
        needle = "not an encrypted Valise bundle"
    elif kind == "age-but-not-ours":
        path.write_bytes(pyrage.encrypt(b"hello", [x25519.Identity.generate().to_public()]))
        needle = ""
    else:
        data = kab.pair.head.read_bytes()
        path.write_bytes(data[: len(data) - 40])
        needle = "damaged"
    result = kab.run("bundle", "import", path)
    if kind == "age-but-not-ours":  # addressed to someone else: kept for them, not an error
        assert_ok(result)
        assert "not for us" in result.stdout
        kab.unchanged.check()
        return
    assert_failed(result, 1, "refused", str(path), needle)
    assert path.name in result.stdout  # the per-bundle report
    kab.unchanged.check("bundle refused")  # the refusal is audited; no record changes


def test_bundle_import_of_a_tampered_part_is_refused_and_applies_nothing(
    kab: Kabora, tmp_path: Path
) -> None:
    stick = tmp_path / "stick"
    shutil.copytree(kab.pair.head.parent.parent, stick)
    part = next((stick / BUNDLE_FOLDER).glob(f"*{PART_SUFFIX}"))
    data = bytearray(part.read_bytes())
    data[-20] ^= 1
    part.write_bytes(bytes(data))
    result = kab.run("bundle", "import", stick)
    assert_failed(result, 1, "refused", "damaged")
    kab.unchanged.check("bundle refused")
    # The genuine bundle still imports afterwards.
    report = json.loads(assert_ok(kab.run("bundle", "import", kab.pair.head, "--json")))
    assert report[0]["status"] == "imported" and report[0]["changesets"] == 1


# -- bundle export ---------------------------------------------------------------------------


def test_bundle_export_to_a_file_or_a_peer_twice_is_refused(kab: Kabora, tmp_path: Path) -> None:
    a_file = tmp_path / "stick.img"
    a_file.write_bytes(b"not a folder")
    peer = kab.pair.dressa_id
    result = kab.run("bundle", "export", "--to", peer, "--out", a_file)
    assert_refused(result, 1, "cannot write", str(a_file))
    assert a_file.read_bytes() == b"not a folder"
    inside = a_file / "sub"
    assert_refused(kab.run("bundle", "export", "--to", peer, "--out", inside), 1, str(a_file))
    out = tmp_path / "stick"
    twice = kab.run("bundle", "export", "--to", peer, "--to", peer, "--out", out)
    assert_refused(twice, 1, "named twice")
    assert not out.exists()
    kab.unchanged.check()


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="the suite runs as root here, and root writes into a chmod-0500 folder anyway",
)
def test_bundle_export_to_an_unwritable_folder_is_refused(kab: Kabora, tmp_path: Path) -> None:
    out = tmp_path / "read-only stick"
    out.mkdir()
    out.chmod(0o500)
    try:
        result = kab.run("bundle", "export", "--to", kab.pair.dressa_id, "--out", out)
    finally:
        out.chmod(0o700)
    assert_refused(result, 1, "permission denied", str(out))
    assert list(out.iterdir()) == []
    kab.unchanged.check()


@pytest.mark.parametrize(
    ("size", "needle"),
    [("0", "1 to 2048"), ("-3", "1 to 2048"), ("4096", "1 to 2048"), ("1.5", "whole number")],
)
def test_bundle_export_with_a_bad_part_size_is_a_usage_error(
    kab: Kabora, tmp_path: Path, size: str, needle: str
) -> None:
    out = tmp_path / "stick"
    result = kab.run(
        "bundle", "export", "--to", kab.pair.dressa_id, "--out", out, f"--part-size={size}"
    )
    assert_refused(result, 2, "--part-size", needle)
    assert not out.exists()
    kab.unchanged.check()


def test_bundle_export_without_to_or_out_is_a_usage_error(kab: Kabora, tmp_path: Path) -> None:
    assert_refused(kab.run("bundle", "export", "--out", tmp_path), 2, "--to")
    assert_refused(kab.run("bundle", "export", "--to", kab.pair.dressa_id), 2, "--out")
    kab.unchanged.check()


# -- bundle inspect and sync usb -------------------------------------------------------------


def test_bundle_inspect_of_garbage_fails_and_changes_nothing(kab: Kabora, tmp_path: Path) -> None:
    garbage = tmp_path / f"garbage{HEAD_SUFFIX}"
    garbage.write_bytes(os.urandom(3000))
    result = kab.run("bundle", "inspect", garbage, "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    info = json.loads(result.stdout)
    assert info["verification"] == "refused (not a bundle)" and garbage.name in info["detail"]
    missing = tmp_path / "gone.head.age"
    assert_refused(kab.run("bundle", "inspect", missing), 1, str(missing))
    assert_refused(kab.run("bundle", "inspect", tmp_path), 1, "folder", str(tmp_path))
    kab.unchanged.check()


def test_bundle_inspect_of_garbage_says_why_on_stderr(kab: Kabora, tmp_path: Path) -> None:
    garbage = tmp_path / f"garbage{HEAD_SUFFIX}"
    garbage.write_bytes(b"this is not a bundle\n")
    assert_failed(kab.run("bundle", "inspect", garbage), 1, str(garbage))


def test_sync_usb_needs_a_folder(kab: Kabora, tmp_path: Path) -> None:
    a_file = tmp_path / "disk.img"
    a_file.write_bytes(b"")
    for path in (a_file, tmp_path / "not mounted"):
        assert_refused(kab.run("sync", "usb", path), 1, "not a folder", str(path))
    assert not (tmp_path / "not mounted").exists()
    kab.unchanged.check()


# -- conflicts resolve -----------------------------------------------------------------------


def test_conflicts_resolve_refuses_bad_ids_and_values(kab: Kabora) -> None:
    pair = kab.pair
    open_id, settled_id = str(pair.open_conflict), str(pair.settled_conflict)
    cases_ = [
        (["999", "--keep", "shown"], 1, ["conflict", "999"]),
        (["abc", "--keep", "shown"], 2, ["not a conflict number", "abc"]),
        (["0", "--keep", "shown"], 2, ["start at 1"]),
        ([settled_id, "--keep", "shown"], 1, ["already settled", settled_id]),
        ([settled_id, "--value", "new"], 1, ["already settled"]),
        ([open_id, "--keep", "Oru market"], 1, ["neither of the two values", "Oru market"]),
        ([open_id], 2, ["--keep", "--value"]),
        ([open_id, "--keep", "shown", "--value", "x"], 2, ["not allowed"]),
    ]
    for args, code, needles in cases_:
        assert_refused(kab.run("conflicts", "resolve", *args), code, *needles)
    kab.unchanged.check()
    found = json.loads(assert_ok(kab.run("conflicts", "list", "--json")))
    assert [(c["id"], c["status"]) for c in found] == [(pair.open_conflict, "open")]
    assert {found[0]["shown_value"], found[0]["other_value"]} == set(pair.titles)


# -- identity card ---------------------------------------------------------------------------


def test_identity_card_never_overwrites_and_names_the_path(kab: Kabora, tmp_path: Path) -> None:
    existing = tmp_path / "card.txt"
    existing.write_text("my shopping list")
    assert_refused(
        kab.run("identity", "card", "--out", existing), 1, "already exists", str(existing)
    )
    assert existing.read_text() == "my shopping list"
    assert_refused(kab.run("identity", "card", "--out", tmp_path), 1, str(tmp_path))
    missing = tmp_path / "no such folder" / "card.txt"
    assert_refused(kab.run("identity", "card", "--out", missing), 1, str(missing))
    assert not missing.parent.exists()
    assert_refused(kab.run("identity", "card"), 2, "--out")
    kab.unchanged.check()


# -- one export for peers who may see different things, and progress on a terminal ---------

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network


def _env_of(ws: Workspace) -> dict[str, str]:
    """Environment for running `valise` on a workspace of the sync fixtures (closed first:
    the command opens it)."""
    ws.close()
    return {**os.environ, "VALISE_WORKSPACE": str(ws.paths.root), "VALISE_PASSPHRASE": PASSPHRASE}


def test_bundle_export_to_a_liaison_and_an_ngo_writes_and_names_a_bundle_for_each(
    network: Network,
) -> None:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Oru market")
    cases.add_person(kabora, case_id, "witness", name=NAME, protected=True, pseudonym="W-1")
    network.share("kabora", case_id, "liaison", "ngo")
    stick = network.new_stick()
    to = [network.ws[name].origin[:16] for name in ("ngo", "liaison")]
    result = valise(
        _env_of(kabora), "bundle", "export", "--to", to[0], "--to", to[1], "--out", stick
    )

    heads = [Path(line) for line in assert_ok(result).splitlines()]
    assert len(heads) == 2 and all(h.parent == stick / BUNDLE_FOLDER for h in heads)
    assert result.stderr.splitlines()[-1] == (
        "Wrote 2 bundles: one for Varosa Documentation Project (pseudonyms only), one for"
        " Tribunal liaison (full identities)."
    )
    for name, own, other in (("ngo", heads[0], heads[1]), ("liaison", heads[1], heads[0])):
        reports = {r.head: r.status for r in network.receive(name, stick)}
        assert reports == {own: "imported", other: "not for us"}, name
    [witness] = queries.in_case(network.ws["ngo"].conn, Person, case_id)
    assert (witness.pseudonym, witness.legal_name) == ("W-1", "")
    [witness] = queries.in_case(network.ws["liaison"].conn, Person, case_id)
    assert witness.legal_name == NAME


def _on_a_terminal(env: dict[str, str], *args: str | os.PathLike[str]) -> tuple[int, str]:
    """Run `valise ARGS` with stderr on a pseudo-terminal; the exit status and all it
    wrote there."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop.main", *map(os.fspath, args)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal's other end closed: the process has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    return process.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_export_import_and_sync_show_progress_on_a_terminal_only(
    network: Network, tmp_path: Path
) -> None:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case with a file")
    (tmp_path / "photo.jpg").write_bytes(os.urandom(300_000))
    evidence.add_evidence(kabora, case_id, tmp_path / "photo.jpg")
    network.share("kabora", case_id, "liaison")
    stick = network.new_stick()
    env = _env_of(kabora)
    liaison_id = network.ws["liaison"].origin[:16]

    status, shown = _on_a_terminal(env, "bundle", "export", "--to", liaison_id, "--out", stick)
    assert status == 0, shown
    assert "\rWriting the bundle: 100%\r\n" in shown  # a terminal turns \n into \r\n
    second_stick = network.new_stick()  # the same news again, for `sync usb` below
    piped = valise(env, "bundle", "export", "--to", liaison_id, "--out", second_stick)
    assert "%" not in assert_ok(piped) + piped.stderr  # not on a pipe

    liaison_env = _env_of(network.ws["liaison"])
    status, shown = _on_a_terminal(liaison_env, "bundle", "import", stick)
    assert status == 0, shown
    assert "\rImporting: 100%\r\n" in shown
    status, shown = _on_a_terminal(liaison_env, "sync", "usb", second_stick)
    assert status == 0, shown
    assert "\rSyncing with the stick: 100%\r\n" in shown


def test_a_partner_renaming_an_office_case_is_refused_on_the_command_line(
    network: Network,
) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Shelling of the Oru market")
    network.share("kabora", case_id, "ngo")
    assert network.send("kabora", "ngo").status == "imported"
    root = ngo.paths.root
    env = _env_of(ngo)
    before = contents(root)

    result = valise(env, "case", "update", case_id, "--title", "A staged incident")

    message = assert_refused(result, 1, "not saved")
    assert re.search(
        r"Not saved: Varosa Documentation Project \(ngo, \d{5}…\) may not change the case"
        r" record in case .*; a partner organisation adds only evidence, custody of its own"
        r" evidence, notes, persons and incidents\. The offices would hold this change back,"
        r" so it was not made; ask the office that shares the case with you to make it\.",
        " ".join(message.split()),
    ), message
    assert contents(root) == before
    # What it may do goes through as before.
    assert_ok(valise(env, "note", "add", case_id, "--text", "Seen at the checkpoint"))
