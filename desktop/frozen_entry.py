"""The script PyInstaller freezes (see build.spec): the same `valise` entry point as pip's.

PyInstaller needs a script rather than a `module:function` entry point. Running
`desktop/main.py` itself would load it twice (as `__main__` and as `desktop.main`), so this
file only imports the real entry point and exits with its code.

The packaged program is also its own preview renderer (`ui.preview_process` starts it with
`PREVIEW_WORKER_ARG` as its only argument): that is checked first, before the application
is imported, so the renderer loads no more than it needs.
"""

from __future__ import annotations

import multiprocessing
import sys

if __name__ == "__main__":
    from ui.preview_worker import PREVIEW_WORKER_ARG

    if sys.argv[1:] == [PREVIEW_WORKER_ARG]:
        from ui.preview_worker import main as preview_worker_main

        sys.exit(preview_worker_main())
    # Large bundle imports verify signatures in a worker process (sync.verify_pool); a
    # frozen program must let such a worker start instead of running the application.
    multiprocessing.freeze_support()
    from desktop.main import main

    sys.exit(main())
