"""Child process for the import crash loop: unlock, say "go" on stderr, import, exit.

It imports only storage and sync, so the parent can kill it at moments spread over the
import itself rather than over interpreter start-up.
"""

from __future__ import annotations

import sys
from pathlib import Path

from storage.workspace import open_workspace
from sync.importer import import_paths


def main() -> int:
    """`python -m tests.sync.import_child WORKSPACE PASSPHRASE STICK`"""
    root, passphrase, stick = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    with open_workspace(root, passphrase) as ws:
        print("go", file=sys.stderr, flush=True)
        reports = import_paths(ws, [stick])
    print(" ".join(report.status for report in reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
