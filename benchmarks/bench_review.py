r"""Benchmark the review app's list page: many officers at once, each list ~2,000 residents.

Usage::

    .venv/bin/python benchmarks/bench_review.py --workspace-from /tmp/d20k
    # the harshest case and a realistic one (2 s mean think time) on the same server
    .venv/bin/python benchmarks/bench_review.py --workspace-from /tmp/d20k --think 0 2
    # the review database on PostgreSQL: a throwaway database is created on that server
    .venv/bin/python benchmarks/bench_review.py --workspace-from /tmp/d20k \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

What it measures (issue 9: 50 concurrent officers on loopback, a list page of 2,000 residents,
p95 latency under 300 ms on this machine):

1. **Set-up** (a fresh process, not timed as part of the figures): the source workspace's
   ``warehouse.duckdb``, ``mlflow/`` (its SQLite store pointed at the copy, by
   ``bench_score._copy_stores``), ``settings.yaml`` and ``review.db`` are copied into a
   temporary workspace, so the source is never written. Every patch on the latest scored
   month's lists gets a capacity of ``--list-size`` (:func:`risk_model.review.admin.set_capacity`),
   the month is scored again with :func:`risk_model.scoring.run.score` (``overwrite=True``; it
   publishes to the review database) and ``--officers`` housing officers are added, spread over
   the patches whose lists hold about ``--list-size`` residents (a patch with a shorter list is
   combined with others until they do; one left short is not used). Each officer but the first
   gets a session from :func:`risk_model.review.auth.create_session`.
2. **The server**: ``uvicorn --factory risk_model.review.app:create_app`` in a subprocess on a
   free loopback port, ``--workers`` processes, warnings-only logging as ``risk-model review
   serve`` does. With ``--database-url`` (a PostgreSQL server's maintenance database) a
   throwaway database ``bench_review_<hex>`` is created on that server, used, and dropped at
   the end; otherwise the review database is SQLite (``review.db``) in the temporary workspace.
3. **One real sign-in**: ``GET /sign-in`` (the form and its CSRF token), then ``POST /sign-in``
   for the first officer (the scrypt check, the rate-limit look-up, the audit event, the new
   session), both timed, then that officer's first ``GET /my-list``.
4. **The load**: for each ``--think`` value, ``--officers`` simulated officers (asyncio, one
   ``httpx.AsyncClient`` each, with its own session cookie and connection) request
   ``GET /my-list`` again and again, waiting an exponentially distributed think time of that
   mean between requests (0: none, the harshest case). ``--warmup`` seconds are not counted; for
   the next ``--seconds`` every request started is timed (sent to the whole body read) and
   checked: status 200 and exactly the officer's number of rows (links to a resident's page).
   Reported: requests, throughput, latency p50/p95/p99/max, errors, the server's CPU (all its
   processes, as a share of one core) and peak RSS (all processes together, and the largest
   one), this client's CPU, the whole machine's busy share and steal, the load average before,
   during (highest) and after, and the page's size in bytes.
5. With ``--profile N``: N list requests to ``create_app`` in a fresh process (through
   ``httpx.ASGITransport``, in one thread) under cProfile, after timing the page's parts one
   by one (the session check, the queries, the audit event, and the whole request; the rest
   is rendering and the framework).

Prints the figures and writes them to ``benchmarks/results/bench_review.json``. The client and
the server share this machine's cores, as on any loopback benchmark: the client's own CPU is
reported so that can be judged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _workspace import prepare
from bench_score import _copy_stores

try:
    import httpx
except ImportError:  # pragma: no cover - the fork of the same API
    import httpx2 as httpx  # type: ignore[no-redef]

RESULTS = Path(__file__).parent / "results" / "bench_review.json"
#: The issue's requirement: p95 latency of the list page, in milliseconds.
P95_LIMIT_MS = 300.0
_PASSWORD = "benchmark passphrase " + "x" * 8
_ROW = b'href="/residents/'
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _log(message: str) -> None:
    print(f"[bench_review] {message}", file=sys.stderr, flush=True)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---- the set-up, in a fresh process -----------------------------------------------------------


def _groups(sizes: dict[str, int], list_size: int) -> list[list[str]]:
    """Patches for each officer group: one patch whose list is long enough, or several short ones.

    A patch whose list holds at least 90% of ``list_size`` is a group on its own; shorter ones
    are combined, longest first, until they hold ``list_size``; a remainder that falls short is
    left out.
    """
    groups = [[p] for p, n in sorted(sizes.items()) if n >= 0.9 * list_size]
    short = sorted((p for p, n in sizes.items() if n < 0.9 * list_size),
                   key=lambda p: (-sizes[p], p))
    current: list[str] = []
    for patch in short:
        current.append(patch)
        if sum(sizes[p] for p in current) >= 0.9 * list_size:
            groups.append(current)
            current = []
    return groups


def _setup(ws_root: str, month: str | None, list_size: int, officers: int) -> dict[str, Any]:
    """Score the month with lists of ``list_size``, add the officers; their sessions and rows."""
    import duckdb

    import risk_model
    from risk_model.config import Workspace
    from risk_model.review import app, lists
    from risk_model.review.admin import add_user, set_capacity, set_patches
    from risk_model.review.auth import create_session
    from risk_model.scoring.run import score

    ws = Workspace.at(ws_root)
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        month = month or con.execute("SELECT max(month) FROM lists").fetchone()[0]
        patches = [r[0] for r in con.execute(
            "SELECT DISTINCT patch FROM lists WHERE patch <> '' ORDER BY patch").fetchall()]
    if not month or not patches:
        raise SystemExit(f"{ws_root} has no scored lists: score a month in the source first")
    for patch in patches:
        set_capacity(ws, patch, list_size)
    t = time.perf_counter()
    result = score(ws, month, overwrite=True)
    scoring_seconds = time.perf_counter() - t
    published = lists.latest_month(ws)
    if published != month:
        raise SystemExit(f"scoring {month} published {published} as the latest month")
    sizes: dict[str, int] = {}
    for entry in lists.list_entries(ws, month):
        sizes[entry.patch] = sizes.get(entry.patch, 0) + 1
    groups = _groups(sizes, list_size)
    if not groups:
        raise SystemExit(f"no patch list holds about {list_size} residents even combined "
                         f"(lists: {sizes}); pass a smaller --list-size")
    page_size = getattr(app, "PAGE_SIZE", None)  # a paged list shows its first page
    users: list[dict[str, Any]] = []
    for i in range(officers):
        group = groups[i % len(groups)]
        name = f"officer{i:03d}"
        add_user(ws, name, "housing_officer", display_name=f"Officer {i}", password=_PASSWORD)
        set_patches(ws, name, group)
        users.append({"username": name, "patches": group,
                      "list_rows": sum(sizes[p] for p in group),
                      "rows": min(sum(sizes[p] for p in group), page_size or 10**9),
                      "token": create_session(ws, name) if i else None})
    used = {p for g in groups for p in g}
    return {"app_source": str(Path(risk_model.__file__).parent), "page_size": page_size,
            "month": month, "scoring_seconds": round(scoring_seconds, 2),
            "scored": result.counts.get("scored"),
            "list_sizes": sizes, "patches_unused": sorted(set(sizes) - used),
            "groups": groups, "users": users}


# ---- the server and its processes -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(root: int) -> list[int]:
    """``root`` and every process descended from it (from ``/proc``)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(p for p, parent in parents.items() if parent == pid)
    return found


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


