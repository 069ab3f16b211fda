"""No protected or privileged value reaches, in any byte, a peer that may not see it.

Redaction is the promise a protected witness's safety rests on: an NGO or the defence
receives a case with its witnesses known by pseudonym only, and privileged work product
never leaves the office at all. A single stray copy of a name (in a changeset body, a
sidecar, the manifest, a file name, a receipt, in whatever encoding) breaks it. So these
tests decrypt every file of a real bundle with the recipient's own key, as that recipient
could, and search all of it (head, manifest and payload in clear, the ciphertext files and
the stick's file names) for every value in UTF-8, UTF-16 (both byte orders), upper and
lower case, hex and base64, and for distinctive words of each value on their own. Each
negative search has a positive control: the same search finds the values where they are
allowed (the pseudonym, an open note, the bundle for a liaison).

An NGO or the defence receives a projection (sync.projection), not the raw history: its
bundle holds only changesets signed by the sending office, and no record of a protected or
privileged note at all (not even its id). tests/sync/test_projection.py has the attacks.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyrage
import pytest
from pyrage import x25519

from storage import canonical, cases, queries
from storage.changesets import decode
from storage.errors import StorageError
from storage.records import Note, Person
from storage.sealing import Reveal, commit
from storage.workspace import Draft, Workspace
from sync.agekeys import age_identity
from sync.bundle_format import (
    BUNDLE_FOLDER,
    HEAD_SUFFIX,
    PART_SUFFIX,
    ChangesetFrame,
    PayloadParser,
    decode_manifest,
    split_head,
)
from sync.errors import SyncError
from sync.export import ExportResult, export_bundles
from tests.sync.conftest import Network

PSEUDONYM = "W-7781"
LEGAL_NAME = "Zuleyka Quennell-Marsh"
ALIAS = "Zuzu Vintergrove"
BIRTH_DATE = "1987-04-23"
CONTACT = "+999 4471 0023 via the Ostrel pharmacy"
HOME = "Haverwick Lane 17, Oshtara"
PROTECTED_NOTE = "Relocated through the Quillfeather corridor to Brennsholm"
PRIVILEGED_NOTE = "Strategy: the Xylocarp theory of command responsibility, Tamberlyn"
OPEN_NOTE = "Ask the liaison for the Marrowlight drone footage"

IDENTITY = {
    "legal_name": LEGAL_NAME,
    "aliases": ALIAS,
    "birth_date": BIRTH_DATE,
    "contact": CONTACT,
    "home_location": HOME,
}
PROTECTED_VALUES = [*IDENTITY.values(), PROTECTED_NOTE]
PRIVILEGED_VALUES = [PRIVILEGED_NOTE]
# Words that belong to one secret value only: a leak of part of a value is a leak too.
PROTECTED_WORDS = ["Zuleyka", "Quennell", "Vintergrove", "Ostrel", "Haverwick", "Oshtara"]
PROTECTED_WORDS += ["Quillfeather", "Brennsholm"]
PRIVILEGED_WORDS = ["Xylocarp", "Tamberlyn"]


# -- searching bytes -------------------------------------------------------------------------


def _forms(value: str) -> dict[str, bytes]:
    """The encodings a value could hide in."""
    raw = value.encode()
    return {
        "utf-8": raw,
        "utf-16-le": value.encode("utf-16-le"),
        "utf-16-be": value.encode("utf-16-be"),
        "lower case": value.lower().encode(),
        "upper case": value.upper().encode(),
        "hex": raw.hex().encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
    }


def leaks(blob: bytes, values: Iterable[str]) -> list[str]:
    """Every (value, form) found in `blob`; text forms are matched case-insensitively."""
    lowered = blob.lower()
    found = []
    for value in values:
        for form, needle in _forms(value).items():
            hit = needle in blob if form == "base64" else needle.lower() in lowered
            if hit:
                found.append(f"{value!r} as {form}")
    return found


def secrets_in(blob: bytes, *, protected: bool = True, privileged: bool = True) -> list[str]:
    """Protected and/or privileged values (whole, or any distinctive word) in `blob`."""
    values: list[str] = []
    if protected:
        values += [*PROTECTED_VALUES, *PROTECTED_WORDS]
    if privileged:
        values += [*PRIVILEGED_VALUES, *PRIVILEGED_WORDS]
    return leaks(blob, values)


# -- reading a bundle as its recipient could ------------------------------------------------


@dataclass
class OpenedBundle:
    """Everything a recipient can get out of a bundle on a stick."""

    names: list[str]  # every path on the stick
    ciphertext: bytes  # every file's bytes, concatenated
    head: bytes  # the head's plaintext (magic, manifest, signature)
    manifest: dict[str, Any]
    payload: bytes  # the parts' plaintexts in the manifest's order
    frames: list[ChangesetFrame]

    @property
    def everything(self) -> bytes:
        """All of it in one blob to search."""
        return b"\n".join(
            [*(n.encode() for n in self.names), self.ciphertext, self.head, self.payload]
        )


class _Sink:
    def __init__(self, sha: str) -> None:
        self._sha = sha

    def write(self, data: bytes | memoryview) -> None:
        pass

    def finish(self) -> str:
        return self._sha


def open_bundle(
    result: ExportResult, reader: Workspace, alongside: Sequence[ExportResult] = ()
) -> OpenedBundle:
    """Decrypt the head and every part on the stick with `reader`'s key; the files of the
    bundles `alongside` (written in the same export) may be on the stick too."""
    identity = x25519.Identity.from_str(age_identity(reader.keys.encryption_private))
    folder = result.head.parent
    stick = folder.parent
    assert folder.name == BUNDLE_FOLDER
    names = sorted(str(p.relative_to(stick)) for p in stick.rglob("*"))
    others = {p.name for other in alongside for p in other.files}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name not in others)
    assert {p.name for p in files} == {p.name for p in result.files}, "stray files on the stick"
    ciphertext = b"".join(p.read_bytes() for p in files)
    head = pyrage.decrypt(result.head.read_bytes(), [identity])
    manifest = decode_manifest(split_head(head)[0])
    payload = io.BytesIO()
    for part in manifest["parts"]:
        with (folder / f"{part['name']}{PART_SUFFIX}").open("rb") as handle:
            pyrage.decrypt_io(handle, payload, [identity])
    frames: list[ChangesetFrame] = []
    parser = PayloadParser(frames.append, lambda size, sha: _Sink(sha))
    parser.write(payload.getvalue())
    parser.finish()
    assert len(frames) == manifest["payload"]["changesets"]
    assert all(name.endswith((HEAD_SUFFIX, PART_SUFFIX)) for name in (p.name for p in files))
    return OpenedBundle(names, ciphertext, head, manifest, payload.getvalue(), frames)


def revealed_fields(bundle: OpenedBundle) -> set[str]:
    """Names of the sealed fields whose values travel in the bundle's sidecars."""
    return {str(item[1]) for frame in bundle.frames for item in frame.reveals}


