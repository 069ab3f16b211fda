"""Suite-wide set-up: offscreen Qt before anything imports it, and fast workspaces.

Key derivation uses deliberately weak Argon2id parameters here (and only here) so that the
suite can create hundreds of workspaces; production code always uses the standard cost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["VALISE_KDF_PROFILE"] = "fast-insecure-test"

import pytest

from storage import users
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace, open_workspace
from ui.paint_threads import paint_on_one_thread

# Tests paint as the application does: on the GUI thread alone (ui/paint_threads.py; set
# before pytest-qt makes the QApplication).
paint_on_one_thread()

PASSPHRASE = "correct horse battery staple"
# The template's one user is a supervisor, who may not reveal identities nor change a
# person's protection (storage.roles); tests that do unlock as this protection officer.
OFFICER = "Pia"
OFFICER_PASSPHRASE = "a protection officer's own passphrase"


def add_officer(ws: Workspace) -> None:
    """Give the workspace (unlocked by its supervisor) the protection officer OFFICER."""
    users.add_user(ws, OFFICER, users.PROTECTION_OFFICER, OFFICER_PASSPHRASE)


@pytest.fixture(scope="session")
def template_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One empty workspace made once; tests copy it rather than creating their own."""
    root = tmp_path_factory.mktemp("template") / "ws"
    create_workspace(
        root,
        "Kabora field office",
        PASSPHRASE,
        office_code="KAB",
        situation="VAR",
        kdf=FAST_INSECURE_KDF,
    ).close()
    return root


@pytest.fixture
def workspace_dir(template_workspace: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template workspace folder (locked, not open)."""
    target = tmp_path / "ws"
    shutil.copytree(template_workspace, target)
    return target


@pytest.fixture
def ws(workspace_dir: Path) -> Iterator[Workspace]:
    """An unlocked workspace, closed after the test."""
    workspace = open_workspace(workspace_dir, PASSPHRASE)
    yield workspace
    workspace.close()


@contextlib.contextmanager
def acting_as_officer(ws: Workspace) -> Iterator[Workspace]:
    """Act in `ws` (unlocked by its supervisor) as its protection officer, added if
    missing, for one step only they may take, in a test about something else whose
    workspace must stay open (a network's). The user row, the author of what is signed and
    the role are the officer's; unlocking as them is tested in tests/storage/test_roles.py."""
    if not any(user.name == OFFICER for user in users.all_users(ws.conn)):
        add_officer(ws)
    before = ws.user
    ws.user = users.find_user(ws.conn, OFFICER)
    try:
        yield ws
    finally:
        ws.user = before


@pytest.fixture(scope="session")
def officer_template(template_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template workspace with a protection officer beside its supervisor."""
    root = tmp_path_factory.mktemp("officer-template") / "ws"
    shutil.copytree(template_workspace, root)
    with open_workspace(root, PASSPHRASE) as ws:
        add_officer(ws)
    return root


@pytest.fixture
def officer_ws(officer_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace unlocked by its protection officer (who records, reveals
    identities and changes protection), closed after the test."""
    target = tmp_path / "ws"
    shutil.copytree(officer_template, target)
    workspace = open_workspace(target, OFFICER_PASSPHRASE, user=OFFICER)
    yield workspace
    workspace.close()


@pytest.fixture
def cli_env(workspace_dir: Path) -> dict[str, str]:
    """Environment for running the `valise` command line against `workspace_dir`."""
    env = dict(os.environ)
    env["VALISE_WORKSPACE"] = str(workspace_dir)
    env["VALISE_PASSPHRASE"] = PASSPHRASE
    return env


@pytest.fixture(scope="session", autouse=True)
def private_qt_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Qt settings written or read by any test live in a temporary folder, never in the
    developer's own configuration (a default `QSettings()` would use ~/.config)."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("qt-settings"))
    for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(kind, QSettings.Scope.UserScope, folder)
        QSettings.setPath(kind, QSettings.Scope.SystemScope, folder)