def _rss_mb(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * _PAGE_KB / 1024


def _machine_cpu() -> tuple[int, int, int]:
    """Jiffies of the whole machine: (busy, total, steal)."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return sum(values) - idle, sum(values), steal


@dataclass
class _Sampler:
    """Samples the server's RSS (every process, and their sum) and the load every 100 ms."""

    root: int
    peak_total_mb: float = 0.0
    peak_process_mb: float = 0.0
    peak_load1: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self.peak_total_mb = self.peak_process_mb = self.peak_load1 = 0.0

    def _run(self) -> None:
        pids = _tree(self.root)
        ticks = 0
        while not self._stop.wait(0.1):
            ticks += 1
            if ticks % 20 == 0:  # workers may be restarted
                pids = _tree(self.root)
            rss = [_rss_mb(p) for p in pids]
            self.peak_total_mb = max(self.peak_total_mb, sum(rss))
            self.peak_process_mb = max(self.peak_process_mb, max(rss, default=0.0))
            self.peak_load1 = max(self.peak_load1, os.getloadavg()[0])

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _start_server(ws: Path, port: int, workers: int, env: dict[str, str]
                  ) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "--factory",
               "risk_model.review.app:create_app", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--log-level", "warning", "--proxy-headers"]
    server = subprocess.Popen(command, env={**env, "RISK_MODEL_WORKSPACE": str(ws)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at start (exit {server.returncode})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                # every worker answers once each has imported the app
                if len(_tree(server.pid)) >= (workers + 1 if workers > 1 else 1):
                    return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not answer /healthz within 60 s")


# ---- the officers -----------------------------------------------------------------------------


def _real_sign_in(base: str, username: str) -> dict[str, Any]:
    """Sign in through the form, as a browser does; the times and the session token."""
    with httpx.Client(base_url=base, timeout=30) as client:
        t = time.perf_counter()
        form = client.get("/sign-in")
        get_ms = (time.perf_counter() - t) * 1000
        found = _CSRF.search(form.text)
        if form.status_code != 200 or found is None:
            raise SystemExit(f"GET /sign-in gave {form.status_code} without a CSRF token")
        t = time.perf_counter()
        signed = client.post("/sign-in", data={"username": username, "password": _PASSWORD,
                                               "csrf_token": found.group(1)})
        post_ms = (time.perf_counter() - t) * 1000
        token = signed.cookies.get("review_session")
        if signed.status_code != 303 or signed.headers.get("location") != "/my-list" \
                or not token:
            raise SystemExit(f"POST /sign-in gave {signed.status_code} "
                             f"{signed.headers.get('location')!r}: the sign-in failed")
        t = time.perf_counter()
        first = client.get("/my-list")
        first_ms = (time.perf_counter() - t) * 1000
    return {"get_form_ms": round(get_ms, 1), "post_ms": round(post_ms, 1),
            "first_list_ms": round(first_ms, 1), "first_list_status": first.status_code,
            "token": token}


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    warmup_requests: int = 0
    page_bytes: int = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def _officer(base: str, token: str, rows: int, think: float, start: float,
                   end: float, tally: _Tally, rng: random.Random) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, cookies={"review_session": token},
                                 timeout=60, limits=limits) as client:
        while (now := time.perf_counter()) < end:
            t = now
            try:
                response = await client.get("/my-list")
                body = response.content
            except httpx.HTTPError as exc:
                kind = type(exc).__name__
                response, body = None, b""
            elapsed = time.perf_counter() - t
            if response is not None:
                if response.status_code != 200:
                    kind = f"status {response.status_code}"
                elif body.count(_ROW) != rows:
                    kind = f"{body.count(_ROW)} rows, not {rows}"
                else:
                    kind = ""
            if t >= start:
                tally.latencies.append(elapsed * 1000)
                if kind:
                    tally.error(kind)
            else:
                tally.warmup_requests += 1
            if not kind:
                tally.page_bytes = max(tally.page_bytes, len(body))
            if think > 0:
                await asyncio.sleep(rng.expovariate(1 / think))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def _run_load(base: str, users: list[dict[str, Any]], *, think: float, warmup: float,
              seconds: float, server: subprocess.Popen[bytes], sampler: _Sampler
              ) -> dict[str, Any]:
    """Every officer requests their list for ``warmup + seconds``; the figures of ``seconds``."""
    tally = _Tally()
    rng = random.Random(9)
    load_before = _load()

    async def everyone() -> dict[str, float]:
        t0 = time.perf_counter()
        start, end = t0 + warmup, t0 + warmup + seconds
        marks: dict[str, float] = {}

        async def mark() -> None:  # the server's and the machine's CPU over the window only
            await asyncio.sleep(max(0.0, start - time.perf_counter()))
            pids = _tree(server.pid)
            marks.update(cpu0=_cpu_seconds(pids), client0=_client_cpu(),
                         wall0=time.perf_counter())
            marks["busy0"], marks["total0"], marks["steal0"] = _machine_cpu()
            sampler.reset()
            await asyncio.sleep(max(0.0, end - time.perf_counter()))
            marks.update(cpu1=_cpu_seconds(_tree(server.pid)), client1=_client_cpu(),
                         wall1=time.perf_counter())
            marks["busy1"], marks["total1"], marks["steal1"] = _machine_cpu()

        await asyncio.gather(mark(), *(
            _officer(base, u["token"], u["rows"], think, start, end, tally,
                     random.Random(rng.random())) for u in users))
        marks["drained"] = time.perf_counter() - end
        return marks

    marks = asyncio.run(everyone())
    wall = marks["wall1"] - marks["wall0"]
    lat = tally.latencies
    jiffies = marks["total1"] - marks["total0"] or 1
    return {
        "think_seconds": think, "officers": len(users), "warmup_seconds": warmup,
        "seconds": seconds, "requests": len(lat), "warmup_requests": tally.warmup_requests,
        "throughput_per_s": round(len(lat) / seconds, 2),
        "p50_ms": round(_percentile(lat, 50), 1), "p95_ms": round(_percentile(lat, 95), 1),
        "p99_ms": round(_percentile(lat, 99), 1), "max_ms": round(max(lat, default=0), 1),
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "errors": sum(tally.errors.values()), "error_kinds": tally.errors,
        "page_bytes": tally.page_bytes,
        "server_cpu_seconds": round(marks["cpu1"] - marks["cpu0"], 2),
        "server_cpu_percent_of_one_core": round(100 * (marks["cpu1"] - marks["cpu0"]) / wall, 1),
        "server_peak_rss_mb": round(sampler.peak_total_mb),
        "server_peak_process_rss_mb": round(sampler.peak_process_mb),
        "client_cpu_percent_of_one_core": round(
            100 * (marks["client1"] - marks["client0"]) / wall, 1),
        "machine_busy_percent": round(100 * (marks["busy1"] - marks["busy0"]) / jiffies, 1),
        "machine_steal_percent": round(100 * (marks["steal1"] - marks["steal0"]) / jiffies, 1),
        "load_before": load_before, "load1_peak_during": round(sampler.peak_load1, 2),
        "load_after": _load(), "p95_under_limit": bool(lat) and _percentile(lat, 95)
        < P95_LIMIT_MS and not tally.errors,
    }


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---- the profile, in a fresh process ----------------------------------------------------------


def _profile(ws_root: str, token: str, requests: int) -> dict[str, Any]:
    """The page's parts timed one by one, then ``requests`` requests under cProfile.

    The app is called in this thread (``httpx.ASGITransport``, and FastAPI's thread pool
    replaced by a direct call for this process only), so the profile sees all of its work.
    """
    import cProfile
    import io
    import pstats

    import fastapi.routing

    from risk_model.config import Workspace
    from risk_model.review import lists
    from risk_model.review.app import create_app
    from risk_model.review.auth import read_session
    from risk_model.review.store import log_event

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    import fastapi.dependencies.utils

    fastapi.routing.run_in_threadpool = inline  # type: ignore[attr-defined]
    fastapi.dependencies.utils.run_in_threadpool = inline  # type: ignore[attr-defined]
    ws = Workspace.at(ws_root)
    app = create_app(ws)

    async def get(n: int) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench", cookies={"review_session": token}
                                     ) as client:
            for _ in range(n):
                response = await client.get("/my-list")
                if response.status_code != 200:
                    raise SystemExit(f"the profiled request gave {response.status_code}")

    asyncio.run(get(1))  # templates compiled, pools open
    parts: dict[str, list[float]] = {}

    def timed(name: str, call: Any) -> Any:
        t = time.perf_counter()
        out = call()
        parts.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        return out

    for _ in range(5):
        user = timed("read_session", lambda: read_session(ws, token))
        month = timed("latest_month", lambda: lists.latest_month(ws))
        entries = timed("publication", lambda m=month, u=user: lists.publication(
            ws, m).entries(u.patches))
        timed("actioned", lambda m=month, u=user: lists.actioned(ws, m, patches=u.patches))
        timed("log_event", lambda u=user: log_event(ws, "view_list", username=u.username,
                                                    detail={"benchmark": True}))
        timed("whole_request", lambda: asyncio.run(get(1)))
    medians = {k: round(statistics.median(v), 1) for k, v in parts.items()}
    measured = sum(v for k, v in medians.items() if k != "whole_request")
    medians["rest_rendering_and_framework"] = round(medians["whole_request"] - measured, 1)
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(get(requests))
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    print(text.getvalue(), file=sys.stderr)
    areas = (("templates (compiled Jinja code)", (".html",)), ("markupsafe", ("markupsafe",)),
             ("jinja2 runtime", ("jinja2",)), ("sqlite3", ("sqlite3",)),
             ("psycopg", ("psycopg",)), ("sqlalchemy", ("sqlalchemy",)),
             ("json", ("json",)), ("risk_model", ("risk_model",)),
             ("starlette and fastapi", ("starlette", "fastapi")),
             ("httpx client", ("httpx",)), ("asyncio and anyio", ("asyncio", "anyio")))
    by_area: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _, name), (_, _, tottime, _, _) in raw.items():
        where = f"{filename} {name}"
        area = next((a for a, keys in areas if any(k in where for k in keys)), "other")
        by_area[area] = by_area.get(area, 0.0) + tottime
    return {"parts_median_ms": medians, "rows": len(entries), "profile_requests": requests,
            "own_ms_by_area_per_request": {
                k: round(1000 * v / requests, 1)
                for k, v in sorted(by_area.items(), key=lambda kv: -kv[1])}}


