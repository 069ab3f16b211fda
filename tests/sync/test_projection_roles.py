"""What a peer receives of a case follows the role its signed grant gives it there, and a
partner's projection carries its own releases (never another partner's).

The role a person typed when adding the peer (`peers.role`) only narrows: a peer added as
an office but granted `ngo` in a case receives the NGO's projection of that case; a peer
added as an NGO but granted `office` by another member still receives only a projection
(sync.case_roles says why). Real workspaces, real bundles, each opened with the reader's
own key and searched for what it must not hold.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from storage import cases, queries
from storage.evidence import add_evidence
from storage.identity import generate
from storage.records import Case, Evidence, Incident, Person
from storage.releases import releases_of
from storage.workspace import Workspace
from sync import peers
from sync.cards import ContactCard
from sync.export import ExportResult, export_bundle, export_bundles, recipient_groups
from sync.releases import release_to
from tests.conftest import acting_as_officer
from tests.sync.conftest import Network, add_verified
from tests.sync.test_projection import (
    EARLY_NAME,
    EARLY_WORDS,
    assert_projection_only,
    blob_digests,
    frames_of,
    import_ok,
)
from tests.sync.test_redaction import database_text, leaks, open_bundle

DEFENCE_NAME = "Varosa Defence Chambers"


@dataclasses.dataclass
class TwoItems:
    """A case with a witness first recorded under her name, and two evidence items."""

    case_id: str
    person_id: str
    released: str
    unreleased: str
    released_bytes: bytes
    unreleased_bytes: bytes


def _case_with_two_items(ws: Workspace, tmp_path: Path) -> TwoItems:
    case_id = cases.add_case(ws, "Shelling of the Orvath market")
    person_id = cases.add_person(ws, case_id, "witness", name=EARLY_NAME)
    with acting_as_officer(ws):  # only a protection officer changes protection
        cases.update_record(ws, Person, person_id, protection="full", pseudonym="W-0700")
    contents = (b"drone footage Quenmarsh", b"intercept naming Pollendrake")
    paths = []
    for name, content in zip(("footage.mp4", "intercept.txt"), contents, strict=True):
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(path)
    released = add_evidence(ws, case_id, paths[0])
    unreleased = add_evidence(ws, case_id, paths[1])
    return TwoItems(case_id, person_id, released, unreleased, *contents)


def _grant(network: Network, holder: str, case_id: str, other: str, role: str) -> None:
    """`holder` grants `other` the case in `role`, whatever role it added `other` with."""
    peer = dataclasses.replace(network.peer(holder, other), role=role)
    peers.share_case(network.ws[holder], case_id, peer)


def _assert_only_the_released_item(
    network: Network, sender: str, reader: str, case: TwoItems
) -> ExportResult:
    """The bundle `sender` writes for `reader` is its projection: the released item and
    its bytes, no unreleased item, no early name. Returns the export result."""
    result = network.export(sender, reader)
    bundle = open_bundle(result, network.ws[reader])
    assert_projection_only(bundle, network.ws[sender], network.ws[reader])
    hidden = [case.unreleased, case.unreleased_bytes.decode(), "Pollendrake", *EARLY_WORDS]
    hidden.append(hashlib.sha256(case.unreleased_bytes).hexdigest())
    assert leaks(bundle.everything, hidden) == []
    assert blob_digests(bundle) == [hashlib.sha256(case.released_bytes).hexdigest()]
    assert leaks(bundle.payload, [case.released, "W-0700"]) != []  # positive control
    return result


def test_peer_typed_office_locally_but_granted_ngo_gets_only_released_items(
    network: Network, tmp_path: Path
) -> None:
    """Kabora added Dressa as an office, but granted it this case as an NGO: Dressa gets
    the NGO's projection of the case, never its raw history."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case = _case_with_two_items(kabora, tmp_path)
    assert network.peer("kabora", "dressa").role == "office"
    _grant(network, "kabora", case.case_id, "dressa", "ngo")
    release_to(kabora, case.released, network.peer("kabora", "dressa").peer_id)

    result = _assert_only_the_released_item(network, "kabora", "dressa", case)

    import_ok(network, "dressa", result.head)
    held = {str(r[0]) for r in dressa.conn.execute("SELECT id FROM evidence")}
    assert held == {case.released}
    assert queries.get(dressa.conn, Person, case.person_id).legal_name == ""
    assert leaks(database_text(dressa), [EARLY_NAME, *EARLY_WORDS, "Pollendrake"]) == []
    from_kabora = dressa.conn.execute(
        "SELECT DISTINCT author FROM changesets WHERE origin = ?", (kabora.origin,)
    ).fetchall()
    assert [str(r[0]) for r in from_kabora] == [f"projection for {dressa.origin}"]


