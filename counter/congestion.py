"""How long the wait is: pure arithmetic, no ORM, so views, the API and tests share it."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Below this many finished tickets today, today's mean is noise: use the service's default.
MIN_SAMPLES_TODAY = 3


def typical_service_minutes(
    *, finished_today: int, mean_seconds_today: float | None, default_minutes: int
) -> float:
    """Minutes one ticket takes at a desk: today's mean once there are enough finished tickets,
    otherwise the service's configured default (early in the morning)."""
    if finished_today < MIN_SAMPLES_TODAY or not mean_seconds_today:
        return float(default_minutes)
    return mean_seconds_today / 60


def estimate_wait_minutes(
    *, service_minutes: float, waiting: int, open_counters: int
) -> int | None:
    """Expected wait for someone taking a ticket now: mean service time × people ahead ÷ desks
    open for the service, rounded up to a whole minute. None when no desk is open."""
    if open_counters <= 0:
        return None
    if waiting <= 0:
        return 0
    return math.ceil(service_minutes * waiting / open_counters)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


def bar_chart(
    points: list[tuple[int, float]], *, width: int = 320, height: int = 120, top: float = 0.0
) -> list[Bar]:
    """Lay out one vertical bar per hour (hour, minutes) inside a width × height SVG box."""
    if not points:
        return []
    top = max(top, max(value for _hour, value in points), 1.0)
    slot = width / len(points)
    bars = []
    for index, (hour, value) in enumerate(points):
        bar_height = round(height * value / top, 1)
        bars.append(
            Bar(
                x=round(index * slot + slot * 0.15, 1),
                y=round(height - bar_height, 1),
                width=round(slot * 0.7, 1),
                height=bar_height,
                label=str(hour),
                value=round(value),
            )
        )
    return bars
