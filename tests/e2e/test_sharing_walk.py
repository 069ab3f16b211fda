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
