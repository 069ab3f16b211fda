"""The incoming-changes view: a liaison (L) that imported bundles from two offices (A:
Kabora, B: Dressa) sees each change with its office and case, filters by office and by
when it came in, and opens a change's case with Enter or a double click."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import cases, history, queries
from storage.records import Case
from storage.workspace import Workspace
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from ui.incoming_view import NOTHING_YET, IncomingView
from ui.models.case_table import CaseIdRole
from ui.models.incoming_model import PAGE_SIZE, IncomingModel, SignatureOkRole

# The sync tests' fixtures: real installations that are each other's peers.
installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

KABORA, DRESSA = "Kabora field office", "Dressa field office"
GRANTED = "granted Tribunal liaison access as liaison"  # sharing a case is a signed grant


@pytest.fixture
def received(network: Network) -> dict[str, str]:
    """Kabora sends a case and an edit to it, Dressa a case, each with the grant that
    shares it; the liaison imports both bundles. Returns the case ids by office."""
    kabora = network.ws["kabora"]
    kabora_case = cases.add_case(kabora, "Shelling of the Varosa market")
    cases.update_case(kabora, kabora_case, status="under review")
    dressa_case = cases.add_case(network.ws["dressa"], "Looting of the Dressa depot")
    network.share("kabora", kabora_case, "liaison")
    network.share("dressa", dressa_case, "liaison")
    cases.add_case(network.ws["liaison"], "The liaison's own case")  # not incoming
    assert network.send("kabora", "liaison").status == "imported"
    assert network.send("dressa", "liaison").status == "imported"
    return {"kabora": kabora_case, "dressa": dressa_case}


def _view(qtbot: QtBot, ws: Workspace, **kwargs: object) -> IncomingView:
    view = IncomingView(ws, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(view)
    return view


def _column(view: IncomingView, column: int) -> list[str]:
    model = view.model
    return [model.index(row, column).data() for row in range(model.rowCount())]


def _offices(view: IncomingView) -> list[str]:
    """The office names of the Signed by column, without the role and digits after them."""
    return [text.split(" (")[0] for text in _column(view, IncomingModel.OFFICE)]


def test_each_change_is_listed_with_its_office_and_case(
    qtbot: QtBot, network: Network, received: dict[str, str]
) -> None:
    liaison = network.ws["liaison"]
    view = _view(qtbot, liaison)
    reference = queries.get(liaison.conn, Case, received["kabora"]).reference

    assert _offices(view) == [DRESSA, DRESSA, KABORA, KABORA, KABORA]
    # Signed by: the name on the card, its role and the start of its fingerprint.
    digits = network.peer("liaison", "dressa").fingerprint.split()[:2]
    assert _column(view, IncomingModel.OFFICE)[0] == f"{DRESSA} (office, {' '.join(digits)}…)"
    assert _column(view, IncomingModel.CASE)[3] == f"{reference} Shelling of the Varosa market"
    assert _column(view, IncomingModel.WHAT) == [
        GRANTED,
        "opened case",
        GRANTED,
        "updated case status",
        "opened case",
    ]
    assert _column(view, IncomingModel.SIGNATURE) == ["verified"] * 5
    received_at = _column(view, IncomingModel.RECEIVED)[0]
    assert dt.datetime.strptime(received_at, "%Y-%m-%d %H:%M:%S")  # a plain UTC time
    assert view.summary_label.text() == "5 changes from 2 offices in 2 cases"
    assert view.since_box.currentText() == "Last import"  # both bundles: one import
    tip = view.since_box.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert "2 bundles imported one after another" in tip
    assert view.summary_label.textFormat() == Qt.TextFormat.PlainText


def test_the_office_filter_narrows_the_list_and_counts_each_office(
    qtbot: QtBot, network: Network, received: dict[str, str]
) -> None:
    view = _view(qtbot, network.ws["liaison"])
    choices = [view.office_box.itemText(i) for i in range(view.office_box.count())]
    assert choices == ["All offices", f"{DRESSA} (2)", f"{KABORA} (3)"]

    view.office_box.setCurrentIndex(2)

    assert _offices(view) == [KABORA, KABORA, KABORA]
    assert view.summary_label.text() == f"3 changes from {KABORA} in 1 case"
    view.refresh()  # the office chosen stays chosen
    assert view.office_box.currentText() == f"{KABORA} (3)"
    assert view.model.rowCount() == 3


def test_the_window_of_time_narrows_the_list(
    qtbot: QtBot, network: Network, received: dict[str, str]
) -> None:
    a_month_on = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    view = _view(qtbot, network.ws["liaison"], now=lambda: a_month_on)

    view.since_box.setCurrentIndex(view.since_box.findData("last 7 days"))
    assert view.model.rowCount() == 0
    assert view.summary_label.text() == "No changes from other offices in the last 7 days."
    assert view.office_box.itemText(1) == f"{DRESSA} (0)"

    view.since_box.setCurrentIndex(view.since_box.findData("all"))
    assert view.model.rowCount() == 5


def test_a_new_import_after_a_pause_is_the_last_import(
    qtbot: QtBot, network: Network, received: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pause that separates two imports is made zero here rather than waited out."""
    monkeypatch.setattr(history, "SITTING_GAP", dt.timedelta(0))
    view = _view(qtbot, network.ws["liaison"])
    # Dressa's bundle alone.
    assert _column(view, IncomingModel.WHAT) == [GRANTED, "opened case"]
    cases.update_case(network.ws["dressa"], received["dressa"], title="Looting of the depot")
    network.send("dressa", "liaison")

    view.refresh()

    assert _column(view, IncomingModel.WHAT) == ["updated case title"]
    assert view.summary_label.text() == "1 change from 1 office in 1 case"
    tip = view.since_box.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert "last import: one bundle, finished" in tip


