"""Everything Qt Widgets: the main window, item models, dialogs and the task runner.

Only this package (and `desktop`, which assembles it) imports PySide6; `storage` and `sync`
stay headless so every capability also works from the command line and in plain tests.
"""
