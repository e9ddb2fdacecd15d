"""Confidence intervals for eval accuracies: one frame's (Wilson) and two frames' difference
on the same items (paired, Agresti–Min)."""

from __future__ import annotations

import math


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval for a proportion (sound at 0 %, 100 % and small n)."""
    if total <= 0:
        return (0.0, 1.0)
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return (low, high)


def paired_difference(
    wins: int, losses: int, total: int, z: float = 1.959964
) -> tuple[float, float, float]:
    """Difference in accuracy between two frames on the same ``total`` items, with its 95 %
    interval: ``wins`` items only the first got right, ``losses`` items only the second did.
    Items both got right or both wrong do not move the difference but narrow its interval.

    The interval is Agresti–Min's (Wald on the paired table after adding ½ to each cell), so
    that it does not collapse to a point when no item differs."""
    if total <= 0:
        return (0.0, -1.0, 1.0)
    delta = (wins - losses) / total
    n, b, c = total + 2, wins + 0.5, losses + 0.5
    centre = (b - c) / n
    half = z * math.sqrt(max(((b + c) / n - centre * centre) / n, 0.0))
    return (delta, max(-1.0, centre - half), min(1.0, centre + half))
