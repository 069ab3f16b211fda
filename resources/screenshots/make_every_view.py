"""Take a screenshot of every view and dialog of the desktop application, at the window
sizes people have (1024×700, a small laptop, and 1920×1080), to look at each one for
clipped text, narrow columns, empty boxes and controls out of reach.

Run under Xvfb with a window manager, so windows are sized and decorated as on a desktop:

    Xvfb :99 -screen 0 2000x1200x24 & DISPLAY=:99 openbox &
    DISPLAY=:99 python resources/screenshots/make_every_view.py [--out DIR] [--sizes 1024x700]

The pictures go to DIR/<width>x<height>/ (default: a new temporary folder), each named after
the view. The window's title as the window manager shows it (`xdotool getwindowname`,
when xdotool is installed) is printed, since Qt appends the application's name to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from PySide6.QtWidgets import QDialog, QWidget

from desktop.demo import DEMO_PASSPHRASE, build_demo
from desktop.gui import _application
from storage import history
from storage.cases import add_note, update_case, update_record
from storage.keyfile import FAST_INSECURE_KDF
from storage.queries import in_case, list_cases
from storage.records import Element, Evidence, Incident, Person
from storage.workspace import create_workspace, open_workspace
from sync.cards import own_card
from sync.export import export_bundle
from sync.peers import list_peers
from ui.case_view import CaseView
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.element_form import ElementDraft, ElementForm
from ui.dialogs.incident_form import IncidentDraft, IncidentForm
from ui.dialogs.note_form import AddNoteDialog
from ui.dialogs.person_form import AddPersonDialog, EditPersonDialog
from ui.dialogs.release_form import ReleaseDialog, ReleaseTarget
from ui.dialogs.unlock import UnlockDialog
from ui.fonts import load_fonts
from ui.incoming_view import IncomingView
from ui.main_window import MainWindow
from ui.peers_view import AddPeerDialog
from ui.sync_center import SyncCenter


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the pictures")
    parser.add_argument("--sizes", default="1024x700,1920x1080", help="window sizes, WxH,…")
    return parser.parse_args()


args = parse_args()
out = args.out or Path(tempfile.mkdtemp(prefix="valise-views-"))
sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]

# The liaison's workspace of the Varosa demo, and a courier's stick from the Mirani office
# (as make_sync_views.py makes them).
history.SITTING_GAP = dt.timedelta(0)
demo = Path(tempfile.mkdtemp()) / "demo"
liaison = build_demo(demo, DEMO_PASSPHRASE)
mirani_root = next(p for p in demo.iterdir() if "mirani" in p.name.lower())
kabora_root = next(p for p in demo.iterdir() if "kabora" in p.name.lower())
app = _application()
load_fonts(app)


def settle(seconds: float = 0.6) -> None:
    """Let Qt lay out and paint for a moment."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_until(done: Callable[[], bool], seconds: float = 60.0) -> None:
    """Process events until `done()`; stop the script if it takes longer than `seconds`."""
    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            sys.exit(f"gave up waiting after {seconds} s")
        app.processEvents()
        time.sleep(0.01)


