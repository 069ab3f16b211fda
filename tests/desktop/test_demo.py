"""The Varosa demo: built once from the real data file with the real key derivation, then
checked the way a person trying Valise would meet it (the liaison holds both offices' shared
cases and one conflict) and the way a trainer would break it (a malformed data file)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from desktop.commands import demo_cmd
from desktop.demo import (
    DEMO_PASSPHRASE,
    MARKER,
    DemoDataError,
    DemoError,
    build_demo,
    default_data_file,
    evidence_bytes,
    load_demo,
)
from storage import evidence, keyfile, queries
from storage.consent import current_consent
from storage.keyfile import STANDARD_KDF
from storage.paths import WorkspacePaths
from storage.records import Note, Person
from storage.workspace import Workspace, open_workspace
from sync import conflicts

DATA: dict[str, Any] = json.loads(default_data_file().read_text("utf-8"))
BY_KEY = {inst["key"]: inst for inst in DATA["installations"]}
OFFICES = [inst for inst in DATA["installations"] if inst["role"] == "office"]
LIAISON = next(inst for inst in DATA["installations"] if inst["role"] == "liaison")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo folder, built once for this module."""
    folder = tmp_path_factory.mktemp("demo") / "varosa"
    liaison = build_demo(folder, DEMO_PASSPHRASE)
    assert liaison == folder / LIAISON["key"]
    return folder


def opened(folder: Path) -> Workspace:
    return open_workspace(folder, DEMO_PASSPHRASE)


def shared_cases(inst: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in inst["cases"] if LIAISON["key"] in c.get("shared_with", [])]


def office_case_ids(folder: Path, inst: dict[str, Any]) -> dict[str, str]:
    """JSON case key -> case id, read at the office (titles as the office shows them)."""
    title_of = {c["key"]: c["title"] for c in inst["cases"]}
    if DATA["conflict"]["office"] == inst["key"]:
        title_of[DATA["conflict"]["case"]] = DATA["conflict"]["office_value"]
    with opened(folder / inst["key"]) as ws:
        by_title = {c.title: c.id for c in queries.list_cases(ws.conn)}
    return {key: by_title[title] for key, title in title_of.items()}


def test_every_workspace_opens_with_the_passphrase_and_the_standard_kdf(demo: Path) -> None:
    assert (demo / MARKER).is_file()
    for inst in DATA["installations"]:
        root = demo / inst["key"]
        assert keyfile.read(WorkspacePaths(root).keyfile).kdf == STANDARD_KDF
        with opened(root) as ws:
            assert ws.office_name == inst["office_name"]
            assert ws.office_code == inst["office_code"]
            assert ws.meta("situation") == DATA["situation"]
            received = sum(len(shared_cases(o)) for o in OFFICES) if inst is LIAISON else 0
            assert len(queries.list_cases(ws.conn)) == len(inst["cases"]) + received
            assert ws.verify_audit().ok


def test_the_liaison_holds_both_offices_shared_cases_and_one_open_conflict(demo: Path) -> None:
    expected: set[str] = set()
    unshared: set[str] = set()
    for inst in OFFICES:
        ids = office_case_ids(demo, inst)
        shared = {c["key"] for c in shared_cases(inst)}
        expected |= {ids[key] for key in shared}
        unshared |= {ident for key, ident in ids.items() if key not in shared}
    assert unshared, "the data keeps one case at home (an ongoing investigation)"
    with opened(demo / LIAISON["key"]) as ws:
        held = {c.id: c for c in queries.list_cases(ws.conn)}
        assert expected <= set(held)
        assert not unshared & set(held)
        offices = {c.lead_office for c in held.values()}
        assert {inst["office_name"] for inst in OFFICES} <= offices
        assert LIAISON["cases"][0]["reference"] in {c.reference for c in held.values()}
        [conflict] = conflicts.list_conflicts(ws)
    spec = DATA["conflict"]
    assert conflict.status == "open"
    assert conflict.entity == "case" and conflict.field == spec["field"]
    assert conflict.entity_id == office_case_ids(demo, BY_KEY[spec["office"]])[spec["case"]]
    assert {conflict.shown_value, conflict.other_value} == {
        spec["office_value"],
        spec["liaison_value"],
    }


