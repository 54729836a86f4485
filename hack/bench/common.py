"""Shared pieces of the benchmarks: a database, pinned service processes, wrk runs, medians.

Benchmarks print numbers; they are never timed tests. The process under test runs pinned to
CPU 0; wrk and PostgreSQL share CPU 1 (`taskset`), so it gets one core to itself. The machine
may be shared, so every figure comes with the CPU time the measured process spent per request
(user + system, from /proc/PID/stat): that number barely moves when other jobs steal the core.
Every case runs `--repeats` times, interleaved with the cases it is compared with, and prints
the median and the spread (lowest-highest).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiopg
from hack.dev.localpg import LocalPostgres, free_port, url_as
from hack.dev.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
SERVICE_CPU = "0"
LOAD_CPU = "1"
ADMIN_TOKEN = "bench-admin-token-0123456789"
SERVICE_TOKEN = "bench-order-api-service-token-0123456789"  # the shop's ORDER_API_TOKEN
# The services' database roles' passwords: db.migrate sets them, each service connects as its own
# role (as in production), via role_url().
ROLE_PASSWORDS = {
    "PRODUCT_API_DB_PASSWORD": "bench-product-api-password",
    "ORDER_API_DB_PASSWORD": "bench-order-api-password",
}
BULK_PRODUCTS = 10_000
SEARCH_WORDS = ("laptop", "phone", "wireless", "monitor", "router", "ssd", "camera", "keyboard")


def arguments(
    doc: str, more: Callable[[argparse.ArgumentParser], object] | None = None, **defaults: int
) -> argparse.Namespace:
    """The options every benchmark takes (and those `more` adds); checks that wrk and taskset
    are installed."""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=defaults.get("seconds", 10), help="per run")
    parser.add_argument("--connections", type=int, default=defaults.get("connections", 32))
    parser.add_argument("--repeats", type=int, default=3, help="runs of each case (median)")
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default=None,
        help="EVENT_LOOP of every process under test, bare baseline too (default: each service's"
        " own: asyncio for the APIs and the bare baseline, uvloop for the frontend)",
    )  # fmt: skip
    parser.add_argument(
        "--services", type=Path, default=ROOT / "services",
        help="the services/ tree to run (e.g. an export of an older commit, for before/after)",
    )  # fmt: skip
    if more is not None:
        more(parser)
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is missing (hack/dev/deps/frontend.sh installs it)")
    return args


def loop_name(args: argparse.Namespace) -> str:
    return args.loop or "each service's default"


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


@dataclass
class Database:
    """The benchmark's PostgreSQL: its URL and, when this run started it, its postmaster's pid,
    whose CPU time (with its backends') is measured per request too."""

    url: str
    postmaster: int | None = None

    def cpu_seconds(self) -> float | None:
        if self.postmaster is None:
            return None
        children = subprocess.run(
            ["pgrep", "-P", str(self.postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        total = 0.0
        for pid in [self.postmaster, *map(int, children)]:
            try:
                total += process_cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                pass  # a backend that just ended
        return total


@contextmanager
def database(cpu: str | None = LOAD_CPU) -> Iterator[Database]:
    """DATABASE_URL if set, else a throwaway server, pinned to `cpu` (next to the load
    generator) unless that is None."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield Database(url)
        return
    server = LocalPostgres.create()
    try:
        postmaster = int((server.datadir / "postmaster.pid").read_text().split()[0])
        if cpu is not None:  # its backends inherit the affinity
            subprocess.run(["taskset", "-a", "-p", "-c", cpu, str(postmaster)], capture_output=True)
        yield Database(server.url, postmaster)
    finally:
        server.destroy()


@contextmanager
def catalog_database(args: argparse.Namespace, cpu: str | None = LOAD_CPU) -> Iterator[Database]:
    """database(cpu), migrated and loaded with the benchmark catalog (prepare_database)."""
    with database(cpu) as db:
        prepare_database(args, db.url)
        yield db


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process: /proc/PID/stat fields 14 and 15 (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def role_url(url: str, package: str) -> str:
    """The database at `url` as service `package`'s own role (product_api or order_api)."""
    return url_as(url, package, ROLE_PASSWORDS[f"{package.upper()}_DB_PASSWORD"])


def python_env(args: argparse.Namespace, **extra: str) -> dict[str, str]:
    """The environment of a service process: the services tree on PYTHONPATH, the event loop
    when --loop names one."""
    env = dict(os.environ, PYTHONPATH=str(args.services))
    if args.loop is not None:
        env["EVENT_LOOP"] = args.loop
    env.update(extra)
    return env


def api_env(args: argparse.Namespace, url: str, package: str, **extra: str) -> dict[str, str]:
    """The environment of API `package` (product_api or order_api) on the database at `url`: its
    own role, the admin token and, for order-api, the shop's service token."""
    env = python_env(args, DATABASE_URL=role_url(url, package), ADMIN_TOKEN=ADMIN_TOKEN, **extra)
    if package == "order_api":
        env["ORDER_API_SERVICE_TOKEN"] = SERVICE_TOKEN
    return env


def run_module(module: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", module], env=env, check=True, stdout=subprocess.DEVNULL)


def prepare_database(args: argparse.Namespace, url: str) -> None:
    """Migrations, the demo catalog (240 products), then BULK_PRODUCTS more in one statement, so
    the ids a benchmark reads are spread over a realistic working set."""
    run_module("db.migrate", python_env(args, DATABASE_URL=url, **ROLE_PASSWORDS))
    run_module("product_api.seed", python_env(args, DATABASE_URL=role_url(url, "product_api")))
    # Bulk names and descriptions avoid SEARCH_WORDS: a search matches the demo products'
    # dozens, as a shop's query does, not an eighth of the catalog (that is a measure of
    # PostgreSQL ranking 1,300 rows, not of the service: about 190 req/s for both).
    run_sql(
        url,
        """
        INSERT INTO catalog.products (sku, name, description, category_id, price, stock)
        SELECT 'BULK-' || n, 'Bulk item ' || n, 'Filler ' || n || ' of the benchmark catalog',
               c.ids[1 + n %% array_length(c.ids, 1)], (n %% 997) + 0.99, 1000000
          FROM generate_series(1, %s) AS n,
               (SELECT array_agg(id ORDER BY id) AS ids FROM catalog.categories) AS c
        ON CONFLICT (sku) DO NOTHING
        """,
        (BULK_PRODUCTS,),
    )
    # Fresh statistics and visibility map, or the plan of a search changes when autovacuum
    # comes by in the middle of a run (a sequential scan of every row before, the index after).
    run_sql(url, "VACUUM ANALYZE")


def run_sql(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """One statement on its own connection; its rows (if any)."""

    async def run() -> list[tuple]:
        async with aiopg.connect(url) as conn, conn.cursor() as cur:
            await cur.execute(sql, params)
            return await cur.fetchall() if cur.description else []

    return asyncio.run(run())


def product_ids(url: str) -> list[int]:
    """The ids of the active products."""
    return [id_ for (id_,) in run_sql(url, "SELECT id FROM catalog.products WHERE active")]


@dataclass
class Target:
    """A running process under test: its base URL and the pid whose CPU time is measured."""

    name: str
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)


@contextmanager
def server(
    name: str, argv: list[str], env: dict[str, str], *, cpu: str = SERVICE_CPU, probe="/health"
) -> Iterator[Target]:
    """Start argv pinned to `cpu` (taskset execs it: same pid), wait until `probe` answers."""
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        ["taskset", "-c", cpu, *argv],
        env={**env, "PORT": str(port), "DRAIN_SECONDS": "0"},
        stdout=subprocess.DEVNULL,
        stderr=log,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=1).close()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or process.poll() is not None:
                    log.seek(0)
                    output = log.read().decode()
                    raise SystemExit(f"bench: {name} did not start:\n{output}") from None
                time.sleep(0.1)
        yield Target(name, f"http://127.0.0.1:{port}", process.pid)
    finally:
        stop_process(process, timeout=30)
        log.close()


@dataclass
class Run:
    """One wrk run against one target."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx/3xx answers plus socket errors
    cpu_us_per_request: float  # of the process(es) under test
    db_cpu_us_per_request: float | None = None  # of PostgreSQL, when the run started it


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(
    target: Target | list[Target],
    script: str,
    *,
    connections: int,
    seconds: int,
    database: Database | None = None,
    cpu: str | None = LOAD_CPU,
) -> Run:
    """Run wrk (pinned to `cpu`, if any) with a Lua script; parse throughput and latency
    percentiles, and measure the CPU time per request of the target and of PostgreSQL. Given
    several targets, one wrk per target runs at once, the connections split between them."""
    targets = target if isinstance(target, list) else [target]
    scripts = []
    for _ in targets:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(script)
        scripts.append(lua.name)
    each = max(connections // len(targets), 1)
    command = ["taskset", "-c", cpu] if cpu else []
    command += ["wrk", "-t1", f"-c{each}", f"-d{seconds}s", "--timeout", "5s", "--latency"]
    cpu_before = sum(t.cpu_seconds() for t in targets)
    db_before = database.cpu_seconds() if database else None
    try:
        processes = [
            subprocess.Popen(
                [*command, "-s", lua, t.url],
                stdout=subprocess.PIPE,
                text=True,
            )
            for t, lua in zip(targets, scripts, strict=True)
        ]
        outputs = [process.communicate(timeout=seconds + 60)[0] for process in processes]
    finally:
        for lua in scripts:
            os.unlink(lua)
    cpu = sum(t.cpu_seconds() for t in targets) - cpu_before
    db_after = database.cpu_seconds() if database else None
    runs = [_parse(output) for output in outputs]
    total = sum(run[3] for run in runs)
    return Run(
        requests_per_second=sum(run[0] for run in runs),
        p50_ms=max(run[1] for run in runs),
        p99_ms=max(run[2] for run in runs),
        requests=total,
        bad=sum(run[4] for run in runs),
        cpu_us_per_request=cpu / max(total, 1) * 1e6,
        db_cpu_us_per_request=(
            None if db_before is None else (db_after - db_before) / max(total, 1) * 1e6
        ),
    )


def _parse(output: str) -> tuple[float, float, float, int, int]:
    """(req/s, p50 ms, p99 ms, requests, bad answers) of one wrk run's output."""
    bad = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        bad += int(match.group(1))
    if match := re.search(r"Socket errors: (.*)", output):
        bad += sum(int(n) for n in re.findall(r"\d+", match.group(1)))
    return (
        float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        _ms(re.search(r"\s50%\s+(\S+)", output).group(1)),
        _ms(re.search(r"\s99%\s+(\S+)", output).group(1)),
        int(re.search(r"(\d+) requests in", output).group(1)),
        bad,
    )


def random_paths(template: str, ids: list[int], seed: int = 7) -> str:
    """A wrk script requesting template % id, the id drawn at random from `ids` every time."""
    return f"""
local ids = {{{",".join(map(str, ids))}}}
math.randomseed({seed})
request = function()
  return wrk.format("GET", string.format("{template}", ids[math.random(1, #ids)]))
end
"""


def rotating_paths(paths: list[str]) -> str:
    """A wrk script requesting the paths in turn."""
    quoted = ", ".join(f'"{path}"' for path in paths)
    return f"""
local paths = {{{quoted}}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def _spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def _db_spread(runs: list[Run]) -> str:
    values = [r.db_cpu_us_per_request for r in runs if r.db_cpu_us_per_request is not None]
    return _spread(values, "3.0f") if values else "-"


@dataclass
class Results:
    """Runs by case label; prints each run as it comes and medians with spreads at the end."""

    runs: dict[str, list[Run]] = field(default_factory=lambda: defaultdict(list))

    def add(self, label: str, run: Run) -> Run:
        self.runs[label].append(run)
        print(
            f"  {label:44} {run.requests_per_second:7.0f} req/s  p50 {run.p50_ms:6.2f} ms"
            f"  p99 {run.p99_ms:6.2f} ms  {run.cpu_us_per_request:5.0f} us CPU/req"
            + (
                ""
                if run.db_cpu_us_per_request is None
                else f" (PostgreSQL {run.db_cpu_us_per_request:4.0f})"
            )
            + f"  ({run.requests} requests, {run.bad} bad)",
            flush=True,
        )
        return run

    def median(self, label: str, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs[label])

    def summary(self) -> None:
        count = max(len(runs) for runs in self.runs.values())
        print(f"\nmedian (lowest-highest) of {count} runs:")
        print(
            f"  {'case':44} {'req/s':>17} {'p50 ms':>19} {'p99 ms':>19} {'CPU us/req':>15}"
            f" {'PostgreSQL us/req':>17}"
        )
        for label, runs in self.runs.items():
            print(
                f"  {label:44}"
                f" {_spread([r.requests_per_second for r in runs], '5.0f'):>17}"
                f" {_spread([r.p50_ms for r in runs], '5.1f'):>19}"
                f" {_spread([r.p99_ms for r in runs], '5.1f'):>19}"
                f" {_spread([r.cpu_us_per_request for r in runs], '3.0f'):>15}"
                f" {_db_spread(runs):>17}"
                + (f"  {sum(r.bad for r in runs)} bad answers" if any(r.bad for r in runs) else ""),
                flush=True,
            )

    def ratio(self, label: str, baseline: str) -> tuple[float, float]:
        """(throughput, CPU per request) of label over baseline, medians of the per-run ratios:
        each run of `label` is paired with the run of `baseline` made right after it."""
        pairs = list(zip(self.runs[label], self.runs[baseline], strict=True))
        return (
            statistics.median(a.requests_per_second / b.requests_per_second for a, b in pairs),
            statistics.median(a.cpu_us_per_request / b.cpu_us_per_request for a, b in pairs),
        )

    def bad_answers(self) -> int:
        return sum(run.bad for runs in self.runs.values() for run in runs)


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"
