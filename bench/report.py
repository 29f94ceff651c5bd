"""The printed report: one table per part and backend, and one summary line per backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.loadgen import WrkResult


@dataclass
class Ratio:
    """One throughput scenario against its ceiling or baseline: PASS when rps / baseline >= target.

    The baseline is the mean of the `ceilings` runs (measured before and after the scenario, as the
    load on a shared machine drifts), or `baseline_rps` when it is computed (the workers' ideal).
    A row without a target is reported, not judged (INFO)."""

    name: str
    target: float | None
    ceiling_name: str
    result: WrkResult | None = None
    ceilings: list[WrkResult] = field(default_factory=list)
    baseline_rps: float | None = None
    skipped: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ceiling_rps(self) -> float | None:
        if self.baseline_rps is not None:
            return self.baseline_rps
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
        if self.target is None:
            return "INFO"
        return "PASS" if self.ratio >= self.target else "FAIL"


@dataclass
class Limit:
    """A figure that is not a throughput: PASS when value <= target (at_most) or >= target."""

    name: str
    target: float
    value: float | None = None
    at_most: bool = True
    detail: str = ""
    skipped: str | None = None
    error: str | None = None

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "SKIP"
        if self.value is None:
            return "ERROR"
        met = self.value <= self.target if self.at_most else self.value >= self.target
        return "PASS" if met else "FAIL"


Row = Ratio | Limit


@dataclass
class Section:
    title: str
    backend: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_section(section: Section) -> None:
    print(f"{section.title} ({section.backend})")
    if section.skipped:
        print(f"  SKIP: {section.skipped}")
        return
    head = f"{'scenario':<52} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'baseline':>9} {'ratio':>6}"
    print(head + f" {'target':>8}  result")
    print("-" * (len(head) + 17))
    for row in section.rows:
        if isinstance(row, Ratio):
            res = row.result
            rps, p50, p99 = (res.rps, res.p50_ms, res.p99_ms) if res else (None, None, None)
            # Three places when two would print the ratio and its target alike (a target measured beside it).
            places = 2
            if row.target is not None and row.ratio is not None:
                places = 3 if format(row.ratio, ".2f") == format(row.target, ".2f") else 2
            target = "-" if row.target is None else ">= " + format(row.target, f".{places}f")
            print(
                f"{row.name:<52} {_num(rps):>8} {_num(p50, 2):>7} {_num(p99, 2):>7} "
                f"{_num(row.ceiling_rps):>9} {_num(row.ratio, places):>6} "
                f"{target:>8}  {row.verdict}"
            )
            print(f"    baseline: {row.ceiling_name}")
            for label, run in [("", res), *(("baseline ", c) for c in row.ceilings)]:
                if run is not None and run.failed:
                    print(
                        f"    WARN {label}run had {run.errors} socket errors and {run.bad_status} non-2xx/3xx"
                    )
            if len(row.ceilings) > 1 and max(r.rps for r in row.ceilings) > 1.15 * min(
                r.rps for r in row.ceilings
            ):
                rates = " and ".join(f"{run.rps:,.0f}" for run in row.ceilings)
                print(f"    WARN: the baseline runs ({rates} req/s) differ by more than 15%: a busy machine")
        else:
            op = "<=" if row.at_most else ">="
            print(
                f"{row.name:<52} {'':>8} {'':>7} {'':>7} {'':>9} {_num(row.value, 2):>6} "
                f"{op + ' ' + format(row.target, '.2f'):>8}  {row.verdict}"
            )
            if row.detail:
                print(f"    {row.detail}")
        for note in (row.skipped, row.error, *(row.notes if isinstance(row, Ratio) else ())):
            if note:
                print(f"    {note}")
    for note in section.notes:
        print(f"  {note}")


def summary(sections: list[Section], backend: str) -> str:
    rows = [row for s in sections if s.backend == backend for row in s.rows]
    judged = [row for row in rows if row.verdict not in ("SKIP", "INFO")]
    passed = sum(1 for row in judged if row.verdict == "PASS")
    line = f"bench summary ({backend}): {passed}/{len(judged)} targets met"
    failing = [f"{row.name} {row.verdict}" for row in judged if row.verdict != "PASS"]
    if failing:
        line += "; not met: " + "; ".join(failing)
    skipped = [s.title for s in sections if s.backend == backend and s.skipped]
    skipped += [row.name for row in rows if row.verdict == "SKIP"]
    if skipped:
        line += "; skipped: " + "; ".join(skipped)
    return line


def as_json(sections: list[Section], meta: dict[str, Any]) -> dict[str, Any]:
    def run(result: WrkResult | None) -> dict[str, Any] | None:
        return None if result is None else {**asdict(result), "rps": result.rps}

    def row(item: Row) -> dict[str, Any]:
        if isinstance(item, Limit):
            return {**asdict(item), "verdict": item.verdict}
        return {
            "name": item.name,
            "target": item.target,
            "ratio": item.ratio,
            "verdict": item.verdict,
            "result": run(item.result),
            "baseline": item.ceiling_name,
            "baseline_rps": item.ceiling_rps,
            "baseline_runs": [run(c) for c in item.ceilings],
            "skipped": item.skipped,
            "error": item.error,
            "notes": item.notes,
        }

    return {
        **meta,
        "sections": [
            {
                "title": s.title,
                "backend": s.backend,
                "skipped": s.skipped,
                "notes": s.notes,
                "rows": [row(r) for r in s.rows],
            }
            for s in sections
        ],
    }
