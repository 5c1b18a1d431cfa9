"""Entry point: `python -m bench.run [--quick] [--only room100 ...] [--servers charla,bare[,tutorial]]`."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report, servers, stats
from bench.driver import Run, Settings, log
from bench.scenarios import SCENARIOS, Scenario, select, tutorial_room


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short phases (1 s warm-up + 3 s) for a smoke run")
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", help=f"any of: {', '.join(SCENARIOS)}")
    parser.add_argument(
        "--servers",
        default="charla,bare",
        help="comma-separated: charla, bare, tutorial (the seed tutorial's chat: rooms of 10 and 100 only)",
    )
    parser.add_argument("--duration", type=float, help="measured seconds per phase (default 8; quick 3)")
    parser.add_argument("--warmup", type=float, help="seconds before measuring (default 2; quick 1)")
    parser.add_argument("--client-procs", type=int, default=1, help="load-client processes (default 1)")
    parser.add_argument("--connect-timeout", type=float, default=300.0, help="bound on a scenario's connect phase")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each scenario, wait up to this long for other processes to leave the CPU idle",
    )
    parser.add_argument("--settle-max", type=float, help="bound on waiting for presence traffic (default 60; quick 20)")
    parser.add_argument(
        "--plot",
        choices=("auto", "always", "never"),
        default="auto",
        help="write docs/bench.png: auto = only for a full run (no --quick, --only or --servers)",
    )
    args = parser.parse_args(argv)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not args.servers or set(args.servers) - {"charla", "bare", "tutorial"}:
        parser.error("--servers takes any of charla, bare, tutorial")
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    quick = args.quick
    return Settings(
        duration=args.duration or (3.0 if quick else 8.0),
        warmup=args.warmup if args.warmup is not None else (1.0 if quick else 2.0),
        drain_timeout=15.0 if quick else 30.0,
        connect_timeout=args.connect_timeout,
        settle_max=args.settle_max or (20.0 if quick else 60.0),
        client_procs=max(1, args.client_procs),
        wait_quiet=args.wait_quiet,
    )


class Charla:
    """What Charla needs for the run: a private Redis, and per database an env and the users' session keys."""

    def __init__(self, scenarios: list[Scenario], workdir: Path, redis: tuple[servers.Proc, str]):
        self.workdir = workdir
        self.secret = servers.new_secret_key()
        self.redis, self.redis_url = redis
        self.static = workdir / "static"
        self.static.mkdir()
        self.databases: dict[str, tuple[dict, list[str]]] = {}
        for database in sorted({s.database for s in scenarios}):
            mine = [s for s in scenarios if s.database == database]
            self.databases[database] = self._prepare(database, mine)

    def _prepare(self, database: str, scenarios: list[Scenario]) -> tuple[dict, list[str]]:
        if database == "postgres":
            url = servers.create_postgres()
        else:
            url = f"sqlite:///{self.workdir / 'bench.sqlite3'}"
        env = servers.charla_env(
            database_url=url, redis_url=self.redis_url, secret_key=self.secret, static_root=str(self.static)
        )
        t0 = time.monotonic()
        servers.migrate(env, self.workdir)
        rooms: dict[str, list[int]] = {}
        for scenario in scenarios:
            rooms.update(scenario.membership())
        cookies = fill(env, "bench.fixtures", {"users": max(s.sockets for s in scenarios), "rooms": rooms})
        log(f"{database}: migrated, {len(cookies):,} users and {len(rooms):,} rooms in {time.monotonic() - t0:.0f} s")
        return env, cookies

    def start(self, scenario: Scenario) -> tuple[list[servers.Proc], list[str], object]:
        """Start the scenario's Charla processes; also returns what lists the pids of Redis and its DB backends."""
        servers.flush_redis(self.redis_url)
        env, cookies = self.databases[scenario.database]
        procs = [servers.start_charla(env, self.workdir, scenario.name) for _ in range(scenario.processes)]
        return procs, cookies, lambda: [self.redis.pid, *servers.postgres_backends(env["DATABASE_URL"])]


