"""The printed report: the ratio table, the scale table and one summary line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.loadgen import WrkResult


@dataclass
class Ratio:
    """One throughput scenario against its ceiling: PASS when rps / ceiling_rps >= target."""

    name: str
    target: float
    ceiling_name: str
    result: WrkResult | None = None
    ceilings: list[WrkResult] = field(default_factory=list)  # runs of the ceiling; their mean is used
    skipped: str | None = None
    error: str | None = None

    @property
    def ceiling_rps(self) -> float | None:
        rates = [run.rps for run in self.ceilings]
        return sum(rates) / len(rates) if rates else None

    @property
    def ratio(self) -> float | None:
        if self.result is None or not self.ceiling_rps:
            return None
        return self.result.rps / self.ceiling_rps

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "SKIP"
        if self.ratio is None:
            return "ERROR"
        return "PASS" if self.ratio >= self.target else "FAIL"


@dataclass
class ScalePoint:
    size: int
    result: WrkResult | None = None
    seed_seconds: float = 0.0
    error: str | None = None


@dataclass
class Scale:
    target: float = 2.0
    points: list[ScalePoint] = field(default_factory=list)
    skipped: str | None = None

    @property
    def spread(self) -> float | None:
        p50s = [p.result.p50_ms for p in self.points if p.result is not None]
        if len(p50s) < 2 or any(p.error for p in self.points) or min(p50s) <= 0:
            return None
        return max(p50s) / min(p50s)

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "SKIP"
        if self.spread is None:
            return "ERROR"
        return "PASS" if self.spread <= self.target else "FAIL"


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_ratios(ratios: list[Ratio]) -> None:
    head = f"{'scenario':<44} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ceiling':>8} {'ratio':>6}"
    print(head + f" {'target':>8}  result")
    print("-" * (len(head) + 17))
    for row in ratios:
        res = row.result
        print(
            f"{row.name:<44} {_num(res.rps if res else None):>8} {_num(res.p50_ms if res else None, 2):>7} "
            f"{_num(res.p99_ms if res else None, 2):>7} {_num(row.ceiling_rps):>8} {_num(row.ratio, 2):>6} "
            f"{'>= ' + format(row.target, '.2f'):>8}  {row.verdict}"
        )
        for note in (row.skipped, row.error):
            if note:
                print(f"    {note}")
        for label, run in [("", res), *(("ceiling ", c) for c in row.ceilings)]:
            if run is not None and run.failed:
                print(f"    WARN {label}run had {run.errors} socket errors and {run.bad_status} non-2xx/3xx")
    ceilings = {r.ceiling_name: r.ceilings for r in ratios if r.ceilings}
    for name, runs in ceilings.items():
        rates = " and ".join(f"{run.rps:,.0f}" for run in runs)
        p50s = " and ".join(f"{run.p50_ms:.2f}" for run in runs)
        print(f"  ceiling {name}: {rates} req/s (p50 {p50s} ms)")
        if len(runs) > 1 and max(r.rps for r in runs) > 1.15 * min(r.rps for r in runs):
            print(f"  WARN: the {name} ceiling runs differ by more than 15%: a busy machine, noisy ratios")


def print_scale(scale: Scale, connections: int) -> None:
    print(
        "Filtered page latency: GET /customer?engagedParty.id=X&limit=20 (1% match, X-Total-Count), "
        f"wrk {connections} connection(s)"
    )
    if scale.skipped:
        print(f"  SKIP: {scale.skipped}")
        return
    print(f"{'customers':>12} {'seeded in':>10} {'p50 ms':>8} {'mean ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for point in scale.points:
        res = point.result
        print(
            f"{point.size:>12,} {point.seed_seconds:>9.1f}s {_num(res.p50_ms if res else None, 2):>8} "
            f"{_num(res.mean_ms if res else None, 2):>8} {_num(res.p99_ms if res else None, 2):>8} "
            f"{_num(res.rps if res else None):>8}"
        )
        if point.error:
            print(f"    ERROR: {point.error}")
    print(f"  largest/smallest p50: {_num(scale.spread, 2)}  target <= {scale.target:.1f}  {scale.verdict}")


def summary(ratios: list[Ratio], scale: Scale, backend: str) -> str:
    checks = [(r.name, r.verdict) for r in ratios] + [("scale", scale.verdict)]
    counted = [(n, v) for n, v in checks if v != "SKIP"]
    passed = sum(1 for _, v in counted if v == "PASS")
    failing = [f"{n} {v}" for n, v in counted if v != "PASS"]
    skipped = [n for n, v in checks if v == "SKIP"]
    line = f"bench summary ({backend}): {passed}/{len(counted)} targets met"
    if failing:
        line += "; not met: " + ", ".join(failing)
    if skipped:
        line += "; skipped: " + ", ".join(skipped)
    return line


def as_json(ratios: list[Ratio], scale: Scale, meta: dict[str, Any]) -> dict[str, Any]:
    def run(result: WrkResult | None) -> dict[str, Any] | None:
        return None if result is None else {**asdict(result), "rps": result.rps}

    return {
        **meta,
        "ratios": [
            {
                "name": r.name,
                "target": r.target,
                "ratio": r.ratio,
                "verdict": r.verdict,
                "result": run(r.result),
                "ceiling": r.ceiling_name,
                "ceiling_rps": r.ceiling_rps,
                "ceiling_runs": [run(c) for c in r.ceilings],
                "skipped": r.skipped,
                "error": r.error,
            }
            for r in ratios
        ],
        "scale": {
            "target": scale.target,
            "spread": scale.spread,
            "verdict": scale.verdict,
            "skipped": scale.skipped,
            "points": [
                {"size": p.size, "seed_seconds": p.seed_seconds, "result": run(p.result), "error": p.error}
                for p in scale.points
            ],
        },
    }