def database_text(ws: Workspace) -> bytes:
    """Every value in every table of a workspace (search index and audit included)."""
    out = []
    tables = [
        row[0]
        for row in ws.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(row[0]).startswith("sqlite_")
    ]
    for table in tables:
        for row in ws.conn.execute(f'SELECT * FROM "{table}"'):
            for value in row:
                out.append(bytes(value) if isinstance(value, bytes | memoryview) else str(value))
    return b"\n".join(v if isinstance(v, bytes) else v.encode() for v in out)


# -- a case with everything in it -------------------------------------------------------------


@dataclass(frozen=True)
class Sensitive:
    """A case holding a protected witness and notes of every class."""

    case_id: str
    person_id: str
    protected_note: str
    privileged_note: str
    open_note: str


def sensitive_case(ws: Workspace) -> Sensitive:
    case_id = cases.add_case(ws, "Shelling of the Oru market", "Three witnesses")
    person_id = cases.add_person(
        ws, case_id, "witness", name=LEGAL_NAME, protected=True, pseudonym=PSEUDONYM
    )
    # The rest of the identity arrives in a later edit, as it does in the field.
    cases.update_record(
        ws, Person, person_id, **{k: v for k, v in IDENTITY.items() if k != "legal_name"}
    )
    return Sensitive(
        case_id,
        person_id,
        cases.add_note(ws, case_id, PROTECTED_NOTE, klass="protected", subject=person_id),
        cases.add_note(ws, case_id, PRIVILEGED_NOTE, klass="privileged"),
        cases.add_note(ws, case_id, OPEN_NOTE),
    )


