"""After a lock, the live `valise` process holds no key, passphrase or case text.

The real application on a real X display: unlock, open a case (and preview an evidence
file), press Ctrl+L, and read the whole memory of the process (`/proc/PID/mem`) for the
database key (raw, and as hex in both cases), the Ed25519 and X25519 private keys, the
passphrase (UTF-8, UTF-16, UCS-4) and marker texts (a case title, a protected name, an
evidence file's content). Before the lock the same scan finds the case title and the key:
the scan works. After it, 0 copies of each: the lock re-executes the program
(`desktop.relock`), so nothing of the unlocked session is left to find.

`valise evidence get` is a process of its own that ends when the file is written: after
it there is no process left to scan. Its bytes in the window are covered by the preview.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop.relock import EXEC_STAMP_ENV
from storage import evidence
from storage.cases import add_case, add_person
from tests.conftest import PASSPHRASE
from tests.e2e.memory import Hit, forms_of_text, scan, why_unreadable
from tests.e2e.steps import KABORA, MAIN, UNLOCK, assert_windows, new_office, unlock
from tests.e2e.x11 import ValiseApp, XSession, wait_for

Shot = Callable[[str], Path]


def _prepare(folder: Path, evidence_text: str | None) -> tuple[dict[str, bytes], str]:
    """A workspace with one case titled by a unique marker, a protected person and
    (maybe) a text evidence file; the secrets and markers to look for, and the title."""
    token = secrets.token_hex(8)
    title = f"Markercase {token} river crossing"
    protected_name = f"Protectedname {token}"
    ws = new_office(folder, KABORA)
    try:
        case = add_case(ws, title)
        add_person(ws, case, "witness", name=protected_name, protected=True)
        if evidence_text is not None:
            source = folder.parent / "statement.txt"
            source.write_text(evidence_text, "utf-8")
            evidence.add_evidence(ws, case, source)
            source.unlink()
        key = bytes(ws._key)
        signing = ws.keys.signing_private
        encryption = ws.keys.encryption_private
    finally:
        ws.close()
    needles = {
        "database key (raw)": key,
        "database key (hex)": key.hex().encode(),
        "database key (HEX)": key.hex().upper().encode(),
        "Ed25519 private key": signing,
        "X25519 private key": encryption,
        **forms_of_text("passphrase", PASSPHRASE),
        **forms_of_text("case title", title),
        **forms_of_text("protected name", protected_name),
    }
    if evidence_text is not None:
        needles.update(forms_of_text("evidence text", evidence_text))
    return needles, title


def _readable_or_skip(app: ValiseApp) -> None:
    reason = why_unreadable(app.pid)
    if reason is not None:
        pytest.skip(reason)


def _found(hits: list[Hit]) -> set[str]:
    return {hit.needle for hit in hits}


def _describe(hits: list[Hit]) -> str:
    return "\n".join(str(hit) for hit in hits[:40]) + (
        f"\n… and {len(hits) - 40} more" if len(hits) > 40 else ""
    )


def _lock_and_wait_for_the_new_image(x: XSession, app: ValiseApp) -> float:
    """Ctrl+L; the seconds until the same process id shows the unlock dialog alone (the
    main window went with the old process image)."""
    started = time.monotonic()
    x.key("ctrl+l")
    app.wait_for_window(UNLOCK)
    elapsed = time.monotonic() - started
    assert_windows(app, UNLOCK)
    return elapsed


def _open_files(pid: int) -> list[str]:
    """What the process's descriptors point at, sorted, with socket and pipe numbers
    dropped (a new X connection has a new number, but is still one connection)."""
    targets = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            targets.append(re.sub(r":\[\d+\]$", "", os.readlink(fd)))
        except OSError:
            continue
    return sorted(targets)


def _children(pid: int) -> list[str]:
    """The command lines of `pid`'s child processes (zombies included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(cmdline.strip() or stat.split()[1])
    return found


