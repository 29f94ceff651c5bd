"""`make bench`: the service against bare ceilings, on SQLite and on PostgreSQL, measured in the same run.

    python -m bench.run [--backends sqlite,postgresql] [--parts ratios,workers,mixed,size] [--full]
                        [--duration 10] [--connections 32] ...

Each server is a subprocess, started and stopped one at a time, one uvicorn worker (uvloop, httptools)
unless a part says otherwise, warmed up, then measured with wrk; each scenario's answer is checked first.
SQLite runs on fresh files in a temporary directory; PostgreSQL in the database of TMF629_BENCH_POSTGRES_URL
(created when missing, its tables emptied first; the local server started when it is down; the backend
skipped, with a line saying why, when it cannot be reached). Parts, per backend:

  ratios   each scenario against its ceiling (bare Litestar, bare Strawberry, bare Litestar + asyncpg)
  workers  GET /customer/{id} with TMF629_WORKERS=2 against the ideal min(2 x 1 worker, 2-worker ceiling)
  mixed    64 connections of reads, pages, creates and patches: p50/p99, errors, resident memory
  size     GET by id and two filtered pages at the largest size against their value at 10,000 customers

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
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import accounts, checks
from bench.auth import jwt_setup
from bench.data import (
    API_PATH,
    GRAPHQL_PAGE_QUERY,
    GRAPHQL_QUERY,
    PARTY_COUNT,
    email_of,
    party_id,
    posted_body,
)
from bench.loadgen import (
    GET_SCRIPT,
    MIXED_SCRIPT,
    POST_SCRIPT,
    WrkMissing,
    WrkResult,
    combined,
    ensure_wrk,
    run_wrk,
)
from bench.postgres import bench_postgres_url, prepare
from bench.report import Limit, Ratio, Section, as_json, print_section, summary
from bench.seed import Seeder
from bench.servers import (
    ROOT,
    ServerFailed,
    ServerURL,
    app_command,
    ceiling_command,
    free_port,
    resident_bytes,
    serve,
)

RESULTS = ROOT / "bench" / "results"
PARTS = ("ratios", "workers", "mixed", "size")
LITESTAR, STRAWBERRY, POSTGRES = (
    "bench.ceiling_litestar",
    "bench.ceiling_strawberry",
    "bench.ceiling_postgres",
)
MIB = 1024 * 1024


def page_path(party: str) -> str:
    """The filtered page of the benchmark: 20 of the 1% of customers engaged with `party`."""
    return f"{API_PATH}/customer?engagedParty.id={party}&limit=20"


def email_path(index: int) -> str:
    """The filtered page on a dotted path into an array: the one customer with that e-mail address."""
    return f"{API_PATH}/customer?contactMedium.characteristic.emailAddress={email_of(index)}&limit=20"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    add("--parts", default=",".join(PARTS), help=f"comma-separated, among {', '.join(PARTS)}")
    add("--full", action="store_true", help="the long parts at full size: 1,000,000 customers and requests")
    add("--duration", type=float, default=10, help="seconds per measured run")
    add("--warmup", type=float, default=2, help="seconds of warm-up before each run")
    add("--connections", type=int, default=32, help="wrk connections")
    add("--threads", type=int, default=2, help="wrk threads")
    add(
        "--customers",
        type=int,
        default=10_000,
        help="customers seeded for the ratios, workers and mixed parts",
    )
    add(
        "--sizes",
        default=None,
        help="customer counts of the size part (default 10000,100000; --full: 10000,1000000)",
    )
    add("--size-duration", type=float, default=5, help="seconds per measurement of the size part")
    add("--size-connections", type=int, default=16, help="wrk connections for the size part")
    add("--mixed-connections", type=int, default=64, help="wrk connections for the mixed load")
    add(
        "--mixed-requests",
        type=int,
        default=None,
        help="requests of the mixed load (default 100000; --full: 1000000)",
    )
    add("--keep", action="store_true", help="keep the temporary directory (databases, logs)")
    args = parser.parse_args(argv)
    args.backends = [b.strip().lower() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if set(args.parts) - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(set(args.parts) - set(PARTS)))}")
    sizes = args.sizes or ("10000,1000000" if args.full else "10000,100000")
    args.sizes = sorted({int(s.replace("_", "")) for s in sizes.split(",") if s.strip()})
    args.mixed_requests = args.mixed_requests or (1_000_000 if args.full else 100_000)
    return args


@dataclass
class Backend:
    name: str  # "SQLite" or "PostgreSQL"
    postgres_url: str | None  # None: SQLite on fresh files

    @property
    def is_postgres(self) -> bool:
        return self.postgres_url is not None


class Bench:
    def __init__(self, args: argparse.Namespace, wrk: str, workdir: Path, backend: Backend) -> None:
        self.args, self.wrk, self.workdir, self.backend = args, wrk, workdir, backend

    # -- plumbing ------------------------------------------------------------------------------

    def fresh_database(self, name: str) -> Seeder:
        """A migrated, empty database: a new SQLite file, or the PostgreSQL one emptied."""
        url = self.backend.postgres_url or f"sqlite+aiosqlite:///{self.workdir / name}.db"
        env = {**os.environ, "TMF629_DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            raise RuntimeError(f"`tmf629 migrate` failed:\n{tail}")
        seeder = Seeder(url)
        if self.backend.is_postgres:
            names = seeder.truncate()
            print(
                f"  PostgreSQL: emptied the tables {', '.join(names)} of the benchmark database", flush=True
            )
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
        connections: int | None = None,
        secs: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> WrkResult:
        options: dict[str, Any] = {
            "connections": connections or self.args.connections,
            "threads": self.args.threads,
            "headers": headers,
        }
        if self.args.warmup > 0:
            run_wrk(self.wrk, url, script, arg, duration=self.args.warmup, **options)
        return run_wrk(self.wrk, url, script, arg, duration=secs or self.args.duration, **options)

    def checked(
        self, check: Callable[[], None], url: str, script: Path, arg: Path, **options: Any
    ) -> WrkResult:
        check()
        return self.measure(url, script, arg, **options)

    def app(
        self, seeder: Seeder, extra_env: dict[str, str] | None = None, workers: int = 1
    ) -> AbstractContextManager[ServerURL]:
        port = free_port()
        command, env = app_command(port)
        env["TMF629_DATABASE_URL"] = seeder.database_url
        env["TMF629_WORKERS"] = str(workers)
        env.update(extra_env or {})
        return serve("app", command, env, port, "/health", self.workdir)

    def ceiling(
        self, module: str, workers: int = 1, env: dict[str, str] | None = None, one_write: bool = False
    ) -> AbstractContextManager[ServerURL]:
        port = free_port()
        command, base_env = ceiling_command(module, port, workers, one_write)
        ready = {LITESTAR: f"{API_PATH}/customer/ready", STRAWBERRY: "/graphql", POSTGRES: "/health"}[module]
        return serve(
            module.rsplit(".", 1)[-1], command, {**base_env, **(env or {})}, port, ready, self.workdir
        )

    def postgres_ceiling(self, seeder: Seeder, workers: int = 1) -> AbstractContextManager[ServerURL]:
        return self.ceiling(POSTGRES, workers, {"TMF629_DATABASE_URL": seeder.database_url})

    @staticmethod
    def on(
        starting: AbstractContextManager[ServerURL], rows: list[Ratio], measure: Callable[[ServerURL], Any]
    ) -> None:
        """Start a server and measure on it; when it does not start, say so once and mark its rows."""
        try:
            with starting as base:
                measure(base)
        except ServerFailed as error:
            print(f"  ERROR: {error}", flush=True)
            for row in rows:
                row.error = row.error or "ERROR: a server did not start (its log is printed above)"

    # -- the ratios ----------------------------------------------------------------------------

    def ratios(self, seeder: Seeder) -> Section:
        postgres = self.backend.is_postgres
        section = Section("Throughput against the ceilings", self.backend.name)
        if postgres:
            ceiling = "bare Litestar + asyncpg, same SQL tables"
            get_one = Ratio("GET /customer/{id}", 0.85, ceiling)
            get_page = Ratio("GET /customer?engagedParty.id=X&limit=20 (+count)", 0.75, ceiling)
            post = Ratio("POST /customer (durable, + event row)", 0.60, ceiling)
            graphql_target, page_target = None, None
        else:
            get_one = Ratio("GET /customer/{id}", 0.80, "bare Litestar, from memory")
            get_page = Ratio(
                "GET /customer?engagedParty.id=X&limit=20 (+count)", 0.50, "bare Litestar, from memory"
            )
            post = Ratio("POST /customer (durable, + event row)", 0.35, "bare Litestar, from memory")
            graphql_target, page_target = 1.2, 1.2
        graphql = Ratio("GraphQL customer(id)", graphql_target, "bare Strawberry, from memory")
        graphql_page = Ratio(
            "GraphQL customers(first: 20), nested fields",
            page_target,
            "bare Strawberry, the page from memory",
        )
        rows = [get_one, get_page, post, graphql, graphql_page]
        section.rows += rows
        account_get = Ratio("GET /billingAccount/{id}", None, "bare Litestar, from memory (a customer)")
        account_page = Ratio("GraphQL page of 20 customers with their accounts", 0.5, "the same page without")
        section.rows += [account_get, account_page]
        memory = Ratio("  the PostgreSQL ceiling's GET itself", None, "bare Litestar, from memory")
        if postgres:
            section.rows.append(memory)
        # The ceilings run on stock uvicorn; the service writes each response in one piece (app.serving).
        # The same bare Litestar served that way shows how much of a ratio above 1 that protocol is.
        one_write = Ratio("  bare Litestar served as the service is (one write)", None, "bare Litestar")
        section.rows.append(one_write)

        ids, total = seeder.ids, self.args.customers
        parties = [party_id(i) for i in range(PARTY_COUNT)]
        one_paths = self.write("one.txt", [f"{API_PATH}/customer/{i}" for i in ids])
        page_paths = self.write("page.txt", [page_path(p) for p in parties])
        post_body = self.write("post.json", [orjson.dumps(posted_body()).decode()])
        graphql_body = self.write(
            "graphql.json", [orjson.dumps({"query": GRAPHQL_QUERY, "variables": {"id": ids[0]}}).decode()]
        )
        graphql_page_body = self.write(
            "graphql-page.json",
            [orjson.dumps({"query": GRAPHQL_PAGE_QUERY, "variables": {"first": 20}}).decode()],
        )

        def rest_scenarios(base: str) -> list[tuple[Ratio, Callable[[], WrkResult]]]:
            """GET, page, then POST last: what it writes is deleted after the server stops."""
            customers_url = f"{base}{API_PATH}/customer"
            return [
                (
                    get_one,
                    partial(
                        self.checked, partial(checks.customer, base, ids[0]), base, GET_SCRIPT, one_paths
                    ),
                ),
                (
                    get_page,
                    partial(
                        self.checked,
                        partial(checks.page, base, parties[7], total // PARTY_COUNT),
                        base,
                        GET_SCRIPT,
                        page_paths,
                    ),
                ),
                (
                    post,
                    partial(
                        self.checked,
                        partial(checks.create, base, post_body),
                        customers_url,
                        POST_SCRIPT,
                        post_body,
                    ),
                ),
            ]

        def graphql_scenarios(base: str) -> list[tuple[Ratio, Callable[[], WrkResult]]]:
            url = f"{base}/graphql"
            return [
                (
                    graphql,
                    partial(
                        self.checked, partial(checks.graphql, base, ids[0]), url, POST_SCRIPT, graphql_body
                    ),
                ),
                (
                    graphql_page,
                    partial(
                        self.checked,
                        partial(checks.graphql_page, base, total),
                        url,
                        POST_SCRIPT,
                        graphql_page_body,
                    ),
                ),
            ]

        def litestar(base: str) -> None:
            target = memory if postgres else get_one
            attempt(
                target,
                partial(self.checked, partial(checks.customer, base, ids[0]), base, GET_SCRIPT, one_paths),
                True,
            )
            if not postgres:
                get_page.ceilings = post.ceilings = get_one.ceilings
                get_page.error = post.error = get_one.error

        def strawberry(base: str) -> None:
            for row, run in graphql_scenarios(base):
                attempt(row, run, ceiling=True)

        def postgres_ceiling(base: str) -> None:
            for row, run in rest_scenarios(base):
                attempt(row, run, ceiling=True)

        neighbours: list[WrkResult] = []  # the customer GET measured beside the account GET

        def service(base: str) -> None:
            for row, run in [*rest_scenarios(base)[:2], *graphql_scenarios(base)]:
                print(f"  service: {row.name}", flush=True)
                attempt(row, run)
            customer_get = partial(
                self.checked, partial(checks.customer, base, ids[0]), base, GET_SCRIPT, one_paths
            )
            neighbours.extend(self.account_scenarios(base, ids[:20], account_get, account_page, customer_get))
            row, run = rest_scenarios(base)[2]
            print(f"  service: {row.name}", flush=True)
            attempt(row, run)

        # Each ceiling is measured before and after the service, and the mean of the two is used: on a
        # shared machine, the load drifts during a run.
        strawberry_env = {"TMF629_BENCH_CUSTOMERS": str(total)}
        print("  ceiling: bare Litestar", flush=True)
        self.on(self.ceiling(LITESTAR), [memory] if postgres else [get_one, get_page, post], litestar)
        print("  ceiling: bare Strawberry", flush=True)
        self.on(self.ceiling(STRAWBERRY, env=strawberry_env), [graphql, graphql_page], strawberry)
        if postgres:
            print("  ceiling: bare Litestar + asyncpg", flush=True)
            self.on(self.postgres_ceiling(seeder), [get_one, get_page, post], postgres_ceiling)
            seeder.forget_writes()
        self.on(self.app(seeder), rows, service)
        seeder.forget_writes()
        if postgres:
            print("  ceiling: bare Litestar + asyncpg, again", flush=True)
            self.on(self.postgres_ceiling(seeder), [get_one, get_page, post], postgres_ceiling)
            seeder.forget_writes()
        print("  ceiling: bare Strawberry, again", flush=True)
        self.on(self.ceiling(STRAWBERRY, env=strawberry_env), [graphql, graphql_page], strawberry)
        print("  ceiling: bare Litestar, again", flush=True)
        self.on(self.ceiling(LITESTAR), [memory] if postgres else [get_one, get_page, post], litestar)
        print("  bare Litestar served as the service is", flush=True)

        def litestar_one_write(base: str) -> None:
            run = partial(self.checked, partial(checks.customer, base, ids[0]), base, GET_SCRIPT, one_paths)
            attempt(one_write, run)

        self.on(self.ceiling(LITESTAR, one_write=True), [one_write], litestar_one_write)
        if postgres and get_one.ceilings:
            memory.result = max(get_one.ceilings, key=lambda run: run.rps)
        # The account GET against bare Litestar, with the customer GET's own ratio to bare Litestar as target:
        # the customer GET measured before, between and after its two runs on the same server, so that both
        # sides of the comparison see the same machine (the first customer GET runs minutes earlier).
        litestar_runs = memory.ceilings if postgres else get_one.ceilings
        account_get.ceilings = list(litestar_runs)
        one_write.ceilings = list(litestar_runs)
        if neighbours and litestar_runs:
            customer_rps = sum(run.rps for run in neighbours) / len(neighbours)
            # Unrounded, as the account GET's own ratio is (printed to 3 places when 2 look alike).
            account_get.target = customer_rps / account_get.ceiling_rps
            account_get.notes.append(
                f"target: GET /customer/{{id}} measured before, between and after ({customer_rps:,.0f} req/s)"
                " against bare Litestar"
            )
        section.rows.append(self.observability_cost(seeder, ids[0], one_paths))
        section.rows.append(self.jwt_cost(seeder, ids[0], one_paths))
        return section

    def account_scenarios(
        self,
        base: str,
        customer_ids: list[str],
        get_row: Ratio,
        page_row: Ratio,
        customer_get: Callable[[], WrkResult],
    ) -> list[WrkResult]:
        """TMF666: one billing account per customer of the first page, created through REST; then
        GET /billingAccount/{id} twice, between three runs of `customer_get` (returned: its baseline), and the
        GraphQL page of 20 customers without, with, without accounts."""
        print(
            "  service: TMF666 billing accounts (GET by id, GraphQL page with and without accounts)",
            flush=True,
        )
        try:
            account_ids = accounts.seed_accounts(base, customer_ids)
        except (checks.CheckFailed, httpx.HTTPError) as error:
            get_row.error = page_row.error = f"ERROR creating the billing accounts: {error}"
            return []
        account_paths = self.write(
            "account.txt", [f"{accounts.ACCOUNT_PATH}/billingAccount/{i}" for i in account_ids]
        )
        check = partial(accounts.billing_account, base, account_ids[0])
        neighbours = Ratio("GET /customer/{id}, beside the account GET", None, "")
        # customer, account, customer, account, customer: each side the mean of its runs, as the metrics
        # row does (the two GETs do the same work, so the drift of a shared machine would decide alone).
        attempt(neighbours, customer_get, ceiling=True)
        for _ in range(2):
            attempt_again(get_row, partial(self.checked, check, base, GET_SCRIPT, account_paths))
            attempt(neighbours, customer_get, ceiling=True)
        url = f"{base}/graphql"
        for with_accounts in (False, True, False):
            query = accounts.PAGE_WITH if with_accounts else accounts.PAGE_WITHOUT
            body = self.write("graphql-accounts.json", [orjson.dumps({"query": query}).decode()])
            check = partial(accounts.graphql_page, base, with_accounts)
            attempt(page_row, partial(self.checked, check, url, POST_SCRIPT, body), ceiling=not with_accounts)
        return neighbours.ceilings

    def observability_cost(self, seeder: Seeder, customer_id: str, one_paths: Path) -> Ratio:
        """GET /customer/{id} with metrics and request ids (the default) against the same service with
        TMF629_OBSERVABILITY=false, measured off, on, off, on, off (each side the mean of its runs: the cost
        is a few percent, the drift of a shared machine as much): they may cost at most 5%."""
        row = Ratio("GET /customer/{id} with metrics + request ids", 0.95, "the service without them")

        def measure(ceiling: bool) -> Callable[[str], None]:
            def run(base: str) -> None:
                check = partial(checks.customer, base, customer_id)
                measured = partial(self.checked, check, base, GET_SCRIPT, one_paths)
                if ceiling:
                    attempt(row, measured, ceiling=True)
                else:
                    attempt_again(row, measured)

            return run

        print("  service: GET /customer/{id} without and with metrics and request ids, in turn", flush=True)
        off = {"TMF629_OBSERVABILITY": "false"}
        self.on(self.app(seeder, off), [row], measure(True))
        for _ in range(2):
            self.on(self.app(seeder), [row], measure(False))
            self.on(self.app(seeder, off), [row], measure(True))
        return row

    def jwt_cost(self, seeder: Seeder, customer_id: str, one_paths: Path) -> Ratio:
        """GET /customer/{id} with an RS256 JWT (TMF629_AUTH=jwt) against the same GET without
        authentication, measured without, with, without: verified tokens are cached until they expire,
        so checking the token must not cost more than 15%."""
        row = Ratio("GET /customer/{id} with a JWT", 0.85, "the service without auth")
        env, authorization = jwt_setup(self.workdir)

        def measure(with_jwt: bool) -> Callable[[str], None]:
            headers = {"Authorization": authorization} if with_jwt else None

            def run(base: str) -> WrkResult:
                if with_jwt:
                    checks.refused_without_credential(base, customer_id)
                checks.customer(base, customer_id, headers)
                return self.measure(base, GET_SCRIPT, one_paths, headers=headers)

            return lambda base: attempt(row, partial(run, base), ceiling=not with_jwt)

        print("  service: GET /customer/{id} without, with, without a JWT", flush=True)
        self.on(self.app(seeder), [row], measure(False))
        self.on(self.app(seeder, env), [row], measure(True))
        self.on(self.app(seeder), [row], measure(False))
        return row

    # -- workers -------------------------------------------------------------------------------

    def workers(self, seeder: Seeder) -> Section:
        """GET /customer/{id} on 2 workers against the ideal: twice one worker, unless the 2-worker
        ceiling (bare Litestar; on PostgreSQL, bare Litestar + asyncpg) is lower."""
        section = Section("A second worker", self.backend.name)
        postgres = self.backend.is_postgres
        ceiling_name = "bare Litestar + asyncpg" if postgres else "bare Litestar"
        row = Ratio("GET /customer/{id}, 2 workers", 0.80, "ideal: min(2 x 1 worker, 2-worker ceiling)")
        runs: dict[str, WrkResult] = {}
        one_paths = self.write("one.txt", [f"{API_PATH}/customer/{i}" for i in seeder.ids])
        customer_id = seeder.ids[0]

        def measure(key: str) -> Callable[[str], None]:
            def run(base: str) -> None:
                checks.customer(base, customer_id)
                runs[key] = self.measure(base, GET_SCRIPT, one_paths)

            return run

        servers: list[tuple[str, AbstractContextManager[ServerURL]]] = []
        for workers in (1, 2):
            servers.append((f"bare Litestar, {workers} worker(s)", self.ceiling(LITESTAR, workers)))
            if postgres:
                servers.append(
                    (f"bare Litestar + asyncpg, {workers} worker(s)", self.postgres_ceiling(seeder, workers))
                )
            servers.append((f"service, {workers} worker(s)", self.app(seeder, workers=workers)))
        for key, starting in servers:
            print(f"  {key}", flush=True)
            try:
                self.on(starting, [row], measure(key))
            except (checks.CheckFailed, RuntimeError, httpx.HTTPError) as error:
                row.error = f"ERROR ({key}): {error}"
        one, two = runs.get("service, 1 worker(s)"), runs.get("service, 2 worker(s)")
        ceiling_two = runs.get(f"{ceiling_name}, 2 worker(s)")
        if one and two and ceiling_two:
            row.result = two
            row.baseline_rps = min(2 * one.rps, ceiling_two.rps)
            row.notes.append(
                f"1 worker {one.rps:,.0f} req/s, 2 workers {two.rps:,.0f}; {ceiling_name}: "
                + ", ".join(
                    f"{w} worker(s) {runs[f'{ceiling_name}, {w} worker(s)'].rps:,.0f}"
                    for w in (1, 2)
                    if f"{ceiling_name}, {w} worker(s)" in runs
                )
            )
        section.rows.append(row)
        for name in ("bare Litestar", *(("bare Litestar + asyncpg",) if postgres else ())):
            gain = Ratio(f"  {name}: 2 workers against 1", None, f"{name}, 1 worker")
            gain.result = runs.get(f"{name}, 2 worker(s)")
            first = runs.get(f"{name}, 1 worker(s)")
            gain.ceilings = [first] if first else []
            section.rows.append(gain)
        return section

    # -- mixed load ----------------------------------------------------------------------------

    def mixed(self, seeder: Seeder) -> Section:
        """60% reads by id, 20% filtered pages, 15% creates, 5% merge patches at 64 connections: the first
        10,000 requests, the server's resident memory, then the rest, and its resident memory again."""
        total = self.args.mixed_requests
        section = Section(
            f"Mixed load, {self.args.mixed_connections} connections, {total:,} requests", self.backend.name
        )
        latency = Limit("mixed load: p99 / p50 latency", 5.0)
        errors = Limit("mixed load: errors (socket + non-2xx)", 0.0)
        memory = Limit(f"mixed load: resident memory after {total:,} / after 10,000 requests", 1.2)
        section.rows += [latency, errors, memory]
        ids = self.write("mixed-ids.txt", [f"{API_PATH}/customer/{i}" for i in seeder.ids])
        pages = self.write("mixed-pages.txt", [page_path(party_id(i)) for i in range(PARTY_COUNT)])
        body = self.write("mixed-post.json", [orjson.dumps(posted_body()).decode()])
        threads = self.args.threads
        marker = self.workdir / "mixed-stopped-"

        def run(base: ServerURL, requests: int) -> WrkResult:
            per_thread = max(1, requests // threads)
            cap = max(60.0, requests / 150)  # seconds: a bound, should the server be far slower than expected
            return run_wrk(
                self.wrk,
                base,
                MIXED_SCRIPT,
                [str(ids), str(pages), str(body), str(per_thread), str(marker)],
                duration=cap,
                stop_marker=marker,
                connections=self.args.mixed_connections,
                threads=threads,
            )

        def measure(base: ServerURL) -> None:
            checks.customer(base, seeder.ids[0])
            checks.page(base, party_id(7), self.args.customers // PARTY_COUNT)
            checks.create(base, body)
            first = run(base, 10_000)
            rss_first = resident_bytes(base.pid)
            print(f"  after {first.requests:,} requests: {rss_first / MIB:,.0f} MiB resident", flush=True)
            rest = run(base, max(threads, total - first.requests))
            rss_last = resident_bytes(base.pid)
            served = first.requests + rest.requests
            print(f"  after {served:,} requests: {rss_last / MIB:,.0f} MiB resident", flush=True)
            latency.value = rest.p99_ms / rest.p50_ms if rest.p50_ms else None
            latency.detail = (
                f"p50 {rest.p50_ms:.2f} ms, p90 {rest.p90_ms:.2f} ms, p99 {rest.p99_ms:.2f} ms, "
                f"max {rest.max_ms:.0f} ms; "
                f"{rest.rps:,.0f} req/s over the last {rest.requests:,} requests"
            )
            errors.value = float(first.failed + rest.failed)
            bad = first.bad_status + rest.bad_status
            errors.detail = f"{first.errors + rest.errors} socket errors, {bad} non-2xx/3xx"
            memory.value = rss_last / rss_first if rss_first else None
            memory.detail = (
                f"{rss_first / MIB:,.1f} MiB after {first.requests:,} requests, "
                f"{rss_last / MIB:,.1f} MiB after {served:,}"
            )

        print(f"  mixed load: {total:,} requests at {self.args.mixed_connections} connections", flush=True)
        if seeder.autovacuum() is False:
            section.notes.append(
                "this PostgreSQL server runs with autovacuum off: the service vacuums its tables itself "
                "during the load (TMF629_VACUUM=auto, app/store/upkeep.py: the dead rows of patches and "
                "fanned-out events, the visibility map of index-only counts)"
            )
        try:
            with self.app(seeder) as base:
                measure(base)
        except (ServerFailed, checks.CheckFailed, RuntimeError, httpx.HTTPError) as error:
            for row in section.rows:
                row.error = f"ERROR: {error}"
        return section

    # -- data size -----------------------------------------------------------------------------

    def size(self) -> Section:
        """GET by id, a page on an indexed attribute and a page on a path into an array, at each size,
        each against its own value at the smallest size."""
        sizes = self.args.sizes
        section = Section(f"Data size: {' and '.join(f'{s:,}' for s in sizes)} customers", self.backend.name)
        if len(sizes) < 2:
            section.skipped = "the size part needs two sizes (--sizes)"
            return section
        print(f"  data size: {', '.join(f'{s:,}' for s in sizes)} customers", flush=True)
        seeder = self.fresh_database("size")
        parties = [party_id(i) for i in range(PARTY_COUNT)]
        smallest = sizes[0]
        emails = self.write(
            "size-email.txt", [email_path(i) for i in range(0, smallest, max(1, smallest // 500))]
        )
        pages = self.write("size-page.txt", [page_path(p) for p in parties])
        names = (
            "GET /customer/{id}",
            "GET ?engagedParty.id=X&limit=20 (+count)",
            "GET ?contactMedium.characteristic.emailAddress=X",
        )
        baselines: dict[str, WrkResult] = {}
        for size in sizes:
            rows = [Ratio(f"{name} at {size:,}", 0.80, f"the same at {smallest:,}") for name in names]
            if size != smallest:
                section.rows += rows
            try:
                seconds = seeder.fill(size)
                seeder.settle()
            except Exception as error:  # the report goes on; the error is in it
                for row in rows:
                    row.error = f"ERROR seeding: {error}"
                break
            if seconds:
                section.notes.append(
                    f"{size:,} customers seeded in {seconds:.0f} s (CustomerService.create_many)"
                )
            # The same ids at every size (the first ones) and ids from the whole table, so that reads at the
            # largest size also reach rows that were written last.
            ids = self.write("size-one.txt", [f"{API_PATH}/customer/{i}" for i in seeder.ids + seeder.sample])
            scenarios: list[tuple[Callable[[str], None], Path]] = [
                (partial(_check_customer, seeder.ids[0]), ids),
                (partial(_check_page, parties[42], size // PARTY_COUNT), pages),
                (partial(_check_email, email_of(smallest // 2)), emails),
            ]

            def measure(
                base: str, size: int = size, rows: list[Ratio] = rows, scenarios: Any = scenarios
            ) -> None:
                # The three reads, then the three again, each row the mean of its two runs: one stall of the
                # machine or the database (a p99 of 128 ms against 11 ms, once) does not decide a row alone.
                runs = [
                    partial(
                        self.checked,
                        partial(check, base),
                        base,
                        GET_SCRIPT,
                        paths,
                        connections=self.args.size_connections,
                        secs=self.args.size_duration,
                    )
                    for check, paths in scenarios
                ]
                for turn in (attempt, attempt_again):
                    for name, row, run in zip(names, rows, runs, strict=True):
                        turn(row, run)
                        if row.result is not None:
                            print(
                                f"  {size:,}: {name}: {row.result.rps:,.0f} req/s, "
                                f"p50 {row.result.p50_ms:.2f} ms{'' if turn is attempt else ' (both runs)'}",
                                flush=True,
                            )
                for name, row in zip(names, rows, strict=True):
                    if size == smallest and row.result is not None:
                        baselines[name] = row.result

            self.on(self.app(seeder), rows, measure)
            if size != smallest:
                for name, row in zip(names, rows, strict=True):
                    if name in baselines:
                        row.ceilings = [baselines[name]]
        return section


def _check_customer(customer_id: str, base: str) -> None:
    checks.customer(base, customer_id)


def _check_page(party: str, total: int, base: str) -> None:
    checks.page(base, party, total)


def _check_email(email: str, base: str) -> None:
    checks.email_page(base, email)


def attempt(row: Ratio, run: Callable[[], WrkResult], ceiling: bool = False) -> None:
    """Run one measurement into `row`; a failed check or run becomes the row's error, not an exception."""
    try:
        result = run()
    except checks.Skip as skip:
        row.skipped = str(skip)
    except (checks.CheckFailed, RuntimeError, httpx.HTTPError) as error:
        row.error = f"{'ceiling ' if ceiling else ''}ERROR: {error}"
        print(f"    {row.error}", flush=True)
    else:
        if ceiling:
            row.ceilings.append(result)
        else:
            row.result = result


def attempt_again(row: Ratio, run: Callable[[], WrkResult]) -> None:
    """One more run of `row`'s scenario (`attempt`), counted together with its runs before."""
    earlier = row.result
    attempt(row, run)
    if earlier is not None and row.result is not None and row.result is not earlier:
        row.result = combined(earlier, row.result)


def run_backend(args: argparse.Namespace, wrk: str, workdir: Path, backend: Backend) -> list[Section]:
    bench = Bench(args, wrk, workdir, backend)
    sections: list[Section] = []
    shared = [part for part in ("ratios", "workers", "mixed") if part in args.parts]
    if shared:
        print(f"\n[{backend.name}] seeding {args.customers:,} customers", flush=True)
        try:
            seeder = bench.fresh_database("main")
            seeder.fill(args.customers)
            seeder.settle()
        except Exception as error:  # the report goes on; the error is in it
            print(f"  ERROR preparing the database: {error}", flush=True)
            return [
                Section(part, backend.name, skipped=f"the database could not be prepared: {error}")
                for part in shared
            ]
        for part in shared:
            print(f"\n[{backend.name}] {part}", flush=True)
            sections.append(_shown(getattr(bench, part)(seeder)))
            seeder.forget_writes()
    if "size" in args.parts:
        print(f"\n[{backend.name}] size", flush=True)
        sections.append(_shown(bench.size()))
    return sections


def _shown(section: Section) -> Section:
    """A part's table as soon as it is measured (a run cut short still shows what it measured); all of
    them are printed again together at the end."""
    print()
    print_section(section)
    sys.stdout.flush()
    return section


def backends(args: argparse.Namespace) -> tuple[list[Backend], list[str]]:
    """The backends to run, and a line for each one skipped."""
    chosen, skipped = [], []
    if "sqlite" in args.backends:
        chosen.append(Backend("SQLite", None))
    if "postgresql" in args.backends:
        url = bench_postgres_url()
        problem = prepare(url)
        if problem is None:
            chosen.append(Backend("PostgreSQL", url))
        else:
            skipped.append(
                f"SKIP PostgreSQL: {problem} (set TMF629_BENCH_POSTGRES_URL, or --backends sqlite)"
            )
    return chosen, skipped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk = ensure_wrk()
    except (WrkMissing, subprocess.CalledProcessError) as error:
        print(f"bench: cannot run without wrk: {error}", file=sys.stderr)
        return 1
    started = time.monotonic()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    chosen, skipped = backends(args)
    for line in skipped:
        print(line, flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="tmf629-bench-"))
    print(
        f"TMF629 benchmark: {', '.join(b.name for b in chosen) or 'no backend'}; "
        f"parts {', '.join(args.parts)}; "
        f"wrk {args.threads} threads x {args.connections} connections, {args.duration:g}s per run after "
        f"{args.warmup:g}s warm-up; {os.cpu_count()} CPUs",
        flush=True,
    )
    sections: list[Section] = []
    try:
        for backend in chosen:
            sections += run_backend(args, wrk, workdir, backend)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nResults ({time.monotonic() - started:.0f}s in all)\n")
    for section in sections:
        print_section(section)
        print()
    for line in skipped:
        print(line)
    meta = {
        "started": started_at,
        "backends": [b.name for b in chosen],
        "skipped": skipped,
        "args": dict(vars(args).items()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "node": platform.node()},
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(as_json(sections, meta), indent=2, default=str))
    print(f"(results also in {out.relative_to(ROOT)})")
    for backend in chosen:
        print(summary(sections, backend.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