def test_the_export_summary_says_which_cases_an_office_receives_as_a_partner(
    network: Network, tmp_path: Path
) -> None:
    """Dressa, added as an office but granted one case as an NGO, gets that case as a
    projection: the summary a person reads after writing its bundle says so, rather than
    only "full identities"."""
    kabora = network.ws["kabora"]
    case = _case_with_two_items(kabora, tmp_path)
    dressa = network.peer("kabora", "dressa")
    run = export_bundles(kabora, [dressa], tmp_path / "out")
    assert run.summary() == "Wrote a bundle for Dressa field office (full identities)."

    _grant(network, "kabora", case.case_id, "dressa", "ngo")
    run = export_bundles(kabora, [dressa], tmp_path / "out-2")
    assert run.summary() == (
        "Wrote a bundle for Dressa field office (full identities; pseudonyms only in the"
        " case it is granted as a partner)."
    )


def test_peer_typed_ngo_locally_but_granted_office_by_a_member_gets_only_a_projection(
    network: Network, tmp_path: Path
) -> None:
    """Dressa (a full-trust member) grants the NGO `office` in Kabora's case. Kabora's
    people added that key as an NGO: the stricter role decides what Kabora sends it, so it
    still receives only the projection, while its changes are judged by the signed grant."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case = _case_with_two_items(kabora, tmp_path)
    release_to(kabora, case.released, network.peer("kabora", "ngo").peer_id)
    network.share("kabora", case.case_id, "dressa", "ngo")
    import_ok(network, "dressa", network.export("kabora", "dressa").head)
    _grant(network, "dressa", case.case_id, "ngo", "office")
    import_ok(network, "kabora", network.export("dressa", "kabora").head)
    granted = kabora.conn.execute(
        "SELECT role FROM case_grants WHERE grantee = ? ORDER BY created_hlc DESC LIMIT 1",
        (ngo.origin,),
    ).fetchone()[0]
    assert granted == "office"

    result = _assert_only_the_released_item(network, "kabora", "ngo", case)

    import_ok(network, "ngo", result.head)
    assert {str(r[0]) for r in ngo.conn.execute("SELECT id FROM evidence")} == {case.released}
    # What it writes is judged by the grant: an office may add an incident (so may an NGO)
    # and retitle the case (an NGO may not); Kabora applies both.
    cases.update_case(ngo, case.case_id, title="Retitled by the NGO as office")
    report = network.send("ngo", "kabora")
    assert report.status == "imported" and report.quarantined == 0, report
    assert queries.get(kabora.conn, Case, case.case_id).title == "Retitled by the NGO as office"


def test_a_grant_changed_from_ngo_to_defence_keeps_what_was_projected_and_follows_the_new_role(
    network: Network, tmp_path: Path
) -> None:
    """An item released to every NGO and one released to every defence peer: granted as
    an NGO, the peer gets the first; granted as defence later, it keeps what it was given
    (the first item withdrawn there, its file still held), gets the second, and its
    changes are judged as defence's."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case = _case_with_two_items(kabora, tmp_path)
    release_to(kabora, case.released, "ngo")
    release_to(kabora, case.unreleased, "defence")
    network.share("kabora", case.case_id, "ngo")
    import_ok(network, "ngo", network.export("kabora", "ngo").head)
    assert {str(r[0]) for r in ngo.conn.execute("SELECT id FROM evidence")} == {case.released}
    network.send("ngo", "kabora")

    _grant(network, "kabora", case.case_id, "ngo", "defence")
    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert blob_digests(bundle) == [hashlib.sha256(case.unreleased_bytes).hexdigest()]
    import_ok(network, "ngo", result.head)

    assert queries.get(ngo.conn, Evidence, case.released).withdrawn == 1
    assert queries.get(ngo.conn, Evidence, case.unreleased).withdrawn == 0
    shas = {str(r[0]) for r in ngo.conn.execute("SELECT sha256 FROM blobs")}
    assert shas == {
        hashlib.sha256(c).hexdigest() for c in (case.released_bytes, case.unreleased_bytes)
    }
    grants = [op for cs in frames_of(bundle) for op in cs.ops if op.entity == "grant"]
    assert [op.fields.get("role") for op in grants] == ["defence"]

    # Defence writes nothing into Kabora's case: its next incident is held back there.
    incident = cases.add_incident(ngo, case.case_id, "Account written after the regrant")
    report = network.send("ngo", "kabora")
    assert report.quarantined == 1, report
    assert "defence writes nothing into a case it does not own" in report.quarantine_reasons[0]
    assert (
        kabora.conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident,)).fetchone() is None
    )


