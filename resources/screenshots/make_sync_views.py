"""Take the README screenshots of the liaison's window on the Varosa demo: the conflicts
view and the sync centre (run under Xvfb: `xvfb-run -s "-screen 0 1400x900x24" python
resources/screenshots/make_sync_views.py`)."""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop.demo import DEMO_PASSPHRASE, build_demo
from storage.cases import add_note
from storage.queries import list_cases
from storage.workspace import open_workspace
from sync.export import export_bundle
from sync.peers import list_peers
from ui.case_view import CaseView
from ui.fonts import load_fonts
from ui.main_window import MainWindow
from ui.sync_center import SyncCenter

here = Path(__file__).resolve().parent
demo = Path(tempfile.mkdtemp()) / "demo"
liaison = build_demo(demo, DEMO_PASSPHRASE)
# A courier arrives: the Mirani office has written a note since, on a fresh stick.
stick = demo / "courier-stick"
stick.mkdir()
mirani_root = next(p for p in demo.iterdir() if "mirani" in p.name.lower())
with open_workspace(mirani_root, DEMO_PASSPHRASE) as mirani:
    case = next(c for c in list_cases(mirani.conn) if c.reference.startswith("VAR-MIR"))
    add_note(mirani, case.id, "Second interview with W-0107 scheduled for 2 May.")
    liaison_peer = next(p for p in list_peers(mirani) if p.role == "liaison")
    export_bundle(mirani, [liaison_peer], stick)
app = QApplication([])
app.setApplicationName("Valise")
load_fonts(app)
liaison_ws = open_workspace(liaison, DEMO_PASSPHRASE)
shelling_id = next(c.id for c in list_cases(liaison_ws.conn) if c.reference == "VAR-KAB-2027-0001")
window = MainWindow(liaison_ws)
window.resize(1400, 860)
window.show()


def conflicts() -> None:
    window.show_conflicts()
    QTimer.singleShot(600, lambda: save("conflicts.png", case_view))


def case_view() -> None:
    window.open_case(shelling_id)
    QTimer.singleShot(800, lambda: save("case.png", elements))


def elements() -> None:
    view = window.findChild(CaseView)
    view.tabs.setCurrentIndex(titles(view).index("Legal elements"))
    QTimer.singleShot(800, lambda: save("elements-matrix.png", sync_centre))


def titles(view: CaseView) -> list[str]:
    return [view.tabs.tabText(i) for i in range(view.tabs.count())]


def sync_centre() -> None:
    window.show_sync_center()
    center = window.findChild(SyncCenter)
    center.list_folder(stick)
    QTimer.singleShot(2500, lambda: save("sync-centre.png", done))


def save(name: str, then: object) -> None:
    window.grab().save(str(here / name))
    print("saved", here / name)
    then()  # type: ignore[operator]


def done() -> None:
    window.close()
    app.quit()


QTimer.singleShot(800, conflicts)
app.exec()
