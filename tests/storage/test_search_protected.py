"""A search hit never shows whom a pseudonym hides: a protected person can be found by
name (is this witness already in another case?) but the hit shows the pseudonym alone."""

from __future__ import annotations

from storage import cases, migrations
from storage.records import Person
from storage.search import SearchHit, search_results
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


def test_protecting_a_person_takes_the_name_out_of_what_hits_show(ws: Workspace) -> None:
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
