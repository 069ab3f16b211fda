"""Take the README screenshots of the liaison's window on the Varosa demo: the conflicts
view, a case, its legal elements, the sync centre after importing a courier's stick, and
the incoming changes that import brought (run under Xvfb: `xvfb-run -s "-screen 0
1400x900x24" python resources/screenshots/make_sync_views.py`)."""

import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from PySide6.QtWidgets import QApplication

from desktop.demo import DEMO_PASSPHRASE, build_demo
from storage import history
from storage.cases import add_note, update_case, update_record
from storage.queries import in_case, list_cases
from storage.records import Incident
from storage.workspace import open_workspace
from sync.export import export_bundle
from sync.peers import list_peers
from ui.case_view import CaseView
from ui.fonts import load_fonts
from ui.incoming_view import IncomingView
from ui.main_window import MainWindow
from ui.sync_center import SyncCenter

here = Path(__file__).resolve().parent
WIDTH, HEIGHT = 1280, 800
# The courier's stick is imported seconds after the demo was built; in life it comes days
# later. Only bundles imported back to back are one import (history.SITTING_GAP), so with
# no gap at all "Last import" shows just what the courier brought.
history.SITTING_GAP = dt.timedelta(0)
demo = Path(tempfile.mkdtemp()) / "demo"
liaison = build_demo(demo, DEMO_PASSPHRASE)
# A courier arrives with a fresh stick: since the last exchange the Mirani office has
# written a note, placed an incident more exactly and put its convoy case under review.
stick = Path(tempfile.mkdtemp()) / "COURIER"  # a short path, as a stick mounts
stick.mkdir()
mirani_root = next(p for p in demo.iterdir() if "mirani" in p.name.lower())
with open_workspace(mirani_root, DEMO_PASSPHRASE) as mirani:
    case = next(c for c in list_cases(mirani.conn) if c.title.startswith("Attack on the Seyra"))
    add_note(mirani, case.id, "Second interview with W-0107 scheduled for 2 May.")
    incident = next(i for i in in_case(mirani.conn, Incident, case.id) if "ridge" in i.title)
    update_record(mirani, Incident, incident.id, location="Seyra road, km 14, below the ridge")
    update_case(mirani, case.id, status="under review")
    liaison_peer = next(p for p in list_peers(mirani) if p.role == "liaison")
    export_bundle(mirani, [liaison_peer], stick)
app = QApplication([])
app.setApplicationName("Valise")
load_fonts(app)
liaison_ws = open_workspace(liaison, DEMO_PASSPHRASE)
shelling_id = next(c.id for c in list_cases(liaison_ws.conn) if c.reference == "VAR-KAB-2027-0001")
window = MainWindow(liaison_ws)
window.resize(WIDTH, HEIGHT)
window.show()


def settle(seconds: float = 0.8) -> None:
    """Let Qt lay out and paint for a moment."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_until(done: Callable[[], bool], seconds: float = 30.0) -> None:
    """Process events until `done()`; stop the script if it takes longer than `seconds`."""
    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            sys.exit(f"gave up waiting after {seconds} s")
        app.processEvents()
        time.sleep(0.01)


def save(name: str) -> None:
    settle()
    window.grab().save(str(here / name))
    print("saved", here / name)


window.show_conflicts()
save("conflicts.png")

window.open_case(shelling_id)
save("case.png")

view = window.findChild(CaseView)
titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
view.tabs.setCurrentIndex(titles.index("Legal elements"))
save("elements-matrix.png")

window.show_sync_center()
center = window.findChild(SyncCenter)
settle(0.3)
wait_until(lambda: not center.is_busy)  # the peers' news is read on the worker first
center.list_folder(stick)
wait_until(lambda: not center.is_busy and center.model.rowCount() > 0)
center.import_listed()
wait_until(lambda: not center.is_busy and center.review_button.isVisible())
save("sync-centre.png")

center.review_button.click()  # docks Sync › Incoming changes, as a person would
wait_until(lambda: window.findChild(IncomingView) is not None)
save("incoming-changes.png")

window.close()
liaison_ws.close()
