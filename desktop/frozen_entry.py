"""The script PyInstaller freezes (see build.spec): the same `valise` entry point as pip's.

PyInstaller needs a script rather than a `module:function` entry point. Running
`desktop/main.py` itself would load it twice (as `__main__` and as `desktop.main`), so this
file only imports the real entry point and exits with its code.
"""

from __future__ import annotations

import multiprocessing
import sys

from desktop.main import main

if __name__ == "__main__":
    # Large bundle imports verify signatures in a worker process (sync.verify_pool); a
    # frozen program must let such a worker start instead of running the application.
    multiprocessing.freeze_support()
    sys.exit(main())