# -- releases in the projection ---------------------------------------------------------------


def _defence_installation(network: Network) -> peers.Peer:
    """A defence peer of Kabora's, verified (its bundle can be written), with fresh keys."""
    keys = generate()
    card = ContactCard(
        DEFENCE_NAME, "defence", keys.signing_public, keys.encryption_public, "2027-01-01"
    )
    return add_verified(network.ws["kabora"], card, "defence")


def test_partner_sees_its_release_and_its_receipt_is_applied_at_the_office(
    network: Network, tmp_path: Path
) -> None:
    """Kabora releases an item to the NGO and to a defence team and writes the defence
    its bundle. The NGO's projection carries its own release (its custody shows it, signed
    by Kabora as the NGO verified it), and nothing of the defence's: neither its release,
    nor the bundle Kabora sent it. The NGO's receipt comes back and joins Kabora's chain."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case = _case_with_two_items(kabora, tmp_path)
    defence = _defence_installation(network)
    release_to(kabora, case.released, network.peer("kabora", "ngo").peer_id)
    release_to(kabora, case.released, defence.peer_id)
    peers.share_case(kabora, case.case_id, defence)
    export_bundle(kabora, [defence], network.new_stick())  # "sent in bundle" to the defence
    defence_release = next(
        r for r in releases_of(kabora.conn, case.released) if r.grantee_origin == defence.origin
    )
    network.share("kabora", case.case_id, "ngo")

    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert (
        leaks(bundle.everything, [DEFENCE_NAME, "Defence", defence.origin, defence_release.id])
        == []
    )
    assert leaks(bundle.payload, ["released to Varosa Documentation Project"]) != []
    import_ok(network, "ngo", result.head)

    [own_release] = releases_of(ngo.conn, case.released)
    assert (own_release.grantee_origin, own_release.withdrawn) == (ngo.origin, 0)
    chain = queries.custody_of(ngo.conn, case.released)
    released = [e for e in chain if e.event == "released"]
    assert len(released) == 1
    assert released[0].signer.startswith("Kabora field office (office, ")
    receipts = [e for e in chain if e.event == "received in bundle"]
    assert len(receipts) == 1  # recorded on import: the release is there to allow it

    report = network.send("ngo", "kabora")
    assert report.status == "imported" and report.quarantined == 0, report
    at_kabora = {e.id: e for e in queries.custody_of(kabora.conn, case.released)}
    assert receipts[0].id in at_kabora
    assert at_kabora[receipts[0].id].signer.startswith("Varosa Documentation Project (ngo, ")
    assert not kabora.conn.execute("SELECT 1 FROM quarantine").fetchone()


def test_office_granted_ngo_in_one_case_gets_that_case_projected_and_the_other_raw(
    network: Network, tmp_path: Path
) -> None:
    """Dressa, an office, is granted one of Kabora's cases as an NGO and another as an
    office: its bundle carries the first as Kabora's projection and the second as raw
    history, and it shares no bundle with the liaison (the projection is its own)."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    restricted = _case_with_two_items(kabora, tmp_path)
    _grant(network, "kabora", restricted.case_id, "dressa", "ngo")
    release_to(kabora, restricted.released, network.peer("kabora", "dressa").peer_id)
    open_case = cases.add_case(kabora, "Joint investigation of the Brellin crossing")
    cases.add_incident(kabora, open_case, "Crossing closed at dawn")
    network.share("kabora", open_case, "dressa", "liaison")

    groups = recipient_groups(
        kabora, [network.peer("kabora", "dressa"), network.peer("kabora", "liaison")]
    )
    assert [[p.office_name for p in group] for group in groups] == [
        ["Dressa field office"],
        ["Tribunal liaison"],
    ]
    result = network.export("kabora", "dressa")
    bundle = open_bundle(result, dressa)
    by_case: dict[str, set[str]] = {}
    for cs in frames_of(bundle):
        by_case.setdefault(cs.case_id, set()).add(cs.author)
    assert by_case[restricted.case_id] == {f"projection for {dressa.origin}"}
    assert f"projection for {dressa.origin}" not in by_case[open_case]
    hidden = [restricted.unreleased, "Pollendrake", *EARLY_WORDS]
    assert leaks(bundle.everything, hidden) == []

    import_ok(network, "dressa", result.head)
    held = {str(r[0]) for r in dressa.conn.execute("SELECT id FROM evidence")}
    assert held == {restricted.released}
    assert queries.in_case(dressa.conn, Incident, open_case)[0].title == "Crossing closed at dawn"
