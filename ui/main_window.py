"""The main window: an assembler of menus, actions and the case table, nothing more.

Until the desktop issue it shows one view, the case list. Locking closes the workspace
(database, key and folder lock), drops the model so no case text stays on screen, closes
any dialog still open over the window, and asks for the passphrase again. It happens on
Ctrl+L or when the idle watcher reports that nobody used Valise for the limit set in
Settings (default 10 minutes).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import platform
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QModelIndex,
    QObject,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    SignalInstance,
    Slot,
)
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDockWidget,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from storage import roles
from storage.cases import add_case, restore_case
from storage.errors import StorageError
from storage.queries import CaseFilter, get, lead_offices
from storage.records import Case, CaseId
from storage.workspace import Workspace
from sync.trust import advisories_waiting
from ui.audit_view import AuditView
from ui.case_filters import CaseFilterBar, CaseSearch
from ui.case_list_guide import CaseListGuide, ListState, list_state
from ui.case_tabs.elements import ElementsTab
from ui.case_tabs.evidence import EvidenceTab
from ui.case_tabs.history import HistoryTab
from ui.case_tabs.incidents import IncidentsTab
from ui.case_view import CaseView
from ui.cell_tips import FullTextTips
from ui.conflicts_view import ConflictsView
from ui.dialogs.rekey import (
    REKEYED_REASON,
    RekeyDialog,
    RekeyOutcome,
    SaveChooser,
    choose_escrow_target,
)
from ui.dialogs.settings import SettingsDialog
from ui.dialogs.unlock import UnlockDialog
from ui.filled_grid import FilledGridTableView
from ui.held_back_view import HeldBackView
from ui.idle import IdleWatcher
from ui.incoming_view import IncomingView
from ui.list_view import ListView
from ui.models.case_table import CaseTableModel
from ui.parked_view import ParkedView
from ui.peers_view import PeersView
from ui.prompts import Prompts
from ui.read_ahead import ReadAhead
from ui.settings import Settings
from ui.slots import weakly
from ui.suspend_lock import SleepWatcher
from ui.sync_center import SyncCenter
from ui.tasks import TaskRunner
from ui.trust_view import TrustView, waiting_notice
from ui.users_view import ONLY_SUPERVISORS, UsersView

REKEY_TIP = "A new database key: old key files, paper shares and escrow stop opening it"
ONLY_SUPERVISORS_REKEY = "Only a supervisor may change the database key."

log = logging.getLogger(__name__)


# Given the folder, the reason line, the list's view and the name of the user who was
# unlocked, after a lock closed the workspace: the application starts again, locked
# (desktop.relock); tests record the call.
Relock = Callable[[Path, str, ListView, str], None]

APP_NAME = "Valise"


def settle_heap() -> None:
    """Collect garbage once, then keep what is alive now out of later collections.

    A full collection scans every object Python tracks; with Qt's wrappers, the modules
    and the window built that took about 45 ms, and one fell due while a page of cases
    was read during scrolling: the longest stall measured (bench/gui.py). Frozen objects
    are still freed when their last reference goes; only the collector skips them.
    """
    gc.collect()
    gc.freeze()
    free_small_blocks_at_once()


_M_MXFAST = 1  # glibc's mallopt parameter: the largest block kept in a "fast bin"


def free_small_blocks_at_once() -> None:
    """Make glibc's malloc merge each freed small block with its neighbours when it is
    freed, rather than later all at once (Linux with glibc only; elsewhere nothing).

    The case list keeps its loaded cells in Qt's store, a few small blocks each. Sorting
    or filtering after scrolling 100,000 cases frees two million of them; glibc parks
    small freed blocks in "fast bins" and merges them all on the next larger request,
    which took 0.3-0.8 s of the GUI thread on top of the 0.1 s the freeing itself took.
    Python's own small objects do not go through malloc, so they are not affected.
    """
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MXFAST, 0)
    except (OSError, AttributeError):
        log.info("malloc's fast bins stay on: mallopt is not available")


def _unshaped_latin() -> QFont:
    """The inherited font, but Latin text laid out without OpenType shaping (kerning,
    ligatures), which took a quarter of a repaint of the case list (bench/gui.py "scroll").
    Scripts that need shaping to be read (Arabic, Brahmic scripts) are still shaped: Qt
    skips it only where it is cosmetic. Only the style strategy is set, so the family and
    size still come from the application."""
    font = QFont()
    font.setStyleStrategy(QFont.StyleStrategy.PreferNoShaping)
    return font


def _one_thread_pool(parent: QObject) -> QThreadPool:
    pool = QThreadPool(parent)
    pool.setMaxThreadCount(1)
    return pool


CASE_TABS = (
    ("Evidence", EvidenceTab),
    ("Legal elements", ElementsTab),
    ("Incidents", IncidentsTab),
    ("History", HistoryTab),
)


# Of the window's width, for a view docked beside the case list: a little more than half;
# on a small screen (a 1024-pixel laptop) more, so that a case's lists beside their forms
# (the evidence register) still show more than their first column.
DOCK_SHARE = 0.55
DOCK_SHARE_SMALL = 0.65
SMALL_WINDOW_WIDTH = 1280


def dock_share(window_width: int) -> float:
    """The share of the window a docked view gets first (the person may drag it)."""
    return DOCK_SHARE_SMALL if window_width < SMALL_WINDOW_WIDTH else DOCK_SHARE


# A typical value of each fixed column, which sets its width (the title takes the rest).
CASE_COLUMN_SAMPLES = {
    CaseTableModel.REFERENCE: "VAR-KAB-2027-0001",
    CaseTableModel.STATUS: "Under review",
    CaseTableModel.OPENED: "2027-03-16",
    CaseTableModel.LEAD_OFFICE: "Mirani field office",
}
TYPICAL_TITLE = "Shelling of Kabora central market"  # the least the title column gets


def focus_target(view: QWidget) -> QWidget:
    """Where the keys go when `view` is docked: the view itself when it takes them or names
    a focus proxy, else its first list. A view that took the focus itself swallowed the
    arrows and Enter: after Ctrl+Shift+P, Down selected no peer (e2e walk)."""
    if view.focusProxy() is not None or view.focusPolicy() != Qt.FocusPolicy.NoFocus:
        return view
    lists = view.findChildren(QAbstractItemView)
    return next((found for found in lists if not found.isHidden()), view)


class MainWindow(QMainWindow):
    """Shows the open workspace's cases; owns the workspace until it is locked or closed."""

    locked = Signal()
    unlocked = Signal()

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        *,
        prompts: Prompts | None = None,
        runner: TaskRunner | None = None,
        settings: Settings | None = None,
        idle_watcher: IdleWatcher | None = None,
        sleep_watcher: SleepWatcher | None = None,
        relock: Relock | None = None,
        choose_escrow_file: SaveChooser = choose_escrow_target,
    ) -> None:
        super().__init__(parent)
        self._relock = relock
        self._choose_escrow_file = choose_escrow_file  # for the rekey's new escrow
        self.rekey_dialog: RekeyDialog | None = None
        self._lock_reason = ""  # the idle lock's sentence, for the unlock that follows
        self.workspace: Workspace | None = None
        self.workspace_dir: Path = workspace.paths.root
        self._user_name = ""  # who was unlocked, offered again by the unlock after a lock
        self.model: CaseTableModel | None = None
        self.unlock_dialog: UnlockDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._docks: dict[str, QDockWidget] = {}
        # Views whose worker task is using the workspace, with how many tasks each.
        self._busy_owners: Counter[str] = Counter()
        self._after_busy: str | None = None  # "lock" or "close", asked for meanwhile
        self._prompts = prompts or Prompts()
        self._runner = runner
        # Work that uses the workspace's one connection runs on one thread at a time.
        self._database_runner = runner or TaskRunner(_one_thread_pool(self), self)
        self.settings = settings if settings is not None else Settings()
        self.idle_watcher = idle_watcher if idle_watcher is not None else IdleWatcher(self)
        if self.idle_watcher.parent() is None:
            self.idle_watcher.setParent(self)
        self.idle_watcher.idle.connect(self._lock_after_idle)
        self.sleep_watcher = sleep_watcher if sleep_watcher is not None else SleepWatcher(self)
        self.sleep_watcher.going_to_sleep.connect(self._lock_before_sleep)
        self.resize(1000, 640)

        self.table = FilledGridTableView(self)  # grid lines filled: a fifth of a repaint less
        # Pages of cases are read while the window is idle, not in the screen scrolled to.
        self.read_ahead = ReadAhead(self.table)
        self.table.setAccessibleName("Cases")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setItemDelegate(FullTextTips(self.table))  # a title cut short, whole
        self.table.setFont(_unshaped_latin())
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.viewport().installEventFilter(self)  # the title column follows its width
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSortIndicator(-1, Qt.SortOrder.DescendingOrder)  # default: recently changed
        self.table.setSortingEnabled(True)
        header.sortIndicatorChanged.connect(self._on_sort_requested)
        self.table.activated.connect(self._open_activated)  # Enter or a double click
        self.filter_bar = CaseFilterBar(self)
        self.filter_bar.changed.connect(self._apply_filter)
        self.search = CaseSearch(self, self._prompts)
        self.search.case_chosen.connect(self.open_case)
        # In place of an empty list: the first steps, or why the filters show nothing.
        self.guide = CaseListGuide(self)
        self.guide.newCaseRequested.connect(self.new_case)
        self.guide.importRequested.connect(self.show_sync_center)
        self.guide.addPeerRequested.connect(self.show_peers)
        self.guide.clearFiltersRequested.connect(self.filter_bar.clear)
        self.list_state = ListState.CASES  # what the list shows: rows, first steps, no match
        self.cases_stack = QStackedWidget(self)
        self.cases_stack.addWidget(self.table)
        self.cases_stack.addWidget(self.guide)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(6, 6, 6, 0)
        column.addWidget(self.filter_bar)
        column.addWidget(self.search)
        column.addWidget(self.cases_stack, 1)
        self.setCentralWidget(central)

        self.office_label = QLabel(self)
        self.office_label.setAccessibleName("Office")
        self.user_label = QLabel(self)
        self.user_label.setAccessibleName("Signed in as")
        self.user_label.setToolTip("Who unlocked this workspace, and their role here")
        self.count_label = QLabel(self)
        self.count_label.setAccessibleName("Number of cases")
        self.fingerprint_label = QLabel(self)
        self.fingerprint_label.setAccessibleName("Fingerprint")
        self.fingerprint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.office_label, self.user_label, self.count_label, self.fingerprint_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setContentsMargins(6, 0, 12, 0)
        # Shown while advisory revocations wait for a person: a click opens the Trust view.
        self.revocation_notice = QPushButton(self)
        notice_font = self.revocation_notice.font()
        notice_font.setBold(True)
        self.revocation_notice.setFont(notice_font)
        self.revocation_notice.setAccessibleName("Revocations waiting for your decision")
        self.revocation_notice.setToolTip(
            "An office that is not an authority here says a key is lost or compromised;"
            " open Trust (Ctrl+Shift+T) to confirm or dismiss it"
        )
        self.revocation_notice.hide()
        self.revocation_notice.clicked.connect(self.show_trust)
        self.statusBar().addWidget(self.office_label)
        self.statusBar().addWidget(self.user_label)
        self.statusBar().addWidget(self.count_label)
        self.statusBar().addWidget(self.revocation_notice)
        self.statusBar().addPermanentWidget(self.fingerprint_label)

        self._build_actions()
        self.set_workspace(workspace)

    # -- actions and menus ---------------------------------------------------------------

    def _action(self, text: str, shortcut: str, tip: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({shortcut})")
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.new_case_action = self._action(
            "&New case…", "Ctrl+N", "Open a new case", self.new_case
        )
        self.lock_action = self._action(
            "&Lock", "Ctrl+L", "Close the workspace until the passphrase is typed again", self.lock
        )
        self.restore_case_action = self._action(
            "&Restore withdrawn case",
            "Ctrl+Shift+R",
            "Bring back the selected withdrawn case (Status: Withdrawn lists them)",
            self.restore_selected_case,
        )
        self.quit_action = self._action("&Quit", "Ctrl+Q", "Lock and quit Valise", self.close)
        self.settings_action = self._settings_action()
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.new_case_action)
        file_menu.addAction(self.restore_case_action)
        file_menu.addSeparator()
        file_menu.addAction(self.lock_action)
        file_menu.addAction(self.quit_action)
        self.peers_action = self._action(
            "&Peers…",
            "Ctrl+Shift+P",
            "Offices and liaisons we exchange bundles with",
            self.show_peers,
        )
        self.conflicts_action = self._action(
            "&Conflicts…",
            "Ctrl+Shift+K",
            "Values two offices changed at the same time, to settle",
            self.show_conflicts,
        )
        self.sync_action = self._action(
            "Sync &centre…",
            "Ctrl+Shift+S",
            "Bring in the bundles on a stick and write bundles for peers",
            self.show_sync_center,
        )
        self.incoming_action = self._action(
            "&Incoming changes…",
            "Ctrl+Shift+I",
            "What other offices changed, in which case, as their bundles brought it",
            self.show_incoming,
        )
        self.parked_action = self._action(
            "Pa&rked…",
            "Ctrl+Shift+W",
            "What imports kept aside: for what each waits, and since when",
            self.show_parked,
        )
        self.held_back_action = self._action(
            "&Held back…",
            "Ctrl+Shift+H",
            "Changes an import refused: from whom, what they tried, and why",
            self.show_held_back,
        )
        self.trust_action = self._action(
            "&Trust and revocations…",
            "Ctrl+Shift+T",
            "Revoked keys, advisories to confirm or dismiss, and the authorities named here",
            self.show_trust,
        )
        sync_menu = self.menuBar().addMenu("&Sync")
        sync_menu.addAction(self.sync_action)
        sync_menu.addAction(self.incoming_action)
        sync_menu.addAction(self.parked_action)
        sync_menu.addAction(self.held_back_action)
        sync_menu.addAction(self.conflicts_action)
        sync_menu.addAction(self.peers_action)
        sync_menu.addAction(self.trust_action)
        self.audit_action = self._action(
            "&Audit log…",
            "Ctrl+Shift+A",
            "Who did what in this workspace, and whether the log is intact",
            self.show_audit,
        )
        self.users_action = self._action(
            "&Users…",
            "Ctrl+Shift+U",
            "Who may unlock this workspace, as what; add or remove users, set passphrases",
            self.show_users,
        )
        self.rekey_action = QAction("Change the database &key (rekey)…", self)
        self.rekey_action.setStatusTip(REKEY_TIP)
        self.rekey_action.triggered.connect(self.show_rekey)
        tools_menu = self.menuBar().addMenu("&Tools")
        tools_menu.setToolTipsVisible(True)  # why Users… is disabled, for a non-supervisor
        tools_menu.addAction(self.audit_action)
        tools_menu.addAction(self.users_action)
        tools_menu.addAction(self.rekey_action)
        tools_menu.addAction(self.settings_action)
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.new_case_action)
        toolbar.addAction(self.lock_action)
        self.addToolBar(toolbar)

    def _settings_action(self) -> QAction:
        """Settings…, on the platform's Preferences shortcut (Ctrl+, where it has none)."""
        action = QAction("&Settings…", self)
        action.setMenuRole(QAction.MenuRole.PreferencesRole)
        shortcuts = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
        if not shortcuts:
            shortcuts = [QKeySequence("Ctrl+,")]
        action.setShortcuts(shortcuts)
        tip = "Change how long Valise may stay unused before it locks"
        action.setStatusTip(tip)
        shortcut = shortcuts[0].toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({shortcut})")
        action.triggered.connect(self.show_settings)
        return action

    def _update_actions(self) -> None:
        open_ = self.workspace is not None
        self.new_case_action.setEnabled(open_)
        self.restore_case_action.setEnabled(open_)
        self.lock_action.setEnabled(open_)
        # Only someone who unlocked the workspace may change when it locks itself.
        self.settings_action.setEnabled(open_)
        self.peers_action.setEnabled(open_)
        self.conflicts_action.setEnabled(open_)
        self.incoming_action.setEnabled(open_)
        self.parked_action.setEnabled(open_)
        self.held_back_action.setEnabled(open_)
        self.trust_action.setEnabled(open_)
        self.sync_action.setEnabled(open_)
        self.audit_action.setEnabled(open_)
        self._update_users_action()
        self._update_rekey_action()
        if self._busy:  # a worker task owns the database until it ends
            for action in (
                self.new_case_action,
                self.restore_case_action,
                self.settings_action,
                self.peers_action,
                self.conflicts_action,
                self.incoming_action,
                self.parked_action,
                self.held_back_action,
                self.trust_action,
                self.sync_action,
                self.audit_action,
                self.users_action,
                self.rekey_action,
            ):
                action.setEnabled(False)

    def _update_users_action(self) -> None:
        """Users… is for supervisors; anyone else sees it disabled, with the reason."""
        if self.workspace is None:
            self.users_action.setEnabled(False)
            return
        allowed = roles.permitted(self.workspace, roles.MANAGE_USERS)
        self.users_action.setEnabled(allowed)
        tip = self.users_action.statusTip() + " (Ctrl+Shift+U)"
        self.users_action.setToolTip(tip if allowed else ONLY_SUPERVISORS)

    def _update_rekey_action(self) -> None:
        """A rekey is for supervisors (MANAGE_KEYS); anyone else sees it disabled, with
        the reason."""
        allowed = self.workspace is not None and roles.permitted(self.workspace, roles.MANAGE_KEYS)
        self.rekey_action.setEnabled(allowed)
        self.rekey_action.setToolTip(REKEY_TIP if allowed else ONLY_SUPERVISORS_REKEY)

    # -- workspace -----------------------------------------------------------------------

    @Slot(object)
    def set_workspace(self, workspace: Workspace) -> None:
        """Show `workspace` (just unlocked); the window now owns it and will close it."""
        self.workspace = workspace
        self.workspace_dir = workspace.paths.root
        self.model = CaseTableModel(workspace.conn, self)
        self.model.set_filter(self.filter_bar.current())
        self.filter_bar.set_offices(lead_offices(workspace.conn))
        self.search.set_reader(workspace.open_reader)
        self.model.modelReset.connect(self._update_count)
        self.model.rowsInserted.connect(self._update_count)
        self.table.setModel(self.model)
        self.read_ahead.follow(self.model)
        header = self.table.horizontalHeader()
        self.table.sortByColumn(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self._size_columns()
        office = workspace.office_name
        # Ending in the application's name, as the dialogs' titles do: Qt adds " — Valise"
        # to a window title that does not (on X11 the title read "Valise — office — Valise").
        self.setWindowTitle(f"{office} — {APP_NAME}")
        self.office_label.setText(office)
        self._show_user(workspace)
        self.fingerprint_label.setText(f"Fingerprint: {workspace.fingerprint}")
        self._update_count()
        self._update_actions()
        self._update_revocation_notice()
        (self.guide if self.list_state is not ListState.CASES else self.table).setFocus()
        self.statusBar().clearMessage()
        self.idle_watcher.set_limit(self.settings.idle_lock_minutes * 60)
        self.idle_watcher.start()
        self.sleep_watcher.hold()  # logind waits for the lock before sleeping
        settle_heap()  # now, while the person waits for the window anyway
        self.unlocked.emit()

    def _show_user(self, workspace: Workspace) -> None:
        """Who is signed in, as what ("Amina · supervisor"); nothing before named users."""
        user = workspace.user
        self._user_name = user.name if user is not None else ""
        self.user_label.setText(f"{user.name} · {user.role_words}" if user is not None else "")
        self.user_label.setVisible(user is not None)

    def _size_columns(self) -> None:
        """Each column as wide as a typical value in this font, and the title the rest: with
        a view docked beside it the list is narrow, and the title must still be read."""
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        for column, sample in CASE_COLUMN_SAMPLES.items():
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 18)
        self._fit_title()

    def _fit_title(self) -> None:
        """The title takes the width the other columns leave, but never less than a typical
        title: beside a docked view the other columns scroll sideways instead (stretched,
        the title was cut to "Attack on the …" while the dates stayed whole)."""
        header = self.table.horizontalHeader()
        others = sum(
            header.sectionSize(column)
            for column in range(header.count())
            if column != CaseTableModel.TITLE
        )
        least = self.table.fontMetrics().horizontalAdvance(TYPICAL_TITLE)
        room = self.table.viewport().width() - others
        header.resizeSection(CaseTableModel.TITLE, max(room, least))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The case list was resized: fit its title column again."""
        # getattr: Python may have cleared this window's attributes while Qt, destroying
        # it, still sends events here (see ui.dialogs.busy.BusyKeys).
        table = getattr(self, "table", None)
        if event.type() == QEvent.Type.Resize and table is not None and watched is table.viewport():
            self._fit_title()
        return super().eventFilter(watched, event)

    @Slot()
    def _update_count(self) -> None:
        if self.model is None:
            self.count_label.setText("Locked")
            self._show_list_state(ListState.CASES)
            return
        total = self.model.total
        self.count_label.setText(f"{total} case" if total == 1 else f"{total} cases")
        self._show_list_state(list_state(total, self.model.case_filter != CaseFilter()))

    def _show_list_state(self, state: ListState) -> None:
        """The table when it has rows (or the window is locked), else the guide.

        The guide is told only what it will show: with rows, it is hidden, and laying out
        its text again cost every page of cases read while scrolling a tenth of a
        millisecond for nothing."""
        self.list_state = state
        if state is not ListState.CASES:
            self.guide.show_state(state)
        shown = self.table if state is ListState.CASES else self.guide
        current = self.guide if shown is self.table else self.table
        if self.cases_stack.currentWidget() is not shown:
            focus = self.focusWidget()
            had_focus = focus is not None and (focus is current or current.isAncestorOf(focus))
            self.cases_stack.setCurrentWidget(shown)
            if had_focus:
                shown.setFocus()

    def _close_workspace(self) -> None:
        """Drop the views and the model first (they hold the connection), then close the
        workspace."""
        self.idle_watcher.stop()
        if self._relock is None:  # with one, the exec closes logind's inhibitor for us
            self.sleep_watcher.release()
        self._close_docks()
        model, self.model = self.model, None
        self.table.setModel(None)
        self.search.set_reader(None)
        if model is not None:
            model.deleteLater()
        workspace, self.workspace = self.workspace, None
        if workspace is not None:
            workspace.close()
        self._update_count()
        self._update_actions()
        self._update_revocation_notice()

    @Slot()
    def lock(self) -> None:
        """Close the workspace and ask for the passphrase again (non-blocking). During a
        bundle task, the task is cancelled first and the lock follows when it stops.

        Given a `relock` (the application always is), the window then hands the folder,
        the reason and its geometry to it, and the process starts again locked, so that
        no key, passphrase or case text stays in its memory. Without one (tests, or a
        window embedded elsewhere) it asks for the passphrase again in this process."""
        if self.workspace is None:
            return
        if self._busy:
            self._cancel_bundle_task("lock")
            return
        reason, self._lock_reason = self._lock_reason, ""
        self._close_open_dialogs()
        self._close_workspace()
        self.fingerprint_label.setText("")
        self.user_label.setText("")
        self.locked.emit()
        if self._relock is not None:
            self.setWindowTitle(APP_NAME)  # the office's name goes with its workspace
            self._relock(self.workspace_dir, reason, self.list_view(), self._user_name)
            return
        if reason:
            self.statusBar().showMessage(reason)
        dialog = UnlockDialog(
            self.workspace_dir,
            self,
            runner=self._runner,
            prompts=self._prompts,
            user=self._user_name or None,
        )
        dialog.unlocked.connect(self.set_workspace)
        dialog.rejected.connect(self.close)
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self._forget_unlock_dialog)
        self.unlock_dialog = dialog
        dialog.open()

    def list_view(self) -> ListView:
        """The window's place and the list's filters and order, for a restart after a lock."""
        header = self.table.horizontalHeader()
        status, category = self.filter_bar.choices()
        return ListView(
            geometry=bytes(self.saveGeometry().data()),
            status=status,
            category=category,
            sort_column=header.sortIndicatorSection(),
            sort_descending=header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder,
        )

    def show_list_view(self, view: ListView) -> None:
        """Put the window where it was and the list as it was before a lock's restart
        (a column that cannot be sorted, or a choice not offered, is left as it is)."""
        if view.geometry:
            self.restoreGeometry(QByteArray(view.geometry))
        self.filter_bar.choose(view.status, view.category)
        header = self.table.horizontalHeader()
        if 0 <= view.sort_column < header.count():
            order = (
                Qt.SortOrder.DescendingOrder
                if view.sort_descending
                else Qt.SortOrder.AscendingOrder
            )
            header.setSortIndicator(view.sort_column, order)

    @Slot()
    def _forget_unlock_dialog(self) -> None:
        self.unlock_dialog = None

    def _close_open_dialogs(self) -> None:
        """Cancel every dialog open over the window: none may outlive the lock.

        A modal prompt's `exec()` returns as cancelled, so the code that asked carries on
        and finds the workspace gone.
        """
        for dialog in self.findChildren(QDialog):
            if dialog.isVisible():
                dialog.reject()

    @Slot()
    def _lock_after_idle(self) -> None:
        """The idle watcher fired: lock, and say why on the status bar until unlocked."""
        if self.workspace is None:
            return
        minutes = round(self.idle_watcher.limit_seconds / 60)
        unit = "minute" if minutes == 1 else "minutes"
        self._lock_reason = f"Locked after {minutes} {unit} without use."
        self.lock()

    @Slot()
    def _lock_before_sleep(self) -> None:
        """The computer is going to sleep: lock, and say why after waking."""
        if self.workspace is None:
            return
        self._lock_reason = "Locked as the computer went to sleep."
        self.lock()

    # -- settings ------------------------------------------------------------------------

    @Slot()
    def show_settings(self) -> None:
        """Open the settings dialog (non-blocking); OK applies the new idle limit at once."""
        if self.workspace is None or self.settings_dialog is not None:
            return
        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(self._apply_settings)
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self._forget_settings_dialog)
        self.settings_dialog = dialog
        dialog.open()

    @Slot()
    def _forget_settings_dialog(self) -> None:
        self.settings_dialog = None

    @Slot()
    def _apply_settings(self) -> None:
        minutes = self.settings.idle_lock_minutes
        self.idle_watcher.set_limit(minutes * 60)
        if minutes:
            unit = "minute" if minutes == 1 else "minutes"
            text = f"Valise will lock after {minutes} {unit} without use."
        else:
            text = "Valise will not lock by itself; use File > Lock (Ctrl+L)."
        self.statusBar().showMessage(text, 5000)

    # -- peers and conflicts -------------------------------------------------------------

    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        """Show `widget` docked on the right; it is closed and dropped on lock."""
        old = self._docks.pop(name, None)
        if old is not None and shiboken6.isValid(old):
            old.close()
            old.deleteLater()
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{name}-dock")
        dock.setAccessibleName(title)
        dock.setWidget(widget)
        dock.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        others = [d for d in self._docks.values() if shiboken6.isValid(d) and d.isVisible()]
        if others:  # one view at a time beside the cases, the others a tab away
            self.tabifyDockWidget(others[-1], dock)
        else:  # the view gets more than half the window, the list keeps the rest
            share = dock_share(self.width())
            width = max(round(self.width() * share), dock.minimumSizeHint().width())
            self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        self._docks[name] = dock
        # Should a view ever go while its work runs, its count goes with it.
        dock.destroyed.connect(weakly(self._forget_busy, name, dock))
        dock.show()
        dock.raise_()
        focus_target(widget).setFocus()
        return dock

    def _close_docks(self) -> None:
        """Close every docked view (a person may already have closed some, which deleted
        them)."""
        for dock in self._docks.values():
            if shiboken6.isValid(dock):
                dock.close()
                dock.deleteLater()
        self._docks.clear()

    @Slot()
    def show_peers(self) -> None:
        """The peers list, with adding a contact card, verifying and revoking."""
        if self.workspace is None:
            return
        view = PeersView(self.workspace, prompts=self._prompts)
        view.peersChanged.connect(self._refresh_trust)  # a key revoked there is listed there
        self._dock("peers", "Peers", view)

    @Slot()
    def show_conflicts(self) -> None:
        """The conflict queue; settling one may change what the case list shows."""
        if self.workspace is None:
            return
        view = ConflictsView(self.workspace, prompts=self._prompts)
        view.resolved.connect(self._refresh_cases)
        view.resolved.connect(self._refresh_offices)  # a settled lead office, say
        self._dock("conflicts", "Conflicts", view)

    @Slot()
    def show_incoming(self) -> None:
        """The review of incoming changes: what each office changed in which case; a row
        opens its case."""
        if self.workspace is None or self._busy:
            return
        view = IncomingView(self.workspace)
        view.caseChosen.connect(self.open_case)
        self._dock("incoming", "Incoming changes", view)

    @Slot()
    def show_parked(self) -> None:
        """What imports kept aside, for what it waits and since when; a row opens its case."""
        if self.workspace is None or self._busy:
            return
        view = ParkedView(self.workspace)
        view.caseChosen.connect(self.open_case)
        self._dock("parked", "Parked", view)

    @Slot()
    def show_held_back(self) -> None:
        """What imports refused to apply: from whom, what, why; a row opens its case."""
        if self.workspace is None or self._busy:
            return
        view = HeldBackView(self.workspace)
        view.caseChosen.connect(self.open_case)
        self._dock("held_back", "Held back", view)

    @Slot()
    def show_trust(self) -> None:
        """Revocations of keys, advisories to decide, and the authorities named here."""
        if self.workspace is None or self._busy:
            return
        view = TrustView(self.workspace, prompts=self._prompts)
        view.changed.connect(self._update_revocation_notice)
        self._dock("trust", "Trust", view)

    @Slot()
    def _refresh_trust(self) -> None:
        """Reread the Trust view, when it is open, after a change made elsewhere."""
        dock = self._docks.get("trust")
        if dock is not None and shiboken6.isValid(dock):
            view = dock.widget()
            if isinstance(view, TrustView):
                view.refresh()

    @Slot()
    def _update_revocation_notice(self) -> None:
        """Show how many advisory revocations wait for a decision (hidden when none, or
        while locked); a few rows of statements, read on the UI thread."""
        waiting = 0 if self.workspace is None else advisories_waiting(self.workspace)
        self.revocation_notice.setText(f"{waiting_notice(waiting)} (Ctrl+Shift+T)")
        self.revocation_notice.setVisible(waiting > 0)

    @Slot()
    def show_sync_center(self) -> None:
        """The sync centre: bundles from a stick in, bundles for peers out. While one of
        its tasks runs on a worker thread it owns the workspace's connection, so the
        window keeps its hands off the database (`_set_busy`)."""
        if self.workspace is None or self._busy:
            return
        center = SyncCenter(self.workspace, self._database_runner, self._prompts)
        center.busy.connect(weakly(self._set_busy, "sync"))
        center.imported.connect(self._after_import)
        center.reviewRequested.connect(self.show_incoming)
        self._dock("sync", "Sync centre", center)

    @Slot()
    def show_audit(self) -> None:
        """The audit log with its filter and Verify (which runs on the worker)."""
        if self.workspace is None or self._busy:
            return
        view = AuditView(self.workspace, self._database_runner, self._prompts)
        view.busy.connect(weakly(self._set_busy, "audit"))
        self._dock("audit", "Audit log", view)

    @Slot()
    def show_users(self) -> None:
        """The office's users, for a supervisor: add one, set a passphrase, remove one.
        Adding and setting derive a key (Argon2id, about a second) on the worker."""
        if self.workspace is None or self._busy:
            return
        if not roles.permitted(self.workspace, roles.MANAGE_USERS):
            self.statusBar().showMessage(ONLY_SUPERVISORS, 5000)
            return
        view = UsersView(self.workspace, self._database_runner, self._prompts)
        view.busy.connect(weakly(self._set_busy, "users"))
        self._dock("users", "Users", view)

    @Slot()
    def show_rekey(self) -> None:
        """Ask a supervisor to confirm a rekey with their passphrase (ui.dialogs.rekey);
        it runs on the database worker, and the window locks when it is done."""
        if self.workspace is None or self._busy or self.rekey_dialog is not None:
            return
        if not roles.permitted(self.workspace, roles.MANAGE_KEYS):
            self.statusBar().showMessage(ONLY_SUPERVISORS_REKEY, 5000)
            return
        dialog = RekeyDialog(
            self.workspace,
            self._database_runner,
            self,
            prompts=self._prompts,
            choose_target=self._choose_escrow_file,
        )
        dialog.busy.connect(weakly(self._set_busy, "rekey"))
        dialog.rekeyed.connect(self._after_rekey)
        dialog.finished.connect(self._forget_rekey_dialog)
        dialog.finished.connect(dialog.deleteLater)
        self.rekey_dialog = dialog
        dialog.open()

    @Slot()
    def _forget_rekey_dialog(self) -> None:
        self.rekey_dialog = None

    @Slot(object)
    def _after_rekey(self, outcome: RekeyOutcome) -> None:
        """The rekey closed the workspace: say what it did (still busy, so nothing reads
        the closed database meanwhile), then lock as Ctrl+L does; the same passphrase
        unlocks. The busy state ends here (the dialog leaves it to the window), just before
        the lock drops the views, with no event handled in between."""
        self._prompts.inform(self, "Database key changed", outcome.text)
        self._set_busy(False, "rekey")
        self._lock_reason = REKEYED_REASON
        self.lock()

    @property
    def _busy(self) -> bool:
        """True while any view's worker task uses the workspace."""
        return bool(self._busy_owners)

    def _set_busy(self, on: bool, owner: str = "") -> None:
        """Keep the case list, the other views and the idle lock off the database while a
        worker task of the `owner` view runs; a lock or quit asked for meanwhile happens
        when the last task ends. Tasks of two views may overlap (a view starts one as it
        opens), so the window counts them per view: the list comes back only when none
        is left, and only the views with a task running stay usable (for their Cancel)."""
        if on:
            self._busy_owners[owner] += 1
        elif self._busy_owners[owner] > 0:
            self._busy_owners[owner] -= 1
        self._busy_owners = +self._busy_owners  # drop views with no task left
        busy = self._busy
        self.table.setEnabled(not busy)
        self.guide.setEnabled(not busy)
        self.filter_bar.setEnabled(not busy)
        self.search.setEnabled(not busy and self.workspace is not None)
        for name, dock in self._docks.items():
            if shiboken6.isValid(dock):
                working = name in self._busy_owners
                dock.setEnabled(not busy or working)
                # A view with work running stays open until the work ends (or is
                # cancelled): closed meanwhile, it could never say that it ended.
                features = dock.features()
                closable = QDockWidget.DockWidgetFeature.DockWidgetClosable
                dock.setFeatures(features & ~closable if working else features | closable)
        if busy:
            self.idle_watcher.stop()
            self.statusBar().showMessage("Working… the other views wait until this ends.")
        else:
            self.statusBar().clearMessage()
            if self.workspace is not None:
                self.idle_watcher.start()
        self._update_actions()
        if not busy and self._after_busy is not None:
            # After the views have handled their task's outcome (rereads on the open
            # workspace), not inside the signal that says it ended.
            QTimer.singleShot(0, self, self._after_work)

    def _after_work(self) -> None:
        """The lock or quit asked for while work ran, once no work runs."""
        if self._busy or self._after_busy is None:
            return
        action, self._after_busy = self._after_busy, None
        if action == "lock":
            self.lock()
        else:
            self.close()

    def _forget_busy(self, name: str, dock: QDockWidget) -> None:
        """A docked view was deleted: any work it counted can no longer end in it."""
        if self._docks.get(name) is not dock or not shiboken6.isValid(self.table):
            return  # replaced by a new view of that name, or the window is going
        if self._busy_owners.pop(name, 0):
            self._set_busy(False, name)

    def _cancel_bundle_task(self, then: str) -> None:
        """Ask the views' running work to stop; `then` ("lock" or "close") follows when it
        has. Bundles and evidence being added can be cancelled (nothing half-done is kept);
        a short write (a saved field) is let finish."""
        self._after_busy = then
        for name in list(self._busy_owners):
            dock = self._docks.get(name)
            if dock is None or not shiboken6.isValid(dock):
                continue
            view = dock.widget()
            for worker in (view, *view.findChildren(QWidget)):
                if isinstance(worker, SyncCenter | EvidenceTab):
                    worker.cancel()
        after = "locking" if then == "lock" else "quitting"
        self.statusBar().showMessage(f"Stopping the work in progress, then {after}…")

    @Slot(object)
    def _after_import(self, _reports: object) -> None:
        """New cases (with their lead offices), changes and conflicts may have arrived."""
        self._refresh_cases()
        self._refresh_offices()
        self._update_revocation_notice()
        for name in ("conflicts", "incoming", "parked", "held_back", "trust"):
            dock = self._docks.get(name)
            if dock is not None and shiboken6.isValid(dock):
                view = dock.widget()
                if isinstance(
                    view, ConflictsView | IncomingView | ParkedView | HeldBackView | TrustView
                ):
                    view.refresh()

    @Slot()
    def _refresh_cases(self) -> None:
        """Reread the list after a change. The lead offices are not reread here: no edit in
        the window changes them, and reading them takes 50 ms at 100,000 cases."""
        if self.model is not None and self.workspace is not None:
            self.model.refresh()

    def _refresh_offices(self) -> None:
        """Offer the lead offices the cases name now (after an import or a new case)."""
        if self.workspace is not None:
            self.filter_bar.set_offices(lead_offices(self.workspace.conn))

    @Slot(object)
    def _apply_filter(self, wanted: CaseFilter) -> None:
        if self.model is not None:
            self.model.set_filter(wanted)

    @Slot(str)
    def open_case(self, case_id: str) -> None:
        """Open a case in its own view beside the list (from the list or a search hit),
        and select it in the list when it is among the loaded rows."""
        if self.workspace is None or self._busy or not case_id:
            return
        self.select_case(case_id)
        view = CaseView(
            self.workspace,
            CaseId(case_id),
            prompts=self._prompts,
            runner=self._database_runner,
            extra_tabs=CASE_TABS,
        )
        view.changed.connect(self._refresh_cases)
        for index in range(view.tabs.count()):
            busy = getattr(view.tabs.widget(index), "busy", None)
            if isinstance(busy, SignalInstance):
                busy.connect(weakly(self._set_busy, "case"))
        self._dock("case", f"Case {view.case.reference}", view)

    @Slot(QModelIndex)
    def _open_activated(self, index: QModelIndex) -> None:
        if self.model is None or not index.isValid():
            return
        case_id = self.model.case_id(index.row())
        if case_id:
            self.open_case(str(case_id))

    # -- cases ---------------------------------------------------------------------------

    @Slot()
    def new_case(self) -> None:
        """Ask a title, record the case through the write path, then select it and open
        its view, where the overview takes the rest of its fields."""
        if self.workspace is None or self.model is None:
            return
        title = self._prompts.ask_text(self, "New case", "Title of the new case:")
        if title is None or not title.strip() or self.workspace is None:
            return  # cancelled, blank, or locked while the question was open
        try:
            case_id = add_case(self.workspace, title)
        except StorageError as exc:
            self._prompts.warn(self, "New case", str(exc))
            return
        except Exception as exc:  # a bug: logged and shown with copyable details
            self._prompts.report_bug(self, "New case", exc)
            return
        self.model.refresh()
        self._refresh_offices()
        self.open_case(case_id)
        self.statusBar().showMessage(f"Case {title.strip()} opened.", 5000)
        if self.workspace.awaiting_own_work:
            self._warn_number_may_be_taken(case_id)

    @Slot()
    def restore_selected_case(self) -> None:
        """Bring back the selected withdrawn case through the write path (a signed edit that
        syncs like any other), then show every case again with it selected."""
        if self.workspace is None or self.model is None or self._busy:
            return
        case_id = self.selected_case_id()
        if not case_id:
            self._prompts.inform(
                self,
                "Restore case",
                "Select the withdrawn case to bring back first: choose Status › Withdrawn"
                " above the list to see them.",
            )
            return
        try:
            restore_case(self.workspace, case_id)
        except StorageError as exc:
            self._prompts.warn(self, "Restore case", str(exc))
            return
        except Exception as exc:  # a bug: logged and shown with copyable details
            self._prompts.report_bug(self, "Restore case", exc)
            return
        reference = get(self.workspace.conn, Case, case_id).reference
        self.filter_bar.clear()  # every case again: the restored one is among them
        self._refresh_offices()
        self.select_case(case_id)
        self.statusBar().showMessage(
            f"Case {reference} is back; it reaches your peers with the next sync.", 5000
        )

    def _warn_number_may_be_taken(self, case_id: str) -> None:
        """After a restore, until a peer sent back the work done after the backup, a new
        reference may be one the lost laptop gave: say so, and what to do."""
        assert self.workspace is not None
        reference = get(self.workspace.conn, Case, case_id).reference
        self._prompts.inform(
            self,
            "New case",
            f"The case was given the reference {reference}. This workspace was restored from"
            " a backup and no peer has sent back yet the work this office did after it, so"
            f" the lost laptop may have given {reference} too. Sync with your peers (Sync ›"
            " Sync centre…); if two cases then share a reference, give one another with"
            " `valise case update ID --reference R`.",
        )

    def select_case(self, case_id: str) -> bool:
        """Select and scroll to a loaded case; False when it is not among the loaded rows."""
        if self.model is None:
            return False
        row = self.model.row_of(case_id)
        if row < 0:
            return False
        index = self.model.index(row, CaseTableModel.TITLE)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        return True

    def selected_case_id(self) -> str | None:
        """The id of the selected case, if any."""
        index = self.table.currentIndex()
        if self.model is None or not index.isValid():
            return None
        return self.model.case_id(index.row())

    # -- sorting and closing -------------------------------------------------------------

    @Slot(int, Qt.SortOrder)
    def _on_sort_requested(self, column: int, _order: Qt.SortOrder) -> None:
        """Put the indicator back when a column cannot be sorted by the database."""
        if self.model is not None and not self.model.is_sortable(column):
            self.table.horizontalHeader().setSortIndicator(
                self.model.sort_column, self.model.sort_order
            )

    def closeEvent(self, event: QCloseEvent) -> None:
        """Quitting locks: the audit head is anchored and the folder lock released. During
        a bundle task, the task is cancelled first and the window closes when it stops."""
        if self._busy:
            self._cancel_bundle_task("close")
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Close the workspace and any unlock dialog; safe to call more than once."""
        if self.unlock_dialog is not None:
            dialog, self.unlock_dialog = self.unlock_dialog, None
            dialog.rejected.disconnect(self.close)
            dialog.reject()
        try:
            self._close_workspace()
        except Exception:
            log.exception("closing the workspace failed")
