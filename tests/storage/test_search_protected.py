"""A search hit never shows whom a pseudonym hides: a protected person can be found by
name (is this witness already in another case?) but the hit shows the pseudonym alone."""

from __future__ import annotations

from pathlib import Path

from storage import cases, migrations
from storage.entities import ENTITIES
from storage.evidence import add_evidence
from storage.records import Person
from storage.search import SearchHit, reindex, search_results
from storage.workspace import Workspace


def _hits(ws: Workspace, text: str) -> list[SearchHit]:
    return search_results(ws.conn, text, 50).hits


def _shown(ws: Workspace, text: str) -> list[str]:
    return [f"{hit.entity} {hit.title} {hit.snippet}".strip() for hit in _hits(ws, text)]


def test_a_protected_person_is_found_by_name_but_shown_by_pseudonym(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling of the market")
    cases.add_person(
        ws,
        case_id,
        "witness",
        name="Amina Kofi",
        protected=True,
        pseudonym="W-0042",
        aliases="Mama Ama",
    )
    cases.add_person(ws, case_id, "expert", name="Lena Marsh")
    for text in ("Amina", "Kofi", "Mama", "W-0042"):
        assert _shown(ws, text) == ["person W-0042"], text
    [expert] = _hits(ws, "Marsh")
    assert expert.title == "Lena Marsh" and "[Marsh]" in expert.snippet  # not protected


def test_protecting_a_person_takes_the_name_out_of_what_hits_show(officer_ws: Workspace) -> None:
    ws = officer_ws  # only a protection officer changes protection
    case_id = cases.add_case(ws, "Shelling of the market")
    person = cases.add_person(ws, case_id, "victim", name="Ben Okafor")
    assert [hit.title for hit in _hits(ws, "Okafor")] == ["Ben Okafor"]
    cases.update_record(ws, Person, person, protection="full", pseudonym="V-0001")
    assert _shown(ws, "Okafor") == ["person V-0001"]


def test_the_migration_rewrites_index_rows_written_before_it(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling of the market")
    person = cases.add_person(ws, case_id, "witness", name="Amina Kofi", protected=True)
    # As the index was before schema 6: the legal name in the title.
    ws.conn.execute(
        "UPDATE search_index SET title = 'W-0001 Amina Kofi', body = 'witness'"
        " WHERE rowid = (SELECT rowid FROM search_docs WHERE entity_id = ?)",
        (person,),
    )
    assert [hit.title for hit in _hits(ws, "Kofi")] == ["W-0001 Amina Kofi"]
    [step] = [m for m in migrations.available() if m.name == "search_without_protected_identities"]
    ws.conn.executescript(step.sql)
    assert _shown(ws, "Kofi") == ["person W-0001"]
    assert _shown(ws, "W-0001") == ["person W-0001"]


def _index_rows(ws: Workspace) -> dict[str, tuple[str, str, str, str]]:
    rows = ws.conn.execute(
        "SELECT d.entity_id, d.entity, d.case_id, i.title, i.body FROM search_docs d"
        " JOIN search_index i ON i.rowid = d.rowid"
    )
    return {str(r[0]): (str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows}


def test_a_new_record_is_indexed_as_reading_it_back_would_index_it(
    ws: Workspace, tmp_path: Path
) -> None:
    """Apply indexes a record it creates from the row it wrote (storage.search.index_new),
    not read back: the index rows must be the ones `reindex` writes from the table."""
    case_id = cases.add_case(ws, "Shelling of the market", "At dawn", location="Kabora")
    cases.add_person(ws, case_id, "witness", name="Amina Kofi", protected=True, aliases="Ama")
    cases.add_person(ws, case_id, "expert", name="Lena Marsh", aliases="L. M.")
    cases.add_incident(ws, case_id, "Market shelled", description="Three rounds", location="Souk")
    cases.add_element(ws, case_id, "Attack on civilians", "Civilians were the object")
    cases.add_note(ws, case_id, "Witness seen twice")
    exhibit = tmp_path / "map.txt"
    exhibit.write_text("a map")
    add_evidence(ws, case_id, exhibit, title="Map of the souk", source="Field team")
    written = _index_rows(ws)
    assert {kind for kind, *_ in written.values()} == {
        "case",
        "person",
        "incident",
        "element",
        "note",
        "evidence",
    }
    with ws.transaction() as conn:
        for entity_id, (kind, *_) in written.items():
            reindex(conn, ENTITIES[kind], entity_id)
    assert _index_rows(ws) == written
