"""`make bench`: the service against bare Litestar and Strawberry ceilings, measured in the same run.

    python -m bench.run [--duration 10] [--connections 32] [--threads 2] [--quick] [--skip-scale]

Starts each server as a subprocess, one at a time, with one uvicorn worker (uvloop, httptools), warms
it up, then measures it with wrk. SQLite (the default) runs on fresh files in a temporary directory;
when TMF629_DATABASE_URL points at PostgreSQL, its customer and event tables are truncated first.
The exit code is 0 whenever a report was printed: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import checks
from bench.auth import jwt_setup
from bench.data import API_PATH, GRAPHQL_QUERY, PARTY_COUNT, customer_body, party_id
from bench.loadgen import GET_SCRIPT, POST_SCRIPT, WrkMissing, WrkResult, ensure_wrk, run_wrk
from bench.report import Ratio, Scale, ScalePoint, as_json, print_ratios, print_scale, summary
from bench.seed import Seeder
from bench.servers import ROOT, ServerFailed, app_command, ceiling_command, free_port, serve

RESULTS = ROOT / "bench" / "results"


def page_path(party: str) -> str:
    """The filtered page of the benchmark: 20 of the 1% of customers engaged with `party`."""
    return f"{API_PATH}/customer?engagedParty.id={party}&limit=20"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up before each run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--customers", type=int, default=10_000, help="customers seeded for the ratios")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="customer counts of the scale part")
    parser.add_argument("--quick", action="store_true", help="skip scale sizes above 100,000")
    parser.add_argument("--skip-scale", action="store_true", help="skip the scale part")
    parser.add_argument("--skip-ratios", action="store_true", help="skip the throughput ratios")
    parser.add_argument("--scale-duration", type=float, default=5, help="seconds per scale measurement")
    parser.add_argument("--scale-connections", type=int, default=4, help="wrk connections for the scale part")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")
    args = parser.parse_args(argv)
    args.sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if args.quick:
        args.sizes = [s for s in args.sizes if s <= 100_000]
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, wrk: str, workdir: Path, database_url: str | None) -> None:
        self.args, self.wrk, self.workdir = args, wrk, workdir
        self.postgres_url = database_url  # None: SQLite on fresh files
        self.backend = "PostgreSQL" if database_url else "SQLite"

    # -- plumbing ------------------------------------------------------------------------------

    def fresh_database(self, name: str) -> Seeder:
        """A migrated, empty database: a new SQLite file, or the PostgreSQL one truncated."""
        url = self.postgres_url or f"sqlite+aiosqlite:///{self.workdir / name}.db"
        env = {**os.environ, "TMF629_DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            raise RuntimeError(f"`tmf629 migrate` failed:\n{tail}")
        seeder = Seeder(url)
        if self.postgres_url:
            names = seeder.truncate()
            print(f"WARN: PostgreSQL: truncated the tables {', '.join(names)}", flush=True)
        return seeder

    def write(self, name: str, lines: list[str]) -> Path:
        path = self.workdir / name
        path.write_text("\n".join(lines) + "\n")
        return path

    def measure(
        self,
        url: str,
        script: Path,
        arg: Path | None,
        connections: int,
        secs: float,
        headers: dict[str, str] | None = None,
    ) -> WrkResult:
        options: dict[str, Any] = {
            "connections": connections,
            "threads": self.args.threads,
            "headers": headers,
        }
        if self.args.warmup > 0:
            run_wrk(self.wrk, url, script, arg, duration=self.args.warmup, **options)
        return run_wrk(self.wrk, url, script, arg, duration=secs, **options)

    def throughput(self, url: str, script: Path, arg: Path | None) -> WrkResult:
        return self.measure(url, script, arg, self.args.connections, self.args.duration)

    def app(self, seeder: Seeder, extra_env: dict[str, str] | None = None) -> AbstractContextManager[str]:
        port = free_port()
        command, env = app_command(port)
        env["TMF629_DATABASE_URL"] = seeder.database_url
        env.update(extra_env or {})
        return serve("app", command, env, port, "/health", self.workdir)

    def ceiling(self, module: str) -> AbstractContextManager[str]:
        port = free_port()
        command, env = ceiling_command(module, port)
        ready = f"{API_PATH}/customer/ready" if module.endswith("litestar") else "/graphql"
        return serve(module.rsplit(".", 1)[-1], command, env, port, ready, self.workdir)

    # -- the ratios ----------------------------------------------------------------------------

    def ratios(self) -> list[Ratio]:
        get_one = Ratio("GET /customer/{id}", 0.50, "Litestar")
        get_page = Ratio("GET /customer?engagedParty.id=X&limit=20", 0.25, "Litestar")
        post = Ratio("POST /customer (+ event row)", 0.15, "Litestar")
        graphql = Ratio("GraphQL customer(id)", 0.80, "Strawberry")

        rows = [get_one, get_page, post, graphql]

        print(f"\n[1/3] service on {self.backend}: seeding {self.args.customers:,} customers", flush=True)
        try:
            seeder = self.fresh_database("ratios")
            seeder.fill(self.args.customers)
            seeder.settle()
        except Exception as error:  # the report goes on; the error is in it
            print(f"  ERROR preparing the database: {error}", flush=True)
            for row in rows:
                row.error = "ERROR: the database could not be prepared (see above)"
            return rows
        ids = seeder.ids
        parties = [party_id(i) for i in range(PARTY_COUNT)]
        one_paths = self.write("one.txt", [f"{API_PATH}/customer/{i}" for i in ids])
        page_paths = self.write("page.txt", [page_path(p) for p in parties])
        post_body = self.write("post.json", [orjson.dumps(customer_body(1_000_003)).decode()])
        graphql_request = {"query": GRAPHQL_QUERY, "variables": {"id": ids[0]}}
        graphql_body = self.write("graphql.json", [orjson.dumps(graphql_request).decode()])

        litestar_rows = [get_one, get_page, post]

        def litestar(base: str) -> None:
            run = partial(
                self.checked_throughput, partial(checks.customer, base, ids[0]), base, GET_SCRIPT, one_paths
            )
            attempt(get_one, run, ceiling=True)
            get_page.ceilings = post.ceilings = get_one.ceilings
            get_page.error = post.error = get_one.error

        def service(base: str) -> None:
            page_total = self.args.customers // PARTY_COUNT
            graphql_url, customers_url = f"{base}/graphql", f"{base}{API_PATH}/customer"
            scenarios = [
                (get_one, partial(checks.customer, base, ids[0]), base, GET_SCRIPT, one_paths),
                (get_page, partial(checks.page, base, parties[7], page_total), base, GET_SCRIPT, page_paths),
                (graphql, partial(checks.graphql, base, ids[0]), graphql_url, POST_SCRIPT, graphql_body),
                # POST last: the event rows it leaves are fanned out by the dispatcher afterwards, work
                # that would otherwise run during the next measurement.
                (post, partial(checks.create, base, post_body), customers_url, POST_SCRIPT, post_body),
            ]
            for row, check, url, script, arg in scenarios:
                print(f"  service: {row.name}", flush=True)
                attempt(row, partial(self.checked_throughput, check, url, script, arg))

        def strawberry(base: str) -> None:
            run = partial(self.throughput, f"{base}/graphql", POST_SCRIPT, graphql_body)
            attempt(graphql, run, ceiling=True)

        # Each ceiling is measured before and after the service, and the mean of the two is used: on a
        # shared machine, the load drifts during a run.
        print("  ceiling: bare Litestar", flush=True)
        self.on(self.ceiling("bench.ceiling_litestar"), litestar_rows, litestar)
        print("  ceiling: bare Strawberry", flush=True)
        self.on(self.ceiling("bench.ceiling_strawberry"), [graphql], strawberry)
        self.on(self.app(seeder), rows, service)
        if graphql.result is not None:
            print("  ceiling: bare Strawberry, again", flush=True)
            self.on(self.ceiling("bench.ceiling_strawberry"), [graphql], strawberry)
        print("  ceiling: bare Litestar, again", flush=True)
        self.on(self.ceiling("bench.ceiling_litestar"), litestar_rows, litestar)
        rows.append(self.observability_cost(seeder, ids[0], one_paths))
        rows.append(self.jwt_cost(seeder, ids[0], one_paths))
        return rows

    def observability_cost(self, seeder: Seeder, customer_id: str, one_paths: Path) -> Ratio:
        """GET /customer/{id} with metrics and request ids (the default) against the same service with
        TMF629_OBSERVABILITY=false, measured off, on, off: they may cost at most 5%."""
        row = Ratio("GET /customer/{id} with metrics + request ids", 0.95, "service without them")

        def measure(ceiling: bool) -> Callable[[str], None]:
            def run(base: str) -> None:
                check = partial(checks.customer, base, customer_id)
                attempt(row, partial(self.checked_throughput, check, base, GET_SCRIPT, one_paths), ceiling)

            return run

        print("  service: GET /customer/{id} without, with, without metrics and request ids", flush=True)
        off = {"TMF629_OBSERVABILITY": "false"}
        self.on(self.app(seeder, off), [row], measure(True))
        self.on(self.app(seeder), [row], measure(False))
        self.on(self.app(seeder, off), [row], measure(True))
        return row

    def jwt_cost(self, seeder: Seeder, customer_id: str, one_paths: Path) -> Ratio:
        """GET /customer/{id} with an RS256 JWT (TMF629_AUTH=jwt) against the same GET without
        authentication, measured without, with, without: verified tokens are cached until they expire,
        so checking the token must not cost more than 15%."""
        row = Ratio("GET /customer/{id} with a JWT", 0.85, "service without auth")
        env, authorization = jwt_setup(self.workdir)

        def measure(with_jwt: bool) -> Callable[[str], None]:
            headers = {"Authorization": authorization} if with_jwt else None

            def run(base: str) -> WrkResult:
                if with_jwt:
                    checks.refused_without_credential(base, customer_id)
                checks.customer(base, customer_id, headers)
                return self.measure(
                    base, GET_SCRIPT, one_paths, self.args.connections, self.args.duration, headers
                )

            return lambda base: attempt(row, partial(run, base), ceiling=not with_jwt)

        print("  service: GET /customer/{id} without, with, without a JWT", flush=True)
        self.on(self.app(seeder), [row], measure(False))
        self.on(self.app(seeder, env), [row], measure(True))
        self.on(self.app(seeder), [row], measure(False))
        return row

    def checked_throughput(self, check: Callable[[], None], url: str, script: Path, arg: Path) -> WrkResult:
        check()
        return self.throughput(url, script, arg)

    @staticmethod
    def on(starting: AbstractContextManager[str], rows: list[Ratio], measure: Callable[[str], None]) -> None:
        """Start a server and measure on it; when it does not start, say so once and mark its rows."""
        try:
            with starting as base:
                measure(base)
        except ServerFailed as error:
            print(f"  ERROR: {error}", flush=True)
            for row in rows:
                row.error = row.error or "ERROR: the server did not start (its log is printed above)"

    # -- the scale part ------------------------------------------------------------------------

    def scale(self) -> Scale:
        scale = Scale()
        if self.args.skip_scale or not self.args.sizes:
            scale.skipped = "--skip-scale" if self.args.skip_scale else "no sizes"
            return scale
        sizes = ", ".join(f"{s:,}" for s in self.args.sizes)
        print(f"\n[2/3] filtered page latency at {sizes} customers ({self.backend})", flush=True)
        parties = [party_id(i) for i in range(PARTY_COUNT)]
        paths = self.write("scale.txt", [page_path(p) for p in parties])
        seeder: Seeder | None = None
        for size in self.args.sizes:
            point = ScalePoint(size)
            scale.points.append(point)
            try:
                seeder = seeder or self.fresh_database("scale")
                point.seed_seconds = seeder.fill(size)
                seeder.settle()
                with self.app(seeder) as base:
                    checks.page(base, parties[42], size // PARTY_COUNT)
                    point.result = self.measure(
                        base, GET_SCRIPT, paths, self.args.scale_connections, self.args.scale_duration
                    )
                print(f"  {size:,}: p50 {point.result.p50_ms:.2f} ms", flush=True)
            except Exception as error:  # the report goes on; the error is in it
                point.error = str(error)
                print(f"  {size:,}: ERROR {error}", flush=True)
                break
        return scale


def attempt(row: Ratio, run: Callable[[], WrkResult], ceiling: bool = False) -> None:
    """Run one measurement into `row`; a failed check or run becomes the row's error, not an exception."""
    try:
        result = run()
    except checks.Skip as skip:
        row.skipped = str(skip)
    except (checks.CheckFailed, RuntimeError, httpx.HTTPError) as error:
        row.error = f"{'ceiling ' if ceiling else ''}ERROR: {error}"
    else:
        if ceiling:
            row.ceilings.append(result)
        else:
            row.result = result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk = ensure_wrk()
    except (WrkMissing, subprocess.CalledProcessError) as error:
        print(f"bench: cannot run without wrk: {error}", file=sys.stderr)
        return 1
    url = os.environ.get("TMF629_DATABASE_URL", "")
    postgres_url = url if url.startswith("postgresql") else None
    workdir = Path(tempfile.mkdtemp(prefix="tmf629-bench-"))
    started = time.monotonic()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    bench = Bench(args, wrk, workdir, postgres_url)
    where = "the PostgreSQL database of TMF629_DATABASE_URL" if postgres_url else f"fresh files in {workdir}"
    print(
        f"TMF629 benchmark: {bench.backend} ({where}); one uvicorn worker (uvloop, httptools); "
        f"wrk {args.threads} threads x {args.connections} connections, {args.duration:g}s per run "
        f"after {args.warmup:g}s warm-up; {os.cpu_count()} CPUs",
        flush=True,
    )
    try:
        ratios = [] if args.skip_ratios else bench.ratios()
        scale = bench.scale()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n[3/3] results ({bench.backend}, {time.monotonic() - started:.0f}s in all)\n")
    print_ratios(ratios)
    print()
    print_scale(scale, args.scale_connections)
    meta = {
        "backend": bench.backend,
        "started": started_at,
        "args": {k: v for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "node": platform.node()},
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{bench.backend.lower()}.json"
    out.write_text(json.dumps(as_json(ratios, scale, meta), indent=2, default=str))
    print(f"\n(results also in {out.relative_to(ROOT)})")
    print(summary(ratios, scale, bench.backend))
    return 0


if __name__ == "__main__":
    sys.exit(main())
