"""A partner's bundle carrying a change it had no right to make, brought in from a stick
through the Sync centre of the real `valise` process, then read in Held back (Ctrl+Shift+H),
all with real keys. The workspaces and the bundle are prepared before `valise` starts: the
NGO, granted Kabora's case, renames it (only the case's offices may) and writes a bundle for
Kabora onto a stick."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from storage import cases, queries
from storage.records import Case
from sync import peers
from sync.export import export_bundle
from sync.importer import import_paths
from tests.e2e.steps import (
    KABORA,
    MAIN,
    NGO,
    Shot,
    assert_windows,
    fresh_folder,
    know_each_other,
    new_office,
    quit_with_ctrl_q,
    reopen,
    unlock,
)
from tests.e2e.x11 import ValiseApp, XSession

CASE_TITLE = "Shelling of the Kabora market"
RENAMED = "A staged incident"
CHOOSE_FOLDER = r"^Choose a stick or folder with bundles"


def prepare_a_held_back_change(tmp_path: Path) -> tuple[Path, Path, str]:
    """Kabora's folder, a stick holding the NGO's bundle that renames Kabora's case, and
    the case's id."""
    kabora = new_office(tmp_path / "kabora", KABORA, "KAB")
    ngo = new_office(tmp_path / "ngo", NGO)
    partner = know_each_other(kabora, ngo, "ngo")
    case_id = cases.add_case(kabora, CASE_TITLE)
    peers.share_case(kabora, case_id, partner)
    to_ngo = fresh_folder(tmp_path, "to-ngo")
    export_bundle(kabora, [partner], to_ngo)
    [report] = import_paths(ngo, [to_ngo])
    assert report.status == "imported", report.message
    cases.update_case(ngo, case_id, title=RENAMED)
    stick = fresh_folder(tmp_path, "stick")
    kabora_at_ngo = peers.peer_by_origin(ngo, kabora.origin)
    assert kabora_at_ngo is not None
    export_bundle(ngo, [kabora_at_ngo], stick)
    folder = kabora.paths.root
    kabora.close()
    ngo.close()
    return folder, stick, case_id


def test_a_bundle_with_a_forbidden_change_is_imported_and_the_change_shown_held_back(
    x_session: XSession, start_valise: Callable[[Path], ValiseApp], shot: Shot, tmp_path: Path
) -> None:
    x = x_session
    folder, stick, case_id = prepare_a_held_back_change(tmp_path)
    app = start_valise(folder)
    unlock(x, app)

    # Sync › Sync centre (Ctrl+Shift+S), Alt+C to choose the stick: its path typed into
    # the folder chooser, Enter; the bundle is listed and checked; Space on Import.
    x.key("ctrl+shift+s")
    shot("sync-centre")
    x.key("alt+c")
    app.wait_for_window(CHOOSE_FOLDER)
    assert_windows(app, MAIN, CHOOSE_FOLDER)
    x.key("ctrl+a")
    x.type_text(str(stick))
    shot("folder-typed")
    x.key("Return")
    app.wait_until_gone(CHOOSE_FOLDER)
    app.wait_for_window(MAIN)
    shot("bundle-listed")
    x.key("space")  # the keys moved on to Import once the listing ended
    shot("imported")

    # Held back (Ctrl+Shift+H): who, what, why; Enter on the row opens the case.
    x.key("ctrl+shift+h")
    shot("held-back")
    x.key("Return")
    shot("case-opened")
    quit_with_ctrl_q(x, app)

    with reopen(folder) as ws:
        assert queries.get(ws.conn, Case, case_id).title == CASE_TITLE
        [(reason,)] = ws.conn.execute("SELECT reason FROM quarantine").fetchall()
        assert reason.startswith(f"Held back: {NGO} (ngo, ")
        assert "may not change" in reason