def test_protected_witnesses_reach_the_liaison_by_pseudonym_with_their_identity(
    demo: Path,
) -> None:
    wanted = {
        person["pseudonym"]: person
        for inst in OFFICES
        for case in shared_cases(inst)
        for person in case.get("persons", [])
        if person.get("protection", "none") != "none"
    }
    assert len(wanted) >= 4
    with opened(demo / LIAISON["key"]) as ws:
        protected = {
            p.pseudonym: p
            for case in queries.list_cases(ws.conn)
            for p in queries.in_case(ws.conn, Person, case.id)
            if p.is_protected
        }
    assert set(wanted) <= set(protected)
    for pseudonym, spec in wanted.items():
        person = protected[pseudonym]
        assert person.display_name == pseudonym
        assert person.protection == spec["protection"]
        assert person.legal_name == spec["legal_name"]  # identities reach a liaison


def test_structured_consent_reaches_the_liaison(demo: Path) -> None:
    """W-0042 gave consent to the tribunal and refused partners: the liaison reads the same
    decisions, with when and by whom."""
    with opened(demo / LIAISON["key"]) as ws:
        (witness,) = [
            p
            for case in queries.list_cases(ws.conn)
            for p in queries.in_case(ws.conn, Person, case.id)
            if p.pseudonym == "W-0042"
        ]
        standing = current_consent(ws.conn, witness.id)
    assert standing["tribunal"].decision == "given"
    assert standing["partners"].decision == "refused"
    assert standing["partners"].when_and_by() == "recorded 2027-03-20 by N. Tesh"


def test_privileged_notes_stay_at_the_office_and_protected_ones_travel(demo: Path) -> None:
    notes = {
        klass: {
            n["text"]
            for inst in OFFICES
            for case in shared_cases(inst)
            for n in case.get("notes", [])
            if n["class"] == klass
        }
        for klass in ("open", "protected", "privileged")
    }
    assert all(notes.values()), "the data has notes of every class"
    with opened(demo / LIAISON["key"]) as ws:
        texts = {
            n.text
            for case in queries.list_cases(ws.conn)
            for n in queries.in_case(ws.conn, Note, case.id)
        }
    assert notes["open"] | notes["protected"] <= texts
    assert not notes["privileged"] & texts


def test_evidence_arrived_whole_and_the_generated_files_are_real_images_and_pdfs(
    demo: Path,
) -> None:
    with opened(demo / LIAISON["key"]) as ws:
        results = evidence.verify_all(ws, record=False)
    count = sum(len(c.get("evidence", [])) for inst in OFFICES for c in shared_cases(inst))
    assert len(results) >= count
    assert all(r.ok for r in results), [r.problem for r in results if not r.ok]
    contents = [
        item["content"]
        for inst in DATA["installations"]
        for case in inst["cases"]
        for item in case.get("evidence", [])
    ]
    kinds = {content["kind"] for content in contents}
    assert kinds == {"text", "png", "pdf"}
    for content in contents:
        data = evidence_bytes(content)
        if content["kind"] == "png":
            image = QImage.fromData(data, "PNG")
            assert (image.width(), image.height()) == (content["width"], content["height"])
        elif content["kind"] == "pdf":
            assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
            offset = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
            assert data[offset:].startswith(b"xref")


def test_building_twice_is_refused_without_replace(demo: Path) -> None:
    before = sorted(p.name for p in demo.iterdir())
    with pytest.raises(DemoError, match="already exists"):
        build_demo(demo, DEMO_PASSPHRASE)
    assert sorted(p.name for p in demo.iterdir()) == before


