"""Latency percentiles, delivery-check totals and machine CPU readings."""

from __future__ import annotations

import math
import os
from array import array


def percentile(ordered, p: float) -> float:
    """The nearest-rank percentile `p` (0-100] of an ascending sequence."""
    if not ordered:
        return math.nan
    rank = math.ceil(round(p / 100 * len(ordered), 9))  # 99.9 % of 1000 is 999, not 999.0000000000001
    return ordered[min(len(ordered), max(1, rank)) - 1]


def latency_summary(chunks: list[bytes]) -> dict:
    """p50/p99/p99.9 in milliseconds of latencies in nanoseconds, from every client process."""
    samples = array("q")
    for chunk in chunks:
        samples.frombytes(chunk)
    ordered = sorted(samples)
    out = {"samples": len(ordered)}
    for name, p in (("p50_ms", 50), ("p99_ms", 99), ("p999_ms", 99.9)):
        value = percentile(ordered, p)
        out[name] = round(value / 1e6, 3) if not math.isnan(value) else None
    out["max_ms"] = round(ordered[-1] / 1e6, 3) if ordered else None
    return out


def add_checks(checks: list[dict]) -> dict:
    keys = ("expected", "distinct", "lost", "duplicated", "unexpected")
    return {k: sum(c[k] for c in checks) for k in keys}


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


def machine_info() -> dict:
    import platform

    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