def notes_held(ws: Workspace, case_id: str) -> set[str]:
    """Ids of the notes of a case a workspace holds, withdrawn ones included."""
    rows = ws.conn.execute("SELECT id FROM notes WHERE case_id = ?", (case_id,))
    return {str(row[0]) for row in rows}


def assert_identity_withheld(ws: Workspace, case: Sensitive) -> None:
    person = queries.get(ws.conn, Person, case.person_id)
    assert person.pseudonym == PSEUDONYM
    assert person.protection == "full"
    assert {name: getattr(person, name) for name in IDENTITY} == dict.fromkeys(IDENTITY, "")


# -- the tests -------------------------------------------------------------------------------


def test_a_bundle_for_the_ngo_holds_no_protected_or_privileged_byte(network: Network) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case = sensitive_case(kabora)
    network.share("kabora", case.case_id, "ngo")
    result = network.export("kabora", "ngo")

    bundle = open_bundle(result, ngo)
    assert secrets_in(bundle.everything) == []
    assert revealed_fields(bundle) == set()
    # Positive controls: the search does see what the NGO may have.
    assert leaks(bundle.payload, [PSEUDONYM, OPEN_NOTE, "Oru market"]) != []
    assert OPEN_NOTE.encode() in bundle.payload and PSEUDONYM.encode() in bundle.payload
    # The sender's own copy decrypts the same bytes (it is a recipient too): same answer.
    assert open_bundle(result, kabora).payload == bundle.payload

    report = network.receive("ngo", result.head)[0]
    assert report.status == "imported", report.message
    assert report.quarantined == 0 and report.parked == 0
    assert_identity_withheld(ngo, case)
    # Protected and privileged notes do not exist for the NGO: no record, no id.
    assert notes_held(ngo, case.case_id) == {case.open_note}
    assert queries.get(ngo.conn, Note, case.open_note).text == OPEN_NOTE
    for hidden in (case.protected_note, case.privileged_note):
        assert hidden.encode() not in bundle.everything
    # Every changeset is the sending office's projection, not another author's history.
    assert {decode(frame.body).origin for frame in bundle.frames} == {kabora.origin}
    # Nothing anywhere in the NGO's database either: records, history, index, audit.
    stored = database_text(ngo)
    assert secrets_in(stored) == []
    assert PSEUDONYM.encode() in stored and OPEN_NOTE.encode() in stored


def test_a_bundle_for_the_liaison_carries_protected_values_but_no_privileged_one(
    network: Network,
) -> None:
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case = sensitive_case(kabora)
    network.share("kabora", case.case_id, "liaison")
    result = network.export("kabora", "liaison")

    bundle = open_bundle(result, liaison)
    assert secrets_in(bundle.everything, protected=False) == []
    for value in PROTECTED_VALUES:
        assert value.encode() in bundle.payload, value
    assert revealed_fields(bundle) == {*IDENTITY, "text"}
    # Every reveal answers the commitment its author signed.
    for frame in bundle.frames:
        ops = decode(frame.body).ops
        for index, name, salt, value in frame.reveals:
            assert Reveal(bytes.fromhex(salt), value).commitment() == ops[index].sealed[name]

    report = network.receive("liaison", result.head)[0]
    assert report.status == "imported", report.message
    assert report.quarantined == 0 and report.parked == 0
    person = queries.get(liaison.conn, Person, case.person_id)
    assert {name: getattr(person, name) for name in IDENTITY} == IDENTITY
    assert queries.get(liaison.conn, Note, case.protected_note).text == PROTECTED_NOTE
    assert queries.get(liaison.conn, Note, case.privileged_note).text == ""
    assert secrets_in(database_text(liaison), protected=False) == []


def test_one_bundle_for_readers_who_may_see_different_things_is_refused(
    network: Network,
) -> None:
    """A bundle is redacted once; a liaison in a bundle redacted for an NGO would be counted
    as holding values it never got. So Valise refuses to mix them and says why."""
    kabora = network.ws["kabora"]
    case = sensitive_case(kabora)
    network.share("kabora", case.case_id, "liaison", "ngo")
    stick = network.new_stick()
    with pytest.raises(SyncError, match="write them separate bundles"):
        network.export("kabora", "liaison", "ngo", stick=stick)
    assert not (stick / BUNDLE_FOLDER).exists()


