"""The layering rule: storage and sync never import Qt or anything of ours above them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "storage": ("PySide6", "shiboken6", "desktop", "ui", "sync"),
    "sync": ("PySide6", "shiboken6", "desktop", "ui"),
    "ui": ("desktop",),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upwards_or_qt(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & set(FORBIDDEN[package]))
        for path in (ROOT / package).rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_storage_imports_without_qt_loaded() -> None:
    """Importing every storage module in a fresh interpreter loads no Qt module."""
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, storage, sync\n"
        "for m in pkgutil.walk_packages(storage.__path__, 'storage.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert not [n for n in sys.modules if n.startswith('PySide6')], 'Qt loaded'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
