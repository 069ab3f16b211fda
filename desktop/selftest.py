"""`valise self-test`: prove on this machine that the installation works end to end.

It creates a workspace in a temporary folder, records a case and an evidence file, checks
the evidence, the history, the audit chain and search, opens the Qt platform offscreen,
and removes everything. IT staff run it after installing a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from storage import cases, evidence, history, search
from storage.workspace import create_workspace, open_workspace

PASSPHRASE = "self-test passphrase that is long enough"  # noqa: S105 (throwaway workspace)


def _check(label: str, step: Callable[[], object]) -> bool:
    try:
        step()
    except Exception as exc:  # report and carry on, so every failing step is named
        print(f"FAIL  {label}: {type(exc).__name__}: {exc}")
        return False
    print(f"ok    {label}")
    return True


def _qt_offscreen() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(["valise-self-test"])
    from ui.fonts import load_fonts

    if load_fonts() is None:
        raise RuntimeError("the bundled fonts did not load; text would show as empty boxes")
    label = QLabel("Valise")
    label.show()
    app.processEvents()
    label.close()


def _bundled_files() -> None:
    """The files a build must carry beside the code: migrations, password list, fonts."""
    from importlib import resources

    from storage.migrations import available
    from ui.fonts import FONT_FILES, font_dirs

    if not available():
        raise RuntimeError("no schema migrations found")
    words = resources.files("storage").joinpath("data/common-passwords.txt")
    if not words.is_file():
        raise RuntimeError("the common-password list is missing")
    if not any(all((d / name).is_file() for name in FONT_FILES) for d in font_dirs()):
        raise RuntimeError(f"fonts missing: looked in {', '.join(map(str, font_dirs()))}")


def _gui_modules() -> None:
    """The desktop interface and every Qt module it uses load (a build may leave one out)."""
    import importlib

    importlib.import_module("desktop.gui")


def _bundle_round_trip(
    root: Path, folder: Path, case_id: str, expected: str, *, workers: bool
) -> None:
    """age encryption, signatures, staging and apply, as a real exchange does them; with
    `workers`, through the worker processes large bundles use (a build must let them start)."""
    from sync import evidence_parts, peers, verify_pool
    from sync.cards import parse_card
    from sync.export import export_bundle
    from sync.importer import import_paths

    name = "workers" if workers else "main"
    with (
        open_workspace(root, PASSPHRASE) as sender,
        create_workspace(folder / f"receiver-{name}", "Self-test liaison", PASSPHRASE) as receiver,
        _small_bundles_use_workers(evidence_parts, verify_pool, workers),
    ):
        peer = peers.add_peer(sender, parse_card(peers.card_bytes(receiver)), "liaison")
        peer = peers.verify_peer(sender, peer, receiver.fingerprint)  # side by side here
        to_sender = peers.add_peer(receiver, parse_card(peers.card_bytes(sender)), "office")
        peers.verify_peer(receiver, to_sender, sender.fingerprint)
        peers.share_case(sender, case_id, peer)
        result = export_bundle(sender, [peer], folder / f"stick-{name}")
        if workers and len(os.sched_getaffinity(0)) > 1:
            assert result.workers > 0, "the evidence workers did not start"
        reports = import_paths(receiver, [folder / f"stick-{name}"])
        assert [r.status for r in reports] == ["imported"], reports[0].message
        shas = [r[0] for r in receiver.conn.execute("SELECT sha256 FROM evidence")]
        assert shas == [expected], "the evidence did not arrive intact"


@contextlib.contextmanager
def _small_bundles_use_workers(
    evidence_parts: Any, verify_pool: Any, enabled: bool
) -> Iterator[None]:
    """Lower the sizes at which bundles use worker processes, for this check only."""
    if not enabled:
        yield
        return
    saved = (
        evidence_parts.PARALLEL_MIN_BYTES,
        evidence_parts.MIN_PART_BYTES,
        verify_pool.POOL_THRESHOLD,
    )
    evidence_parts.PARALLEL_MIN_BYTES, evidence_parts.MIN_PART_BYTES = 1, 1 << 20
    verify_pool.POOL_THRESHOLD = 1
    try:
        yield
    finally:
        (
            evidence_parts.PARALLEL_MIN_BYTES,
            evidence_parts.MIN_PART_BYTES,
            verify_pool.POOL_THRESHOLD,
        ) = saved


def run_self_test() -> int:
    """Run every step; 0 when all pass."""
    from desktop import __version__

    kind = "packaged build" if getattr(sys, "frozen", False) else "Python installation"
    print(f"valise {__version__} self-test ({kind}, Python {sys.version.split()[0]})")
    folder = Path(tempfile.mkdtemp(prefix="valise-self-test-"))
    try:
        root = folder / "workspace"
        sample = folder / "sample évidence.bin"
        sample.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
        expected = hashlib.sha256(sample.read_bytes()).hexdigest()
        state: dict[str, str] = {}

        def create() -> None:
            with create_workspace(root, "Self-test office", PASSPHRASE) as ws:
                state["case"] = cases.add_case(ws, "Self-test case", "checks the installation")
                state["evidence"] = evidence.add_evidence(ws, state["case"], sample)

        def verify() -> None:
            with open_workspace(root, PASSPHRASE) as ws:
                results = evidence.verify_all(ws)
                assert results and all(r.ok for r in results), "evidence verification failed"
                out = folder / "copy.bin"
                evidence.export_evidence(ws, state["evidence"], out)
                assert hashlib.sha256(out.read_bytes()).hexdigest() == expected
                assert all(e.signature_ok for e in history.log(ws.conn)), "bad signature"
                assert ws.verify_audit().ok, "audit chain broken"
                assert search.search(ws.conn, "self-test"), "search found nothing"

        def bundle() -> None:
            _bundle_round_trip(root, folder, state["case"], expected, workers=False)

        def bundle_with_workers() -> None:
            _bundle_round_trip(root, folder, state["case"], expected, workers=True)

        steps = [
            ("bundled files: migrations, password list, fonts", _bundled_files),
            ("create a workspace, add a case and evidence", create),
            ("unlock, verify evidence, export, history, audit, search", verify),
            ("send the case in a bundle to a second workspace", bundle),
            ("send it again through the worker processes", bundle_with_workers),
            ("start Qt offscreen", _qt_offscreen),
            ("load the desktop interface", _gui_modules),
        ]
        passed = all([_check(label, step) for label, step in steps])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("self-test passed" if passed else "self-test FAILED")
    sys.stdout.flush()
    return 0 if passed else 1