def test_one_export_for_the_liaison_and_the_ngo_writes_a_bundle_for_each(
    network: Network,
) -> None:
    """Peers named together are sorted by what they may see: the liaison and an office
    share one bundle with the identities, the NGO gets its own without them, each imports
    its own and neither can open the other's."""
    kabora, liaison, ngo = network.ws["kabora"], network.ws["liaison"], network.ws["ngo"]
    case = sensitive_case(kabora)
    network.share("kabora", case.case_id, "liaison", "ngo", "dressa")
    stick = network.new_stick()
    named = [network.peer("kabora", name) for name in ("liaison", "ngo", "dressa")]
    run = export_bundles(kabora, named, stick)

    assert run.failed == [] and run.not_started == []
    assert run.summary() == (
        "Wrote 2 bundles: one for Tribunal liaison and Dressa field office (full"
        " identities), one for Varosa Documentation Project (pseudonyms only)."
    )
    full, restricted = run.written
    assert [p.office_name for p in full.recipients] == [
        "Tribunal liaison",
        "Dressa field office",
    ]
    assert [p.office_name for p in restricted.recipients] == ["Varosa Documentation Project"]
    for_ngo = open_bundle(restricted, ngo, alongside=[full])
    assert secrets_in(for_ngo.everything) == []
    assert revealed_fields(for_ngo) == set()
    assert PSEUDONYM.encode() in for_ngo.payload and OPEN_NOTE.encode() in for_ngo.payload
    for_liaison = open_bundle(full, liaison, alongside=[restricted])
    assert secrets_in(for_liaison.everything, protected=False) == []
    for value in PROTECTED_VALUES:
        assert value.encode() in for_liaison.payload, value

    # Neither can open the other's: each is encrypted to its own recipients only.
    for bundle, outsider in ((full, ngo), (restricted, liaison)):
        identity = x25519.Identity.from_str(age_identity(outsider.keys.encryption_private))
        with pytest.raises(pyrage.DecryptError):
            pyrage.decrypt(bundle.head.read_bytes(), [identity])

    # Each imports its own from the one stick, and leaves the other's for its readers.
    reports = {r.head: r.status for r in network.receive("ngo", stick)}
    assert reports == {restricted.head: "imported", full.head: "not for us"}
    assert_identity_withheld(ngo, case)
    assert secrets_in(database_text(ngo)) == []
    reports = {r.head: r.status for r in network.receive("liaison", stick)}
    assert reports == {full.head: "imported", restricted.head: "not for us"}
    person = queries.get(liaison.conn, Person, case.person_id)
    assert {name: getattr(person, name) for name in IDENTITY} == IDENTITY
    reports = {r.head: r.status for r in network.receive("dressa", stick)}
    assert reports == {full.head: "imported", restricted.head: "not for us"}


def test_separate_bundles_give_the_liaison_and_the_ngo_what_each_may_see(
    network: Network,
) -> None:
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case = sensitive_case(kabora)
    network.share("kabora", case.case_id, "liaison", "ngo")
    to_ngo = network.export("kabora", "ngo")
    assert secrets_in(open_bundle(to_ngo, network.ws["ngo"]).everything) == []
    assert network.receive("ngo", to_ngo.head)[0].status == "imported"
    assert_identity_withheld(network.ws["ngo"], case)
    assert network.send("kabora", "liaison").status == "imported"
    person = queries.get(liaison.conn, Person, case.person_id)
    assert person.legal_name == LEGAL_NAME


