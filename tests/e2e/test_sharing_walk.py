"""Sharing with partners, walked as a person does it in the real `valise` process: verify a
peer by typing the digits it reads out, record a witness's consent per audience in the
person's form, and release an evidence item to a partner (refused while consent forbids it).

Workspaces are prepared before `valise` starts (a partner's contact card added, an item
registered, as a colleague at the command line would); everything inside the process is
done with real keys through the X server. Each step leaves a screenshot in
`tests/e2e/artifacts/<test>/`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from storage import cases, evidence, queries
from storage.consent import consent_history, current_consent
from storage.records import Evidence, Person
from storage.releases import releases_of
from sync import peer_state, peers
from tests.e2e.steps import (
    KABORA,
    MAIN,
    NGO,
    Shot,
    assert_windows,
    know_each_other,
    new_office,
    quit_with_ctrl_q,
    reopen,
    unlock,
)
from tests.e2e.x11 import ValiseApp, XSession

VERIFY = r"^Verify a peer — Valise$"


def wrong_by_one_digit(fingerprint: str) -> str:
    """The fingerprint as a person might mishear it: its last digit changed."""
    last = fingerprint[-1]
    return fingerprint[:-1] + ("1" if last != "1" else "2")


def test_verify_a_peer_wrong_digits_first_then_the_right_ones(
    x_session: XSession, start_valise: Callable[[Path], ValiseApp], shot: Shot, tmp_path: Path
) -> None:
    x = x_session
    kabora = new_office(tmp_path / "kabora", KABORA, "KAB")
    ngo = new_office(tmp_path / "ngo", NGO)
    know_each_other(kabora, ngo, "ngo", verified=False)
    fingerprint = ngo.fingerprint
    folder = kabora.paths.root
    kabora.close()
    ngo.close()

    app = start_valise(folder)
    unlock(x, app)
    # Sync › Peers… (Ctrl+Shift+P) docks the list with the focus in it; Down selects the
    # one peer, Alt+V is "Mark as verified…".
    x.key("ctrl+shift+p")
    x.key("Down")
    shot("peers")
    x.key("alt+v")
    app.wait_for_window(VERIFY)
    assert_windows(app, MAIN, VERIFY)
    shot("verify-dialog")
    x.key("Return")  # nothing typed yet: Verify is off, and Enter closes nothing
    app.wait_for_window(VERIFY)
    assert_windows(app, MAIN, VERIFY)

    # Digits misheard: Enter keeps the dialog open with the sentence, the field selected.
    x.type_text(wrong_by_one_digit(fingerprint))
    x.key("Return")
    shot("wrong-digits")
    app.wait_for_window(VERIFY)
    assert_windows(app, MAIN, VERIFY)
    # Escape: nothing recorded.
    x.key("Escape")
    app.wait_until_gone(VERIFY)
    app.wait_for_window(MAIN)
    shot("cancelled")
    quit_with_ctrl_q(x, app)
    with reopen(folder) as ws:
        [peer] = peers.list_peers(ws)
        assert not peer.verified
        assert peer_state.on_probation(ws, peer)

    # Again, and this time the digits read out right (typed with other spacing).
    app = start_valise(folder)
    unlock(x, app)
    x.key("ctrl+shift+p")
    x.key("Down", "alt+v")
    app.wait_for_window(VERIFY)
    x.type_text(wrong_by_one_digit(fingerprint))
    x.key("Return")
    app.wait_for_window(VERIFY)
    x.type_text(fingerprint.replace(" ", "-"))  # the wrong digits were selected: replaced
    shot("right-digits")
    x.key("Return")
    app.wait_until_gone(VERIFY)
    app.wait_for_window(MAIN)
    assert_windows(app, MAIN)
    shot("verified")
    quit_with_ctrl_q(x, app)
    with reopen(folder) as ws:
        [peer] = peers.list_peers(ws)
        assert peer.verified
        assert not peer_state.on_probation(ws, peer)


ADD_PERSON = r"^Add a person — Valise$"
EDIT_PERSON = r"^Edit person — Valise$"
RELEASE = r"^Release KAB-.* — Valise$"
CASE_TITLE = "Shelling of the Kabora market"
WITNESS = "Amira Haddad"
PSEUDONYM = "W-0042"


def prepare_case_with_a_statement(tmp_path: Path) -> tuple[Path, str, str]:
    """Kabora's workspace with a case and a witness statement whose source is the witness's
    pseudonym (so it identifies her), and the NGO known as a verified partner: the folder,
    the statement's id and the NGO's origin."""
    kabora = new_office(tmp_path / "kabora", KABORA, "KAB")
    ngo = new_office(tmp_path / "ngo", NGO)
    partner = know_each_other(kabora, ngo, "ngo")
    case_id = cases.add_case(kabora, CASE_TITLE)
    statement = tmp_path / "statement-w42.txt"
    statement.write_text("What I saw at the market on the morning of the shelling.\n")
    item = evidence.add_evidence(
        kabora, case_id, statement, title="Statement of W-0042", source=PSEUDONYM
    )
    folder = kabora.paths.root
    kabora.close()
    ngo.close()
    return folder, str(item), partner.origin


def set_partners_consent(x: XSession, app: ValiseApp, shot: Shot, letter: str, step: str) -> None:
    """In the Persons tab: Alt+E edits the selected person; Tab past role, pseudonym,
    protection, languages and consent notes to the four audiences, each chosen by its first
    letter (prosecution and tribunal Given, partners `letter`, public Refused); Enter
    saves."""
    x.key("alt+e")
    app.wait_for_window(EDIT_PERSON)
    assert_windows(app, MAIN, EDIT_PERSON)
    x.key("Tab", "Tab", "Tab", "Tab", "Tab")
    x.type_text("g")  # prosecution: Given
    x.key("Tab")
    x.type_text("g")  # tribunal: Given
    x.key("Tab")
    x.type_text(letter)  # partners
    x.key("Tab")
    x.type_text("r")  # public: Refused
    shot(step)
    x.key("Return")
    app.wait_until_gone(EDIT_PERSON)
    app.wait_for_window(MAIN)


def open_release_dialog(x: XSession, app: ValiseApp) -> None:
    """In the Evidence tab with an item selected: Alt+N to its classification, then Tab
    past Save and Save a copy to Release…, and Space."""
    x.key("alt+n", "Tab", "Tab", "Tab", "space")
    app.wait_for_window(RELEASE)
    assert_windows(app, MAIN, RELEASE)


def test_consent_per_audience_then_a_release_refused_and_one_made(
    x_session: XSession, start_valise: Callable[[Path], ValiseApp], shot: Shot, tmp_path: Path
) -> None:
    x = x_session
    folder, item_id, ngo_origin = prepare_case_with_a_statement(tmp_path)
    app = start_valise(folder)
    unlock(x, app)

    # Open the case (Enter in the list), Ctrl+Tab to Persons, Alt+A to add the witness:
    # her name, Tab to the role (W for Witness), Tab, Space for Protected, Tab, pseudonym.
    x.key("Down", "Return")
    x.key("ctrl+Tab")
    x.key("alt+a")
    app.wait_for_window(ADD_PERSON)
    x.type_text(WITNESS)
    x.key("Tab")
    x.type_text("w")
    x.key("Tab", "space", "Tab")
    x.type_text(PSEUDONYM)
    shot("add-person")
    x.key("Return")
    app.wait_until_gone(ADD_PERSON)
    app.wait_for_window(MAIN)
    shot("person-added")

    # Consent: partners Refused.
    set_partners_consent(x, app, shot, "r", "consent-partners-refused")
    shot("consent-saved")

    # Evidence tab (Ctrl+Tab twice more): Release… says why not, and Release stays off.
    x.key("ctrl+Tab", "ctrl+Tab")
    shot("evidence-tab")
    open_release_dialog(x, app)
    x.type_text("v")  # Varosa Documentation Project (ngo)
    shot("release-refused")
    x.key("Return")  # Release is disabled: Enter releases nothing, the dialog stays
    app.wait_for_window(RELEASE)
    x.key("Escape")
    app.wait_until_gone(RELEASE)
    app.wait_for_window(MAIN)

    # Back to Persons (Ctrl+Shift+Tab twice): partners Given; then the release goes.
    x.key("ctrl+shift+Tab", "ctrl+shift+Tab")
    set_partners_consent(x, app, shot, "g", "consent-partners-given")
    x.key("ctrl+Tab", "ctrl+Tab")
    open_release_dialog(x, app)
    x.type_text("v")
    shot("release-allowed")
    x.key("Return")
    app.wait_until_gone(RELEASE)
    app.wait_for_window(MAIN)
    shot("released")
    quit_with_ctrl_q(x, app)

    with reopen(folder) as ws:
        [person] = queries.in_case(ws.conn, Person, queries.get(ws.conn, Evidence, item_id).case_id)
        assert person.pseudonym == PSEUDONYM and person.is_protected
        assert person.role == "witness"
        history = [(s.audience, s.decision) for s in consent_history(ws.conn, person.id)]
        assert ("partners", "refused") in history
        standing = {a: s.decision for a, s in current_consent(ws.conn, person.id).items()}
        assert standing == {
            "prosecution": "given",
            "tribunal": "given",
            "partners": "given",
            "public": "refused",
        }
        [made] = releases_of(ws.conn, item_id)
        assert made.grantee_origin == ngo_origin and not made.with_file_name
