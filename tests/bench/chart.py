"""The benchmark's picture: throughput over time and the latency distribution of each phase,
written beside the JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: write files only
import itertools

import matplotlib.pyplot as plt


def draw(results: dict[str, Any], path: Path) -> Path:
    figure, (over_time, latency) = plt.subplots(2, 1, figsize=(11, 11))
    for phase, label in _order_phases(results):
        timeline = phase.get("timeline") or []
        if len(timeline) > 1:
            seconds = [t for t, _ in timeline]
            rates = [0.0] + [
                (b - a) / (t2 - t1) if t2 > t1 else 0.0
                for (t1, a), (t2, b) in itertools.pairwise(timeline)
            ]
            over_time.plot(seconds, rates, label=label)
    over_time.set_title("Orders completed per second (license, coverage and email)")
    over_time.set_xlabel("seconds into the phase")
    over_time.set_ylabel("orders/s")
    over_time.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize="small")
    for phase, label in _order_phases(results):
        values = sorted(phase.get("latencies_ms") or [])
        if values:
            shares = [100 * (i + 1) / len(values) for i in range(len(values))]
            latency.plot(values, shares, label=f"{label} (order to email)")
    for name, summary in results.get("http", {}).items():
        points = summary.get("percentiles_ms") or {}
        if points:
            qs = sorted(points, key=float)
            latency.plot(
                [points[q] for q in qs], [float(q) for q in qs], marker="o", label=f"HTTP {name}"
            )
    latency.set_xscale("log")
    latency.set_title("Latency distribution")
    latency.set_xlabel("milliseconds (log)")
    latency.set_ylabel("percentile")
    latency.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize="small")
    figure.suptitle(f"Entitle benchmark, {results['date'][:10]}, {results['cores']} cores")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _order_phases(results: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    found = []
    if "end_to_end" in results:
        found.append((results["end_to_end"], "burst"))
    for phase in results.get("fixed_rate", []):
        found.append((phase, f"fixed {phase['rate']:.0f}/s ({phase['label']})"))
    return found