def window_manager_title(widget: QWidget) -> str:
    """The title the window manager shows for `widget` (empty without xdotool)."""
    xdotool = shutil.which("xdotool")
    if xdotool is None:
        return ""
    done = subprocess.run(
        [xdotool, "getwindowname", str(int(widget.winId()))],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def fresh_stick() -> Path:
    """A stick with a new bundle from the Mirani office for the liaison."""
    stick = Path(tempfile.mkdtemp()) / "COURIER"
    stick.mkdir()
    with open_workspace(mirani_root, DEMO_PASSPHRASE) as mirani:
        case = next(c for c in list_cases(mirani.conn) if c.title.startswith("Attack on the Seyra"))
        add_note(mirani, case.id, f"Interview with W-0107 noted at {time.strftime('%H:%M:%S')}.")
        incident = next(i for i in in_case(mirani.conn, Incident, case.id) if "ridge" in i.title)
        update_record(mirani, Incident, incident.id, location=f"Seyra road, km {len(sizes)}")
        update_case(mirani, case.id, status="under review")
        liaison_peer = next(p for p in list_peers(mirani) if p.role == "liaison")
        export_bundle(mirani, [liaison_peer], stick)
    return stick


def shoot_dialog(
    folder: Path, name: str, dialog: QDialog, then: Callable[[], None] = lambda: None
) -> None:
    """Show a dialog without a modal loop, as a person sees it, and save it."""
    dialog.show()
    settle(0.4)
    then()
    settle(0.2)
    dialog.grab().save(str(folder / f"{name}.png"))
    print(f"  {name}: {dialog.width()}x{dialog.height()}  title: {window_manager_title(dialog)!r}")
    dialog.close()


def shoot_windows(folder: Path, width: int, height: int) -> None:
    """Every view of the main window on the liaison's workspace, at one size."""
    ws = open_workspace(liaison, DEMO_PASSPHRASE)
    window = MainWindow(ws)
    window.resize(width, height)
    window.show()

    def save(name: str) -> None:
        settle()
        window.grab().save(str(folder / f"{name}.png"))
        size = window.size()
        print(f"  {name}: {size.width()}x{size.height()}")

    save("main-window")
    print(f"  window title as the window manager shows it: {window_manager_title(window)!r}")
    window.search.box.setText("market")
    window.search.run()
    wait_until(lambda: not window.search.searching)
    save("search")
    window.search.box.clear()
    window.search.run()

    shelling = next(c.id for c in list_cases(ws.conn) if c.reference == "VAR-KAB-2027-0001")
    window.open_case(shelling)
    view = window.findChild(CaseView)
    assert view is not None
    for index in range(view.tabs.count()):
        view.tabs.setCurrentIndex(index)
        save("case-" + view.tabs.tabText(index).lower().replace(" ", "-"))
    window.show_conflicts()
    save("conflicts")
    window.show_peers()
    save("peers")
    window.show_parked()
    save("parked")
    window.show_audit()
    wait_until(lambda: not window._busy)
    save("audit-log")
    window.show_sync_center()
    center = window.findChild(SyncCenter)
    assert center is not None
    wait_until(lambda: not center.is_busy)
    save("sync-centre-empty")
    center.list_folder(fresh_stick())
    wait_until(lambda: not center.is_busy and center.model.rowCount() > 0)
    save("sync-centre-listed")
    center.import_listed()
    wait_until(lambda: not center.is_busy and center.review_button.isVisible())
    save("sync-centre-imported")
    center.review_button.click()
    wait_until(lambda: window.findChild(IncomingView) is not None)
    save("incoming-changes")
    window.show_settings()
    assert window.settings_dialog is not None
    settle()
    window.settings_dialog.grab().save(str(folder / "settings.png"))
    window.settings_dialog.reject()
    window.lock()
    settle()
    save("locked")
    assert window.unlock_dialog is not None
    window.unlock_dialog.grab().save(str(folder / "unlock.png"))
    window.shutdown()
    window.close()
    window.deleteLater()


def shoot_empty(folder: Path, width: int, height: int) -> None:
    """A new workspace: no cases yet."""
    root = Path(tempfile.mkdtemp()) / "new"
    ws = create_workspace(
        root,
        "Kabora field office",
        "correct horse battery staple",
        office_code="KAB",
        situation="VAR",
        kdf=FAST_INSECURE_KDF,
    )
    window = MainWindow(ws)
    window.resize(width, height)
    window.show()
    settle()
    window.grab().save(str(folder / "empty-workspace.png"))
    print(f"  empty-workspace  title: {window_manager_title(window)!r}")
    window.shutdown()
    window.close()
    first_run = CreateWorkspaceDialog(Path(tempfile.mkdtemp()) / "first", kdf=FAST_INSECURE_KDF)
    shoot_dialog(folder, "first-run", first_run)
    first_run = CreateWorkspaceDialog(Path(tempfile.mkdtemp()) / "first", kdf=FAST_INSECURE_KDF)
    first_run.office_name_edit.setText("Kabora field office")
    first_run.passphrase_edit.setText(DEMO_PASSPHRASE)
    first_run.repeat_edit.setText(DEMO_PASSPHRASE)
    # No name yet: refused, and the name field has the focus.
    shoot_dialog(folder, "first-run-no-name", first_run, then=first_run.try_create)
    unlock = UnlockDialog(root)
    shoot_dialog(folder, "unlock-dialog", unlock)


def shoot_forms(folder: Path) -> None:
    """The record forms, on the Kabora office's records."""
    with open_workspace(kabora_root, DEMO_PASSPHRASE) as kabora:
        shelling = next(c for c in list_cases(kabora.conn) if c.reference == "VAR-KAB-2027-0001")
        incident = next(
            i for i in in_case(kabora.conn, Incident, shelling.id) if i.title.startswith("Wounded")
        )
        witness = next(
            p for p in in_case(kabora.conn, Person, shelling.id) if p.pseudonym == "W-0042"
        )
        elements = list(in_case(kabora.conn, Element, shelling.id))
        exhibit = next(iter(in_case(kabora.conn, Evidence, shelling.id)))
        card = own_card(kabora)
    form = IncidentForm(None, IncidentDraft.of(incident))
    shoot_dialog(folder, "incident-form", form, lambda: form.from_edit.setText("March-ish 2027"))
    consent = {"prosecution": "given", "tribunal": "given", "partners": "refused"}
    shoot_dialog(
        folder, "person-edit", EditPersonDialog(witness, identity_shown=False, consent=consent)
    )
    targets = [
        ReleaseTarget("ngo", "Every NGO peer"),
        ReleaseTarget("defence", "Every defence peer"),
    ]
    shoot_dialog(folder, "release", ReleaseDialog(exhibit, targets))
    shoot_dialog(folder, "person-add", AddPersonDialog())
    shoot_dialog(folder, "note-add", AddNoteDialog())
    charges = {e.charge: e.article for e in elements}
    shoot_dialog(folder, "element-form", ElementForm(None, ElementDraft.of(elements[0]), charges))
    shoot_dialog(folder, "add-peer", AddPeerDialog(card))


for width, height in sizes:
    folder = out / f"{width}x{height}"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{width}x{height} -> {folder}")
    shoot_windows(folder, width, height)
    shoot_empty(folder, width, height)
    if (width, height) == sizes[0]:
        shoot_forms(folder)
print("done:", out)