def _open_the_case(x: XSession, app: ValiseApp, needles: dict[str, bytes]) -> list[Hit]:
    """Enter on the first case of the list; the scan once the title is in memory."""
    x.key("Down", "Return")

    def shown() -> list[Hit] | None:
        hits = scan(app.pid, needles)
        return hits if "case title (UTF-16)" in _found(hits) else None

    return wait_for("the case title in the window's memory", shown)


def test_after_a_lock_no_key_passphrase_or_case_text_is_left_in_the_process(
    x_session: XSession,
    start_valise: Callable[..., ValiseApp],
    shot: Shot,
    tmp_path: Path,
) -> None:
    x = x_session
    folder = tmp_path / "workspace"
    needles, _title = _prepare(folder, None)
    exec_stamp = tmp_path / "exec-stamp"
    app = start_valise(folder, {EXEC_STAMP_ENV: str(exec_stamp)})  # when the old image goes
    app.wait_for_window(UNLOCK)
    fresh_start = _open_files(app.pid)
    unlock(x, app)
    _readable_or_skip(app)
    before = _open_the_case(x, app, needles)
    shot("case-open")
    # The control: the scan finds what the unlocked process holds.
    assert {"case title (UTF-8)", "case title (UTF-16)", "database key (raw)"} <= _found(before)

    pid = app.pid
    pressed = time.monotonic()
    seconds = _lock_and_wait_for_the_new_image(x, app)
    to_exec = float(exec_stamp.read_text()) - pressed
    shot("locked")
    assert app.pid == pid
    after = scan(app.pid, needles)
    assert not after, f"left in memory after the lock:\n{_describe(after)}"
    # What a fresh start holds (one X connection, the log), no more: no database, key
    # file or folder lock, and the old image's X connection was closed, not inherited.
    assert _open_files(app.pid) == fresh_start
    print(
        f"Ctrl+L to the exec that replaces the memory: {to_exec:.2f} s; to the unlock dialog"
        f" of the new process image: {seconds:.2f} s"
    )

    # The new image unlocks as the old one did, and quits cleanly.
    unlock(x, app)
    shot("unlocked-again")
    x.key("ctrl+q")
    assert app.wait_for_exit() == 0, app.output()
    assert "Traceback" not in app.output(), app.output()


def test_after_a_preview_and_a_lock_no_evidence_text_is_left_in_the_process(
    x_session: XSession, start_valise: Callable[[Path], ValiseApp], shot: Shot, tmp_path: Path
) -> None:
    x = x_session
    folder = tmp_path / "workspace"
    text = f"Evidencemarker {secrets.token_hex(8)}: the convoy left at dawn."
    needles, _title = _prepare(folder, text)
    app = start_valise(folder)
    unlock(x, app)
    _readable_or_skip(app)
    _open_the_case(x, app, needles)
    x.key("ctrl+Tab", "ctrl+Tab", "ctrl+Tab")  # Overview, Persons, Notes, Evidence

    def previewed() -> list[Hit] | None:
        hits = scan(app.pid, needles)
        return hits if "evidence text (UTF-16)" in _found(hits) else None

    wait_for("the evidence preview in the window's memory", previewed)
    x.key("alt+w")  # the Preview tab, to see it on the screenshot
    shot("evidence-previewed")
    assert app.window(MAIN) is not None
    # The preview was made by a renderer process (ui.preview_process), which is gone;
    # the next one waits, started ahead.
    assert [c for c in _children(app.pid) if "preview" in c], _children(app.pid)

    _lock_and_wait_for_the_new_image(x, app)
    shot("locked")
    after = scan(app.pid, needles)
    assert not after, f"left in memory after the lock:\n{_describe(after)}"
    # The lock ended the renderer started ahead; the new image has no child to reap.
    assert not [c for c in _children(app.pid) if "preview" in c], _children(app.pid)