def test_replace_builds_a_fresh_demo_and_prints_nothing(
    demo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "varosa"
    shutil.copytree(demo, copy)
    with opened(copy / LIAISON["key"]) as ws:
        old_origin = ws.origin
    capfd.readouterr()
    liaison = build_demo(copy, DEMO_PASSPHRASE, replace=True)
    assert capfd.readouterr() == ("", "")
    with opened(liaison) as ws:
        assert ws.origin != old_origin
        assert len(conflicts.list_conflicts(ws)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["varosa"]  # no leftovers


def test_a_folder_that_is_not_a_demo_is_never_replaced(tmp_path: Path) -> None:
    precious = tmp_path / "papers" / "precious.txt"
    precious.parent.mkdir()
    precious.write_text("keep me")
    with pytest.raises(DemoError, match="holds no Valise demo"):
        build_demo(precious.parent, DEMO_PASSPHRASE, replace=True)
    assert precious.read_text() == "keep me"


def test_the_shipped_data_file_validates() -> None:
    data = load_demo()
    assert data["format"] == "valise-demo/1"
    assert "FICTIONAL" in data["notice"]


def bad_copy(tmp_path: Path, change: Any) -> Path:
    """The shipped data with one change applied, written to a file."""
    doc = json.loads(default_data_file().read_text("utf-8"))
    change(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), "utf-8")
    return path


def set_role(doc: dict[str, Any]) -> None:
    doc["installations"][0]["cases"][0]["persons"][0]["role"] = "bystander"


def drop_title(doc: dict[str, Any]) -> None:
    del doc["installations"][1]["cases"][0]["title"]


def dangling_link(doc: dict[str, Any]) -> None:
    doc["installations"][0]["cases"][0]["evidence"][0]["links"][0]["to"] = "nowhere"


def two_liaisons(doc: dict[str, Any]) -> None:
    doc["installations"][0]["role"] = "liaison"


def unknown_field(doc: dict[str, Any]) -> None:
    doc["installations"][0]["cases"][0]["colour"] = "red"


def bad_consent_audience(doc: dict[str, Any]) -> None:
    doc["installations"][0]["cases"][0]["persons"][0]["consents"][1]["audience"] = "friends"


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (set_role, ("installations[0].cases[0].persons[0].role", "'bystander'", "witness")),
        (drop_title, ("installations[1].cases[0]", "missing", "title")),
        (dangling_link, ("installations[0].cases[0].evidence[0].links[0].to", "nowhere")),
        (two_liaisons, ("exactly one", "liaison")),
        (unknown_field, ("installations[0].cases[0]", "unknown field", "colour")),
        (
            bad_consent_audience,
            ("installations[0].cases[0].persons[0].consents[1].audience", "'friends'"),
        ),
    ],
)
def test_a_malformed_data_file_is_refused_with_its_place(
    tmp_path: Path, change: Any, needles: tuple[str, ...]
) -> None:
    path = bad_copy(tmp_path, change)
    with pytest.raises(DemoDataError) as caught:
        build_demo(tmp_path / "demo", DEMO_PASSPHRASE, data_file=path)
    message = str(caught.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message
    assert not (tmp_path / "demo").exists()


def test_a_file_that_is_not_json_is_refused_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": "valise-demo/1",\n  "situation": }\n', "utf-8")
    with pytest.raises(DemoDataError, match=r"not valid JSON \(line 2, column"):
        load_demo(path)
    with pytest.raises(DemoDataError, match="cannot read"):
        load_demo(tmp_path / "missing.json")


def test_a_value_storage_refuses_is_reported_with_its_place_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    def bad_date(doc: dict[str, Any]) -> None:
        doc["installations"][0]["cases"][0]["incidents"][0]["date_from"] = "2027-13-45"

    path = bad_copy(tmp_path, bad_date)
    with pytest.raises(DemoDataError) as caught:
        build_demo(tmp_path / "demo", DEMO_PASSPHRASE, data_file=path)
    assert "installations[0].cases[0].incidents[0]" in str(caught.value)
    assert "2027-13-45" in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_the_command_reopens_an_existing_demo_and_prints_the_passphrase(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="valise")
    demo_cmd.register(parser.add_subparsers(), argparse.ArgumentParser(add_help=False))
    args = parser.parse_args(["demo", "--folder", str(demo), "--no-start"])
    assert args.run(args) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(demo / LIAISON["key"])
    assert "DEMO ONLY" in err and DEMO_PASSPHRASE in err and "fictional" in err


def test_the_demo_command_starts_the_application_on_the_liaison(
    qapp, demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.desktop.test_gui import Person
    from ui.conflicts_view import ConflictsView
    from ui.dialogs.unlock import UnlockDialog
    from ui.main_window import MainWindow

    seen: dict[str, object] = {}

    def unlock(dialog: UnlockDialog) -> None:
        dialog.passphrase_edit.setText(DEMO_PASSPHRASE)
        dialog.unlock_button.click()

    def look_and_quit(window: MainWindow) -> None:
        seen["title"] = window.windowTitle()
        seen["cases"] = window.model.total if window.model else 0
        window.show_conflicts()
        seen["conflicts"] = window.findChild(ConflictsView).model.rowCount()
        window.quit_action.trigger()

    person = Person([(UnlockDialog, unlock), (MainWindow, look_and_quit)])
    person.start()
    args = argparse.Namespace(folder=str(demo), rebuild=False, no_start=False)
    assert demo_cmd.cmd_demo(args) == 0
    assert person.seen == ["UnlockDialog", "MainWindow"]
    assert seen["title"] == f"{LIAISON['office_name']} — Valise"
    assert seen["conflicts"] == 1
    assert "DEMO ONLY" in capsys.readouterr().err
    with opened(demo / LIAISON["key"]) as ws:  # the application let go of it
        assert (
            seen["cases"]
            == queries.count_cases(ws.conn)
            >= sum(len(shared_cases(inst)) for inst in OFFICES)
        )