def test_the_senders_changesets_hold_commitments_and_its_records_the_values(
    network: Network,
) -> None:
    kabora = network.ws["kabora"]
    case = sensitive_case(kabora)
    rows = kabora.conn.execute("SELECT id, body FROM changesets").fetchall()
    bodies = b"\n".join(bytes(body) for _, body in rows)
    assert secrets_in(bodies) == []
    assert PSEUDONYM.encode() in bodies and OPEN_NOTE.encode() in bodies

    # Each sealed field is a commitment to the value kept beside it, locally.
    sealed = {
        (str(cs), int(index), str(name)): (bytes(salt), str(value))
        for cs, index, name, salt, value in kabora.conn.execute(
            "SELECT changeset_id, op_index, field, salt, value FROM sealed_values"
        )
    }
    checked = set()
    for cs_id, body in rows:
        for index, op in enumerate(decode(bytes(body)).ops):
            for name, digest in op.sealed.items():
                salt, stored = sealed[(str(cs_id), index, name)]
                value = canonical.decode(stored.encode())
                assert commit(salt, value) == digest
                assert name not in op.fields
                checked.add(value)
    assert checked == {*PROTECTED_VALUES, *PRIVILEGED_VALUES}

    person = queries.get(kabora.conn, Person, case.person_id)
    assert {name: getattr(person, name) for name in IDENTITY} == IDENTITY
    assert queries.get(kabora.conn, Note, case.privileged_note).text == PRIVILEGED_NOTE
    assert queries.get(kabora.conn, Note, case.protected_note).text == PROTECTED_NOTE


def test_a_later_edit_of_a_protected_identity_never_reaches_the_ngo(network: Network) -> None:
    kabora, ngo, liaison = network.ws["kabora"], network.ws["ngo"], network.ws["liaison"]
    case = sensitive_case(kabora)
    network.share("kabora", case.case_id, "ngo", "liaison")
    assert network.send("kabora", "ngo").status == "imported"
    network.send("ngo", "kabora")  # acknowledgement: the next bundle carries only news

    renamed = "Zuleyka Quennell-Ashford"
    moved = "Haverwick Cottages 3, Oshtara"
    cases.update_record(kabora, Person, case.person_id, legal_name=renamed, home_location=moved)
    cases.update_record(kabora, Person, case.person_id, languages="Varosan, French")
    result = network.export("kabora", "ngo")
    assert result.changesets == 1  # the projection of the case: only what changed for it
    bundle = open_bundle(result, ngo)
    assert secrets_in(bundle.everything) == []
    assert leaks(bundle.everything, [renamed, moved, "Ashford", "Cottages"]) == []
    assert b"Varosan, French" in bundle.payload  # the open edit does travel
    assert network.receive("ngo", result.head)[0].status == "imported"
    assert_identity_withheld(ngo, case)
    assert queries.get(ngo.conn, Person, case.person_id).languages == "Varosan, French"
    assert leaks(database_text(ngo), [renamed, moved]) == []

    # The liaison, sent the whole history once, holds the newest identity.
    assert network.send("kabora", "liaison").status == "imported"
    person = queries.get(liaison.conn, Person, case.person_id)
    assert (person.legal_name, person.home_location) == (renamed, moved)


