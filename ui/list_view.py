"""What of the case list a lock's restart keeps; no Qt here, so `desktop.relock` can
read it at every start (the command line too) without loading Qt."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListView:
    """What of the case list survives a lock's restart: the window's geometry (Qt's
    `saveGeometry` bytes), the status and category filters and the sort column and
    order. Nothing from the workspace (the lead-office filter names an office, and
    is not kept); forms and docked views are closed by a lock, as they always were."""

    geometry: bytes = b""
    status: str = ""
    category: str = ""
    sort_column: int = -1
    sort_descending: bool = True
