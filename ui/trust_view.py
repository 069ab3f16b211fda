"""Trust: revocations of keys, the advisories a person decides, and the authorities named.

A revocation counts here when signed by the key's own holder, by this office, or by an
authority this office named (the tribunal liaison, say); anyone else's is an *advisory*
that changes nothing until a person here confirms it (this office then signs the same
revocation) or dismisses it. This view lists every revocation and retraction held here,
advisories waiting first, says each in words with both parties' short fingerprints, and
offers Confirm…, Dismiss… and, for a revocation this office signed, Retract…; each first
says what it will do. Below, the authorities named here, and Add an authority… from a
contact card whose fingerprint the authority reads out.

Every action is a call into sync.trust, the same functions `valise revocation` and `valise
authority` use: they audit it, and a confirmation or retraction is a signed statement that
reaches the peers with the next bundles. The statements are a few rows, read whole on the
UI thread as the Peers view reads the peers. Dialogs are injectable so tests and other
windows can supply them.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelection, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage import key_trust
from storage.errors import StorageError
from storage.workspace import Workspace
from sync import trust
from sync.cards import ContactCard
from sync.errors import BadCard
from ui.case_tabs.row_selection import select_row
from ui.dialogs._common import message_label
from ui.dialogs.trust_dialogs import AuthorityDialog, DecisionDialog
from ui.models.incoming_model import received
from ui.models.revocation_model import Revocation, RevocationModel
from ui.peers_view import OpenChooser, choose_card_file, load_card, sentence, shown_name
from ui.prompts import Prompts
from ui.summary_table import summary_and_table

TITLE = "Trust"
NOTHING_REVOKED = (
    "No key has been revoked here. A revocation signed by an office that is not an"
    " authority here would be listed for you to confirm or dismiss."
)
NO_AUTHORITY = (
    "No authority is named here: only this office and each key's own holder can revoke a"
    " key. A revocation anyone else signs waits for your decision."
)
COLUMN_SAMPLES = {
    RevocationModel.KEY_OF: "Kabora field office (office)",
    RevocationModel.STATUS: "Confirmed by this office",
    RevocationModel.SIGNED_BY: "Varosa Documentation Project (ngo)",
    RevocationModel.ACCEPTED_UP_TO: "none of its changes",
    RevocationModel.SIGNED: "2026-12-07 10:00:00",
}
AUTHORITY_ROWS = 4  # the authorities list shows this many before it scrolls

# (parent, title, what it will do, accept button text, with a reason) -> reason or None
DecisionAsker = Callable[[QWidget, str, str, str, bool], str | None]
# (parent, card, our fingerprint) -> the digits typed, matching its card, or None
AuthorityAsker = Callable[[QWidget, ContactCard, str], str | None]


def waiting_notice(waiting: int) -> str:
    """The notice of advisories waiting, e.g. "1 revocation waits for your decision"."""
    if waiting == 1:
        return "1 revocation waits for your decision"
    return f"{waiting:,} revocations wait for your decision"


class TrustView(QWidget):
    """Revocations (advisories first) with Confirm…, Dismiss… and Retract…, and the
    authorities with Add an authority….

    `changed` is emitted after a decision, a retraction or a new authority, so the window
    can update its notice of advisories waiting.
    """

    changed = Signal()

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        *,
        prompts: Prompts | None = None,
        choose_open: OpenChooser = choose_card_file,
        ask_decision: DecisionAsker = DecisionDialog.ask,
        ask_digits: AuthorityAsker = AuthorityDialog.ask,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._prompts = prompts or Prompts()
        self._choose_open = choose_open
        self._ask_decision = ask_decision
        self._ask_digits = ask_digits
        self.setAccessibleName(TITLE)

        self.model = RevocationModel(workspace, self)
        self.summary_label, self.table = summary_and_table(
            self,
            self.model,
            names=("Summary of the revocations", "Revocations of keys"),
            description=(
                "Revocations and retractions of keys held here, advisories waiting for your"
                " decision first: whose key, what it amounts to here, who signed it, after"
                " which of its changes nothing is accepted, why, and when."
            ),
            samples=COLUMN_SAMPLES,
            stretch=RevocationModel.REASON,
        )
        self.details_label = message_label("The selected revocation in words", self)
        self.confirm_button = self._button(
            "&Confirm…", "Confirm", "Sign the same revocation as this office: it counts here"
        )
        self.dismiss_button = self._button(
            "&Dismiss…", "Dismiss", "Set the advisory aside: nothing changes"
        )
        self.retract_button = self._button(
            "R&etract…", "Retract", "Withdraw a revocation this office signed"
        )
        self.confirm_button.clicked.connect(self.confirm_selected)
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        self.retract_button.clicked.connect(self.retract_selected)

        authorities_title = QLabel("Authorities over revocation", self)
        bold = authorities_title.font()
        bold.setBold(True)
        authorities_title.setFont(bold)
        self.authorities_label = message_label("About the authorities", self)
        self.authorities_list = QListWidget(self)
        self.authorities_list.setAccessibleName("Authorities")
        self.add_authority_button = self._button(
            "&Add an authority…",
            "Add an authority",
            "Name a key whose revocations count here, from its contact card",
        )
        self.add_authority_button.clicked.connect(self.add_authority)
        self.message_label = message_label("Trust message", self)

        decisions = QHBoxLayout()
        for button in (self.confirm_button, self.dismiss_button, self.retract_button):
            decisions.addWidget(button)
        decisions.addStretch(1)
        authority_row = QHBoxLayout()
        authority_row.addWidget(self.add_authority_button)
        authority_row.addStretch(1)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.addWidget(self.details_label)
        layout.addLayout(decisions)
        layout.addSpacing(8)
        layout.addWidget(authorities_title)
        layout.addWidget(self.authorities_label)
        layout.addWidget(self.authorities_list)
        layout.addLayout(authority_row)
        layout.addWidget(self.message_label)

        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._show_authorities()
        self._after_reading()
        if self.model.rowCount():
            self._select_row(0)

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(name)
        button.setToolTip(tip)
        return button

    # -- reading -------------------------------------------------------------------------

    def selected(self) -> Revocation | None:
        """The selected statement (as read at the last refresh), if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.revocation(rows[0].row()) if rows else None

    def select_statement(self, statement_id: str) -> bool:
        """Select a statement by its full id; False when it is not listed."""
        row = self.model.row_of(statement_id)
        if row < 0:
            return False
        self._select_row(row)
        return True

    def _select_row(self, row: int) -> None:
        select_row(self.table, row, RevocationModel.KEY_OF)

    @Slot()
    def refresh(self) -> None:
        """Reread the statements and the authorities (after an import), keeping the
        selection on the same statement when it is still listed."""
        current = self.selected()
        self.model.refresh()
        kept = current is not None and self.select_statement(current.entry.statement_id)
        if not kept and self.model.rowCount():
            self._select_row(0)
        self._show_authorities()
        self._after_reading()

    def _after_reading(self) -> None:
        waiting, total = self.model.waiting, self.model.rowCount()
        if waiting:
            self.summary_label.setText(
                f"{waiting_notice(waiting)}: an office that is not an authority here says a"
                " key is lost or compromised, and nothing changes until you confirm or"
                " dismiss it. Select a row to read who says what."
            )
        elif total:
            held = "statement" if total == 1 else "statements"
            self.summary_label.setText(
                f"No revocation waits for your decision. {total:,} {held} about keys are held here."
            )
        else:
            self.summary_label.setText(NOTHING_REVOKED)
        self._update_buttons()

    def _show_authorities(self) -> None:
        named = trust.list_authorities(self._ws)
        self.authorities_list.clear()
        for authority in named:
            self.authorities_list.addItem(
                f"{shown_name(authority.office_name)}: fingerprint {authority.fingerprint}"
            )
            item = self.authorities_list.item(self.authorities_list.count() - 1)
            item.setToolTip(f"Named here on {received(authority.named_at)} UTC")
        self.authorities_list.setVisible(bool(named))
        # As tall as its rows (up to AUTHORITY_ROWS), so the revocations keep the room.
        rows = min(max(len(named), 1), AUTHORITY_ROWS)
        frame = 2 * self.authorities_list.frameWidth()
        row = max(self.authorities_list.sizeHintForRow(0), self.fontMetrics().height() + 4)
        self.authorities_list.setFixedHeight(rows * row + frame)
        self.authorities_label.setText(
            "Revocations and retractions signed by these keys count here without asking you."
            if named
            else NO_AUTHORITY
        )

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        shown = self.selected()
        self.details_label.setText(shown.sentence if shown else "")
        self.details_label.setVisible(shown is not None)
        self.confirm_button.setEnabled(shown is not None and shown.confirmable)
        self.dismiss_button.setEnabled(shown is not None and shown.is_advisory)
        self.retract_button.setEnabled(shown is not None and shown.retractable)

    def _done(self, statement_id: str, message: str) -> None:
        self.refresh()
        self.select_statement(statement_id)
        self.message_label.setText(message)
        self.changed.emit()

    def _attempt(self, title: str, change: Callable[[], object]) -> bool:
        """Make a change through sync.trust; a refusal is shown as a sentence and a bug
        reported with details. True when it was made."""
        try:
            change()
        except StorageError as exc:
            self._prompts.warn(self, title, sentence(str(exc)))
            return False
        except Exception as exc:  # a bug: logged and shown with copyable details
            self._prompts.report_bug(self, title, exc)
            return False
        return True

    # -- decisions -----------------------------------------------------------------------

    def _decide(
        self,
        title: str,
        text: str,
        accept_text: str,
        act: Callable[[str, str], object],
        done: str,
        *,
        with_reason: bool = False,
    ) -> None:
        """Say what an action on the selected statement will do (`text`); once the person
        goes ahead, `act(statement id, reason)` through sync.trust, then say `done`."""
        shown = self.selected()
        assert shown is not None
        reason = self._ask_decision(self, title, text, accept_text, with_reason)
        if reason is None:
            return  # a cancel is silent
        statement = shown.entry.statement_id
        if self._attempt(title, lambda: act(statement, reason)):
            self._done(statement, done)

    @Slot()
    def confirm_selected(self) -> None:
        """Say what confirming the selected advisory does; once accepted, this office signs
        the same revocation (it counts here, and travels with the next bundles)."""
        shown = self.selected()
        if shown is None or not shown.confirmable:
            return
        name = shown.subject.name if shown.subject.known else "that office"
        self._decide(
            "Confirm a revocation",
            f"{shown.signer_text} says the key of {shown.subject_text} is lost or"
            " compromised. If you confirm, this office signs the same revocation: nothing"
            f" will be sent to {name} any more, and {shown.refused_changes} will be held"
            " back, here and, once the next bundles reach them, at the offices that name"
            " this office as an authority. Only this office can retract it later.",
            "&Confirm revocation",
            lambda statement, _reason: trust.confirm_advisory(self._ws, statement),
            f"Confirmed: this office signed the revocation of the key of {shown.subject_text};"
            " it counts here now, and reaches your peers with the next bundles.",
        )

    @Slot()
    def dismiss_selected(self) -> None:
        """Say what dismissing the selected advisory does (nothing changes); once accepted,
        set it aside (it stays listed, and the decision is audited)."""
        shown = self.selected()
        if shown is None or not shown.is_advisory:
            return
        name = shown.subject.name if shown.subject.known else "that office"
        self._decide(
            "Dismiss a revocation",
            f"Set aside what {shown.signer_text} says about the key of {shown.subject_text}?"
            f" Nothing changes: {name} stays trusted here and bundles are still written for"
            " it. The advisory stays listed as set aside, and your decision is recorded in"
            " the audit log.",
            "&Dismiss advisory",
            lambda statement, _reason: trust.dismiss_advisory(self._ws, statement),
            f"Set aside: the key of {shown.subject_text} stays trusted here.",
        )

    @Slot()
    def retract_selected(self) -> None:
        """Say what retracting a revocation this office signed does, take a reason, and
        once accepted sign the retraction (it travels with the next bundles)."""
        shown = self.selected()
        if shown is None or not shown.retractable:
            return
        self._decide(
            "Retract a revocation",
            f"Retract this office's revocation of the key of {shown.subject_text}? From now"
            f" on {shown.refused_changes} are accepted here again, and bundles are written"
            " for it again. Offices that name this office as an authority follow once the"
            " next bundles reach them; elsewhere the retraction is an advisory.",
            "R&etract revocation",
            lambda statement, reason: trust.retract_revocation(self._ws, statement, reason),
            f"Retracted: the key of {shown.subject_text} counts here again; the retraction"
            " reaches your peers with the next bundles.",
            with_reason=True,
        )

    # -- authorities ---------------------------------------------------------------------

    @Slot()
    def add_authority(self) -> None:
        """Read a card file and ask for the digits the authority reads out; only when they
        match is its key named (the same call as `valise authority add`)."""
        title = "Add an authority"
        path = self._choose_open(self, "Open the authority's contact card")
        if path is None:
            return
        try:
            card = load_card(path)
        except BadCard as exc:
            self._prompts.warn(
                self,
                title,
                f"{exc} Ask the authority for its contact card file again. Nothing was changed.",
            )
            return
        except Exception as exc:  # a bug: logged and shown with copyable details
            self._prompts.report_bug(self, title, exc)
            return
        refusal = self._refusal(card)
        if refusal:
            self._prompts.warn(self, title, refusal)
            return
        digits = self._ask_digits(self, card, self._ws.fingerprint)
        if digits is None:
            return  # a cancel is silent
        if not self._attempt(title, lambda: trust.name_authority_card(self._ws, card, digits)):
            return
        self.refresh()
        self.message_label.setText(
            f"{shown_name(card.office_name)} is named as an authority here: its revocations"
            " and retractions of other keys now count at this office."
        )
        self.changed.emit()

    def _refusal(self, card: ContactCard) -> str:
        """Why `card` cannot be named as an authority before any digits are asked."""
        if card.origin in key_trust.own_origins(self._ws.conn):
            return (
                "That is this office's own contact card: this office's revocations count"
                " here already. Choose the card the authority sent. Nothing was changed."
            )
        if trust.is_authority_here(self._ws, card.origin):
            return (
                f"{shown_name(card.office_name)} is already named as an authority here."
                " Nothing was changed."
            )
        return ""