def test_a_note_created_privileged_never_leaves_the_office(network: Network) -> None:
    """Not to an NGO, not to a liaison, not even to another office; edits of its text and
    repeated bundles change nothing. The NGO does not even learn that the note exists."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case with work product")
    note_id = cases.add_note(kabora, case_id, PRIVILEGED_NOTE, klass="privileged")
    second = "Second draft: Xylocarp applies to the Tamberlyn brigade as well"
    kabora.commit(case_id, [Draft("note", note_id, "update", {"text": second})])
    for peer in ("ngo", "liaison", "dressa"):
        network.share("kabora", case_id, peer)
        result = network.export("kabora", peer)
        bundle = open_bundle(result, network.ws[peer])
        assert secrets_in(bundle.everything) == [], peer
        assert leaks(bundle.everything, [second]) == [], peer
        assert revealed_fields(bundle) == set(), peer
        assert network.receive(peer, result.head)[0].status == "imported"
        if peer == "ngo":
            assert note_id.encode() not in bundle.everything
            assert notes_held(network.ws[peer], case_id) == set()
        else:
            held = queries.get(network.ws[peer].conn, Note, note_id)
            assert (held.text, held.klass) == ("", "privileged"), peer
        assert secrets_in(database_text(network.ws[peer])) == [], peer
    assert queries.get(kabora.conn, Note, note_id).text == second


def test_a_note_reclassified_from_open_to_privileged_keeps_its_old_text_in_history(
    network: Network,
) -> None:
    """Documents the limit of reclassification. A note's text is sealed by the class the
    note has when the text is written. Text written while the note was open is in a signed
    changeset body, which is forwarded unchanged to full-trust peers: it cannot be recalled
    from peers that have it, and it still travels to any office or liaison the case is
    shared with later (here a liaison, shared after the note became privileged). What is
    written after the change is sealed, and peers show the note's text as withheld from
    then on. An NGO, which receives a projection, sees the note withdrawn: it keeps the
    early text it was given, and nothing written after."""
    kabora, ngo, liaison = network.ws["kabora"], network.ws["ngo"], network.ws["liaison"]
    case_id = cases.add_case(kabora, "Case")
    early = "Early thoughts on the Pellucid informant"
    note_id = cases.add_note(kabora, case_id, early)
    network.share("kabora", case_id, "ngo")
    assert network.send("kabora", "ngo").status == "imported"
    assert queries.get(ngo.conn, Note, note_id).text == early
    network.send("ngo", "kabora")

    kabora.commit(case_id, [Draft("note", note_id, "update", {"class": "privileged"})])
    kabora.commit(case_id, [Draft("note", note_id, "update", {"text": PRIVILEGED_NOTE})])
    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert secrets_in(bundle.everything) == []
    assert network.receive("ngo", result.head)[0].status == "imported"
    held = queries.get(ngo.conn, Note, note_id)
    assert (held.text, held.klass, held.withdrawn) == (early, "open", 1)
    # Not recalled: the early text stays in the NGO's copy of the signed history.
    assert early.encode() in database_text(ngo)
    assert secrets_in(database_text(ngo)) == []

    # A peer shared with only now still receives the early text, in the signed create op.
    network.share("kabora", case_id, "liaison")
    result = network.export("kabora", "liaison")
    bundle = open_bundle(result, liaison)
    assert early.encode() in bundle.payload
    assert secrets_in(bundle.everything) == []
    assert network.receive("liaison", result.head)[0].status == "imported"
    assert queries.get(liaison.conn, Note, note_id).text == ""


def test_a_liaison_forwarding_a_case_to_the_ngo_passes_on_no_protected_value(
    network: Network,
) -> None:
    kabora, liaison, ngo = network.ws["kabora"], network.ws["liaison"], network.ws["ngo"]
    case = sensitive_case(kabora)
    network.share("kabora", case.case_id, "liaison")
    assert network.send("kabora", "liaison").status == "imported"
    assert queries.get(liaison.conn, Person, case.person_id).legal_name == LEGAL_NAME

    network.share("liaison", case.case_id, "ngo")
    result = network.export("liaison", "ngo")
    assert result.changesets == 1  # the liaison's projection of the case, not Kabora's history
    bundle = open_bundle(result, ngo)
    assert secrets_in(bundle.everything) == []
    assert revealed_fields(bundle) == set()
    assert {decode(frame.body).origin for frame in bundle.frames} == {liaison.origin}
    assert bundle.manifest["introductions"] == []
    report = network.receive("ngo", result.head)[0]
    assert report.status == "imported" and report.quarantined == 0, report
    assert_identity_withheld(ngo, case)
    assert queries.get(ngo.conn, Note, case.open_note).text == OPEN_NOTE
    assert secrets_in(database_text(ngo)) == []


def test_a_peer_cannot_declassify_another_offices_privileged_note(network: Network) -> None:
    """The NGO never holds the note, so cannot even name it in an edit; a liaison, which
    holds it with the text withheld, marks it open: the text still never travels."""
    kabora, ngo, liaison = network.ws["kabora"], network.ws["ngo"], network.ws["liaison"]
    case_id = cases.add_case(kabora, "Case")
    note_id = cases.add_note(kabora, case_id, PRIVILEGED_NOTE, klass="privileged")
    network.share("kabora", case_id, "ngo", "liaison")
    assert network.send("kabora", "ngo").status == "imported"
    with pytest.raises(StorageError, match="not known here"):
        ngo.commit(case_id, [Draft("note", note_id, "update", {"class": "open"})])
    assert network.send("kabora", "liaison").status == "imported"
    # The liaison, which never saw the text, marks the note open and sends that back.
    liaison.commit(case_id, [Draft("note", note_id, "update", {"class": "open"})])
    assert network.send("liaison", "kabora").status == "imported"
    # The next bundles Kabora writes, for the NGO and for the liaison.
    result = network.export("kabora", "ngo")
    assert secrets_in(open_bundle(result, ngo).everything) == []
    result = network.export("kabora", "liaison")
    assert secrets_in(open_bundle(result, network.ws["liaison"]).everything) == []