def test_enter_or_a_double_click_asks_for_the_case(
    qtbot: QtBot, network: Network, received: dict[str, str]
) -> None:
    view = _view(qtbot, network.ws["liaison"])
    view.show()
    qtbot.waitExposed(view)
    first = view.model.index(0, IncomingModel.WHAT)
    assert first.data(CaseIdRole) == received["dressa"]

    view.table.setCurrentIndex(first)
    with qtbot.waitSignal(view.caseChosen) as chosen:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert chosen.args == [received["dressa"]]

    second = view.model.index(2, IncomingModel.CASE)
    where = view.table.visualRect(second).center()
    viewport = view.table.viewport()
    # A double click is a press, a release, then the double click (as a person does it):
    # the view only activates the row the press landed on.
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=where)
    with qtbot.waitSignal(view.caseChosen) as chosen:
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=where)
    assert chosen.args == [received["kabora"]]


@pytest.mark.qt_log_level_fail("WARNING")  # Qt's own tester reports through warnings
@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_a_long_list_is_read_a_page_at_a_time(
    qtmodeltester: ModelTester, network: Network, force_py: bool
) -> None:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case with a long history")
    with kabora.transaction():
        for n in range(PAGE_SIZE + 10):
            cases.add_note(kabora, case_id, f"note {n}")
    network.share("kabora", case_id, "liaison")
    network.send("kabora", "liaison")
    liaison = network.ws["liaison"]

    model = IncomingModel(liaison.conn, liaison.origin)
    assert model.rowCount() == PAGE_SIZE and model.canFetchMore()
    model.fetchMore()
    # The case, its notes and the grant that shares it.
    assert model.rowCount() == PAGE_SIZE + 12 and not model.canFetchMore()
    qtmodeltester.check(model, force_py=force_py)
    model.set_filter(kabora.origin, None)  # the tester, still attached, checks the reset
    assert model.rowCount() == PAGE_SIZE
    model.set_filter(network.ws["dressa"].origin, None)
    assert model.rowCount() == 0 and not model.canFetchMore()


def test_a_changed_byte_shows_as_a_signature_that_does_not_verify(
    qtbot: QtBot, network: Network, received: dict[str, str]
) -> None:
    liaison = network.ws["liaison"]
    cs_id, body = liaison.conn.execute(
        "SELECT id, body FROM changesets WHERE case_id = ? ORDER BY rowid LIMIT 1",
        (received["dressa"],),
    ).fetchone()
    altered = bytes(body).replace(b"Dressa depot", b"Dressa dep0t")  # tampering with the key
    liaison.conn.execute("UPDATE changesets SET body = ? WHERE id = ?", (altered, cs_id))

    view = _view(qtbot, liaison)

    assert view.model.index(0, IncomingModel.CASE).data().endswith("Looting of the Dressa depot")
    # Dressa's grant, then its case, whose body was changed, then Kabora's three.
    assert _column(view, IncomingModel.SIGNATURE) == [
        "verified",
        "DOES NOT VERIFY",
        "verified",
        "verified",
        "verified",
    ]
    assert view.model.index(1, 0).data(SignatureOkRole) is False


def test_an_empty_workspace_says_nothing_has_come_in(qtbot: QtBot, ws: Workspace) -> None:
    cases.add_case(ws, "Our own case")
    view = _view(qtbot, ws)
    assert view.summary_label.text() == NOTHING_YET
    assert view.model.rowCount() == 0
    assert [view.office_box.itemText(i) for i in range(view.office_box.count())] == ["All offices"]
    for widget in (view.office_box, view.since_box, view.table, view.summary_label):
        assert widget.accessibleName()


def test_what_other_offices_typed_is_shown_as_text_even_in_tooltips(
    qtbot: QtBot, network: Network
) -> None:
    """Qt would take a tooltip starting with a tag for rich text: data is escaped."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case")
    network.share("kabora", case_id, "liaison")
    cases.add_incident(kabora, case_id, '<img src="/etc/passwd"> at the market')
    network.send("kabora", "liaison")
    view = _view(qtbot, network.ws["liaison"])

    what = view.model.index(0, IncomingModel.WHAT)
    assert what.data() == 'added incident “<img src="/etc/passwd"> at the market”'
    tip = what.data(Qt.ItemDataRole.ToolTipRole)
    assert "<img" not in tip and "&lt;img src=&quot;/etc/passwd&quot;&gt;" in tip