def fill(env: dict, module: str, spec: dict) -> list[str]:
    """Run a fixtures module (bench.fixtures or bench.tutorial_app.fixtures); returns the users' session keys."""
    done = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(spec),
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode:
        raise RuntimeError(f"creating users and rooms failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)["cookies"]


class Tutorial:
    """The seed tutorial's chat: its own SQLite database (users, sessions, Sala rows), the run's Redis."""

    def __init__(self, scenarios: list[Scenario], workdir: Path, redis: tuple[servers.Proc, str]):
        self.workdir = workdir
        self.redis, self.redis_url = redis
        self.env = servers.tutorial_env(
            database=str(workdir / "tutorial.sqlite3"),
            redis_url=self.redis_url,
            secret_key=servers.new_secret_key(),
        )
        t0 = time.monotonic()
        servers.migrate(self.env, workdir)
        rooms: dict[str, list[int]] = {}
        for scenario in scenarios:
            rooms.update({tutorial_room(name): members for name, members in scenario.membership().items()})
        self.cookies = fill(
            self.env, "bench.tutorial_app.fixtures", {"users": max(s.sockets for s in scenarios), "rooms": rooms}
        )
        log(
            f"tutorial: migrated, {len(self.cookies):,} users and {len(rooms):,} rooms in {time.monotonic() - t0:.0f} s"
        )

    def start(self, scenario: Scenario) -> tuple[list[servers.Proc], list[str], object]:
        servers.flush_redis(self.redis_url)
        procs = [servers.start_tutorial(self.env, self.workdir, scenario.name)]
        return procs, self.cookies, lambda: [self.redis.pid]


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    scenarios = select(args.only)
    plan = [(s, server) for s in scenarios for server in args.servers if server in s.servers]
    if not plan:
        raise SystemExit("nothing to run: no selected scenario is served by the selected servers")
    workdir = Path(tempfile.mkdtemp(prefix="charla-bench-"))
    document = {
        "command": shlex.join([sys.executable, "-m", "bench.run", *sys.argv[1:]]),
        "machine": stats.machine_info(),
        "settings": vars(settings),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    log(f"bench: {document['command']}\n{len(plan)} runs; logs in {workdir}")
    rows: list[dict] = []
    charla = tutorial = None
    ok = False
    try:
        redis = None
        for name, kind in (("Charla", Charla), ("the tutorial", Tutorial)):
            mine = [s for s, server in plan if server == kind.__name__.lower()]
            if not mine:
                continue
            try:
                redis = redis or servers.start_redis(workdir)
                prepared = kind(mine, workdir, redis)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                log(f"!! could not prepare {name}: {exc}")
                return 1
            if kind is Charla:
                charla = prepared
            else:
                tutorial = prepared
        for scenario, server in plan:
            log(f"== {scenario.label} ({scenario.name}) on {server}")
            procs: list[servers.Proc] = []
            try:
                if server == "charla":
                    procs, cookies, support = charla.start(scenario)
                elif server == "tutorial":
                    procs, cookies, support = tutorial.start(scenario)
                else:
                    procs, cookies, support = [servers.start_bare(workdir, scenario.name)], None, list
                rows.append(Run(scenario, server, procs, cookies, settings, support).execute())
            except RuntimeError as exc:
                log(f"  !! {scenario.name}/{server}: {exc}")
                rows.append({"scenario": scenario.name, "label": scenario.label, "server": server, "error": str(exc)})
            finally:
                for proc in procs:
                    proc.stop()
        ok = True
    finally:
        servers.stop_all()
        try:
            servers.drop_created_databases()
        except Exception as exc:  # the results matter more than the cleanup
            log(f"could not drop the bench database: {exc}")
        if rows:
            document["results"] = rows
            document.update(report.summary(rows))
            document["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            log("\n" + report.table(rows, document))
            log(f"\nJSON: {report.write_json(document)}")
            full = not (args.quick or args.only) and {"charla", "bare"} <= set(args.servers)
            if args.plot == "always" or (args.plot == "auto" and full):
                machine = document["machine"]
                png = report.plot(
                    rows, note=f"{document['started'][:10]}, {machine['nproc']} cores, Python {machine['python']}"
                )
                log(f"plot: {png or 'not written: matplotlib is missing (pip install -r requirements-bench.txt)'}")
            elif args.plot == "auto":
                log("plot: docs/bench.png left as it is for a partial run (--plot always to write it)")
        if ok and not any("error" in r or r.get("server_died") or r.get("server_tracebacks") for r in rows):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"server logs kept in {workdir}")
    return 0 if ok else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(parse_args(argv))
    except KeyboardInterrupt:
        log("interrupted; servers stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
