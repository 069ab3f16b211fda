"""Small helpers: percentiles, durations and the printed layout."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

WIDTH = 58


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation between ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:,.3f} s" if seconds < 100 else f"{seconds:,.0f} s ({seconds / 60:.1f} min)"


def mbps(size: int, seconds: float) -> float:
    """Throughput in MB/s (1 MB = 1,000,000 bytes)."""
    return size / seconds / 1e6 if seconds > 0 else float("nan")


def heading(title: str) -> None:
    print()
    print(f"== {title} ==")


def row(label: str, value: str, note: str = "") -> None:
    text = f"  {label:<{WIDTH}} {value}"
    if note:
        text += f"   {note}"
    print(text.rstrip())


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