# ---- PostgreSQL -------------------------------------------------------------------------------


def _postgres(maintenance_url: str, name: str, *, create: bool) -> str:
    """Create (or drop) a database ``name`` on the server of ``maintenance_url``; its URL."""
    import sqlalchemy as sa

    url = sa.engine.make_url(maintenance_url)
    eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as con:
            if create:
                con.execute(sa.text(f'CREATE DATABASE "{name}"'))
            else:
                con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        eng.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


# ---- the run ----------------------------------------------------------------------------------


def _child(step: str, params: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", step, json.dumps(params)],
                         stdout=subprocess.PIPE, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"the {step} step failed (exit {out.returncode}); see above")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _print(result: dict[str, Any]) -> None:
    setup, sign = result["setup"], result["sign_in"]
    lines = [f"review app list page: {result['officers']} officers, {result['workers']} "
             f"worker(s), database {result['database']}, month {setup['month']}",
             f"lists: {setup['list_sizes']} (officers' patches {setup['groups']}; unused "
             f"{setup['patches_unused'] or 'none'}); list rows per officer "
             f"{result['list_rows_per_officer']}, rows on the page {result['rows_per_officer']} "
             f"(app {setup['app_source']}, page size {setup['page_size']})",
             f"sign-in: GET form {sign['get_form_ms']} ms, POST {sign['post_ms']} ms, first "
             f"list {sign['first_list_ms']} ms (status {sign['first_list_status']})"]
    for run in result["runs"]:
        lines.append(
            f"think {run['think_seconds']} s: {run['requests']:,} requests in "
            f"{run['seconds']} s ({run['throughput_per_s']}/s), p50 {run['p50_ms']} ms, "
            f"p95 {run['p95_ms']} ms, p99 {run['p99_ms']} ms, max {run['max_ms']} ms, "
            f"errors {run['errors']} {run['error_kinds'] or ''}; page {run['page_bytes']:,} "
            f"bytes; server CPU {run['server_cpu_percent_of_one_core']}% of a core, peak RSS "
            f"{run['server_peak_rss_mb']} MB (largest process "
            f"{run['server_peak_process_rss_mb']} MB); client CPU "
            f"{run['client_cpu_percent_of_one_core']}%; machine busy "
            f"{run['machine_busy_percent']}% (steal {run['machine_steal_percent']}%); load "
            f"{run['load_before']} -> peak {run['load1_peak_during']} -> {run['load_after']}; "
            f"p95 under {P95_LIMIT_MS:.0f} ms: {run['p95_under_limit']}")
    if "profile" in result:
        lines.append(f"profile (median ms of one request's parts): "
                     f"{result['profile']['parts_median_ms']}")
        lines.append(f"own time by area, ms per request: "
                     f"{result['profile']['own_ms_by_area_per_request']}")
    print("\n".join(lines), flush=True)


def main() -> None:
    """Copy the workspace, set it up, serve it, load it, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace-from", type=Path,
                        help="a workspace with a warehouse, scored lists and a champion")
    parser.add_argument("--month", help="YYYY-MM (default: the latest month with lists)")
    parser.add_argument("--officers", type=int, default=50)
    parser.add_argument("--list-size", type=int, default=2000,
                        help="each patch's list capacity (residents)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured, per think value")
    parser.add_argument("--warmup", type=float, default=5.0, help="not counted, per think value")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, nargs="+", default=[0.0],
                        help="mean think time(s) in seconds between an officer's requests; "
                             "one load run per value, on the same server")
    parser.add_argument("--database-url",
                        help="a PostgreSQL server's maintenance database, e.g. "
                             "postgresql+psycopg://postgres@127.0.0.1:5432/postgres: a "
                             "throwaway database is created there and dropped at the end")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N list requests in-process (cProfile)")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, params = args.child[0], json.loads(args.child[1])
        print(json.dumps({"setup": _setup, "profile": _profile}[step](**params), default=str))
        return
    if args.workspace_from is None:
        parser.error("--workspace-from is required")
    if args.officers < 1 or args.list_size < 1 or args.seconds <= 0 or args.workers < 1 \
            or any(t < 0 for t in args.think):
        parser.error("--officers, --list-size, --seconds and --workers must be positive and "
                     "--think at least 0")
    source = args.workspace_from.expanduser().resolve()
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI",
                                                             "DATABASE_URL")}
    database = None
    if args.database_url:
        database = f"bench_review_{secrets.token_hex(4)}"
        env["DATABASE_URL"] = _postgres(args.database_url, database, create=True)
    result: dict[str, Any] = {
        "benchmark": "review", "source": str(source), "officers": args.officers,
        "list_size": args.list_size, "workers": args.workers, "cpus": os.cpu_count(),
        "database": f"PostgreSQL ({database})" if database else "SQLite (review.db)",
        "load_at_start": _load(), "runs": []}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
            ws = Path(tmp) / "ws"
            prepare(ws, source=source, residents=0, months=0, link=True, truth=False)
            _copy_stores(source, ws)
            t = time.perf_counter()
            setup = _child("setup", {"ws_root": str(ws), "month": args.month,
                                     "list_size": args.list_size,
                                     "officers": args.officers}, env)
            _log(f"set up (scored {setup['month']}, {args.officers} officers) in "
                 f"{time.perf_counter() - t:.0f} s")
            users = setup.pop("users")
            result["setup"] = setup
            rows = [u["rows"] for u in users]
            result["rows_per_officer"] = {"min": min(rows), "max": max(rows)}
            result["list_rows_per_officer"] = {"min": min(u["list_rows"] for u in users),
                                               "max": max(u["list_rows"] for u in users)}
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            server = _start_server(ws, port, args.workers, env)
            sampler = _Sampler(server.pid)
            sampler.start()
            try:
                sign = _real_sign_in(base, users[0]["username"])
                users[0]["token"] = sign.pop("token")
                result["sign_in"] = sign
                for think in args.think:
                    _log(f"load: {args.officers} officers, think {think} s, "
                         f"{args.warmup:.0f} s warm-up + {args.seconds:.0f} s")
                    result["runs"].append(_run_load(
                        base, users, think=think, warmup=args.warmup, seconds=args.seconds,
                        server=server, sampler=sampler))
            finally:
                sampler.stop()
                server.terminate()
                server.wait(timeout=30)
            if args.profile:
                result["profile"] = _child("profile", {"ws_root": str(ws),
                                                       "token": users[1 % len(users)]["token"],
                                                       "requests": args.profile}, env)
    finally:
        if database:
            _postgres(args.database_url, database, create=False)
    result["load_at_end"] = _load()
    _print(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, default=str))
    print(f"figures written to {RESULTS}")


if __name__ == "__main__":
    main()
