"""retl beside the tools a user would pick instead (issue #18): the same first sync, measured now.

``python bench/peers.py PARQUET [--runs 3] [--peer-python /tmp/peer/bin/python]``

Every tool sends the same Parquet table (``bench/data.py``'s orders, e.g.
``/tmp/b200/rows_200000/orders.parquet``) as TikTok Events API 2.0 requests to one loopback sink
(``bench/sink.py fast``, started here unless ``--url`` names one): ``POST
/open_api/v1.3/event/track/`` with ``{"event_source": "web", "event_source_id": ..., "data":
[...]}``, 1,000 events a request, 5 requests in flight (retl's ``thread_count: 5``). Each run is a
fresh process timed by ``/usr/bin/time`` (wall, peak RSS), from an empty state (each tool's
state or pipeline directory removed first), and the sink's request and body-byte counters are
read before and after it: a peer has delivered every event only if the sink received exactly
the bytes its requests should hold (the events' JSON, the commas between them and one envelope a
request: computed once by ``expect`` below). The tools alternate, round by round, in a rotating
order, so each sees the same machine; a round waits (up to two minutes) while the 1-minute load
is above ``--max-load``.

The peers are handed payloads pre-built in SQL, as in #18: ``FLOOR_SQL`` (``bench/floor.py``:
DuckDB builds one TikTok-shaped JSON object per event, e-mail, phone and external id hashed with
``sha256``, phones normalised with string functions, not libphonenumber) is their model,
run inside their own process (so its ~1 s of DuckDB is in their time, as retl's encode is in
retl's); the peer only fetches one ``payload`` column, batches and POSTs. retl runs its own model
(``bench_events.sql``) and does its own encoding, phone parsing, state and diff.

Tools (``--tools``, default all four):

* ``retl``: ``retl sync --yes --format json`` in a copy of ``--retl-project`` (default
  ``PARQUET``'s ``project/``, as ``bench/run.py`` leaves it) under the work directory, its
  ``api_base_url`` pointed at the sink, ``.retl/`` removed first, ``RETL_ALLOWED_PATHS`` the
  Parquet file's folder.
* ``drt`` (drt-core 1.2.1): ``drt run --output json`` in a project written here:
  ``drt_project.yml``, a DuckDB ``:memory:`` profile in ``$HOME/.drt/profiles.yml`` (``HOME`` is
  the work directory), ``syncs/models/peer_events.sql`` (``FLOOR_SQL``) and
  ``syncs/peer_events.yml``: the generic ``rest_api`` destination with ``body_mode: batch``,
  ``max_records_per_request: 1000``, a ``batch_template`` that joins the payloads into the
  envelope, ``sync.batch_size: 1000``, ``mode: full``, ``on_error: fail`` and
  ``rate_limit.requests_per_second: 0`` (no pacing; ``--drt-rps`` sets it: drt's default is 10
  requests a second, which alone takes 20 s for 202 requests). drt sends one sync's batches one
  after the other (``engine/sync.py``: one ``destination.load()`` per batch, one request at a
  time in ``destinations/rest_api.py``); its only concurrency is between syncs (``drt run
  --threads``).
* ``drt-x5``: the same, split into five syncs over ``order_id % 5`` and run with ``drt run
  --threads 5``: the way drt allows 5 requests in flight.
* ``dlt`` (1.31.0): ``PEER_PYTHON bench/peers.py dlt-child ...``: a pipeline whose resource
  yields the model's Arrow batches from DuckDB (``to_arrow_reader``), and a destination made with
  ``@dlt.destination(batch_size=1000, loader_file_format="parquet", max_parallel_load_jobs=5)``
  that joins a batch's payloads into the envelope and POSTs it with dlt's own ``requests`` helper
  (``dlt.sources.helpers.requests``, which retries). dlt runs one load job per file on its load
  workers, so the extract step is told to write five files
  (``DATA_WRITER__FILE_MAX_ITEMS``, extract and normalize alike: the rows over 5, rounded up
  to a whole batch; ``EXTRACT__DATA_WRITER__...`` left one file); its
  pipeline directory is under the work directory and removed first; telemetry is off
  (``RUNTIME__DLTHUB_TELEMETRY=false``: this machine has no internet).

Reproduce (the peers in their own venv, with the DuckDB and Arrow retl uses)::

    python3.11 -m venv /tmp/peer
    /tmp/peer/bin/pip install drt-core==1.2.1 dlt==1.31.0 duckdb==1.5.5 pyarrow==26.0.1 httpx
    python bench/run.py --rows 200000 --workdir /tmp/b200 --keep --no-sandbox-check
    python bench/peers.py /tmp/b200/rows_200000/orders.parquet --runs 3 --workdir /tmp/peerbench

Output: one line per run (tool, wall s, peak RSS MB, requests, body MB, events, all delivered,
load), then each tool's median and the ratio of each peer's median wall time to retl's; the
whole as JSON in ``--out`` (default ``WORKDIR/peers.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRACK_PATH = "/open_api/v1.3/event/track/"
EVENT_SOURCE_ID = "CSANDBOXDEMOPIXEL001"
BATCH = 1000
THREADS = 5
TOOLS = ("retl", "drt", "drt-x5", "dlt")


def envelope_head(source_id: str = EVENT_SOURCE_ID) -> str:
    return f'{{"event_source":"web","event_source_id":"{source_id}","data":['


ENVELOPE_TAIL = "]}"


def model_sql(parquet: Path, part: tuple[int, int] | None = None) -> str:
    """FLOOR_SQL on ``parquet``, only its ``payload`` column; ``part=(k, n)``: ``order_id % n =
    k`` only, filtered before the JSON is built."""
    sys.path.insert(0, str(HERE))
    from floor import FLOOR_SQL  # bench/ is not a package; floor imports only the stdlib

    sql = FLOOR_SQL.format(parquet=parquet)
    if part is not None:
        source = f"FROM read_parquet('{parquet}')"
        assert sql.count(source) == 1
        sql = sql.replace(source, f"{source} WHERE order_id % {part[1]} = {part[0]}")
    return f"SELECT CAST(payload AS VARCHAR) AS payload FROM ({sql.strip()}) AS floor_events"


# --- children run with the peer venv's python ------------------------------------------------
def expect_child(parquet: Path, out: Path) -> None:
    """Rows and payload bytes of the model, to check what the sink receives."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows, nbytes = con.execute(
        f"SELECT count(*), sum(strlen(payload)) FROM ({model_sql(parquet)})"
    ).fetchone()
    out.write_text(json.dumps({"rows": rows, "payload_bytes": int(nbytes)}), encoding="utf-8")


def dlt_child(parquet: Path, url: str, pipelines_dir: Path, batch: int, threads: int) -> None:
    """A dlt pipeline as a user would write one: resource from DuckDB, a custom destination."""
    import threading

    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    (rows,) = con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()
    # One load job per file, so as many files as requests should be in flight.
    per_file = math.ceil(rows / threads / batch) * batch
    os.environ["DATA_WRITER__FILE_MAX_ITEMS"] = str(per_file)

    import dlt
    from dlt.sources.helpers import requests

    head, tail = envelope_head().encode(), ENVELOPE_TAIL.encode()
    headers = {"Content-Type": "application/json", "Access-Token": "sandbox-token"}
    lock = threading.Lock()
    sent = {"requests": 0, "events": 0}

    @dlt.resource(name="events", write_disposition="append")
    def events() -> Any:
        reader = con.execute(model_sql(parquet)).to_arrow_reader(batch)
        yield from reader

    @dlt.destination(
        name="tiktok_events",
        batch_size=batch,
        loader_file_format="parquet",
        max_parallel_load_jobs=threads,
    )
    def tiktok_events(items: Any, table: Any) -> None:
        payloads = items.column("payload").to_pylist()
        body = head + ",".join(payloads).encode() + tail
        response = requests.post(url + TRACK_PATH, data=body, headers=headers, timeout=60)
        response.raise_for_status()
        if not response.content.startswith(b'{"code":0'):
            raise RuntimeError(response.text[:200])
        with lock:
            sent["requests"] += 1
            sent["events"] += len(payloads)

    pipeline = dlt.pipeline(
        pipeline_name="peer_events",
        destination=tiktok_events,
        pipelines_dir=str(pipelines_dir),
        dataset_name="bench",
    )
    info = pipeline.run(events())
    info.raise_on_failed_jobs()
    done = info.load_packages[0].jobs["completed_jobs"]
    jobs = sum(1 for j in done if j.job_file_info.table_name == "events")
    print(json.dumps({"rows": rows, "rows_per_file": per_file, "load_jobs": jobs, **sent}))


# --- the parent: stdlib only, so its own RSS stays small (wait4 and time count a child from the
# parent's peak at fork) ------------------------------------------------------------------------
class _ExistingSink:
    """A sink already running at ``url`` (``--url``): its counters, nothing to stop."""

    def __init__(self, url: str) -> None:
        self.base_url = url.rstrip("/")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url + "/_bench/stats", timeout=10) as r:
            return dict(json.loads(r.read()))

    def close(self) -> None:
        pass


def start_sink(url: str | None, log: Path) -> Any:
    """``--url``'s sink, or ``bench/sink.py fast`` started as ``bench/run.py`` starts it."""
    if url:
        return _ExistingSink(url)
    sys.path.insert(0, str(HERE))
    from run import Sink  # bench/ is not a package; imported here: the dlt child lacks retl

    return Sink("fast", log)


def timed(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``args`` under ``/usr/bin/time``: wall s, peak RSS MB, its stdout."""
    tfile = log.with_suffix(".time")
    cmd = ["/usr/bin/time", "-o", str(tfile), "-f", "%e %M", *args]
    with log.open("ab") as err:
        err.write(f"\n$ (cd {cwd} && {' '.join(args)})\n".encode())
        err.flush()
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, check=False, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=err
        )
        wall = time.perf_counter() - start
    last = tfile.read_text().strip().splitlines()[-1].split()
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}:\n{tail}")
    return {
        "wall_s": float(last[0]),
        "wall_perf_s": round(wall, 3),
        "peak_rss_mb": round(int(last[1]) / 1024, 1),
        "stdout": proc.stdout.decode(errors="replace"),
    }


def last_json(text: str) -> dict[str, Any]:
    """The JSON document a command printed last (drt and retl print one; dlt_child one line)."""
    start = text.find("{")
    if start < 0:
        return {}
    try:
        return dict(json.loads(text[start:]))
    except json.JSONDecodeError:
        return dict(json.loads(text.strip().splitlines()[-1]))


class Tools:
    """Writes each tool's project once; ``run(tool)`` runs it once from an empty state."""

    def __init__(self, args: argparse.Namespace, sink: Any) -> None:
        self.args, self.sink = args, sink
        self.work: Path = args.workdir
        self.peer_bin = Path(args.peer_python).parent
        self.url = sink.base_url
        self.log = self.work / "children.log"
        self.peer_env = {
            "HOME": str(self.work / "home"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "DO_NOT_TRACK": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.retl_dir = self.work / "retl_project"
        self.drt_dirs = {"drt": self.work / "drt_project", "drt-x5": self.work / "drt_x5_project"}
        names = args.tools.split(",")
        if "retl" in names:
            self.write_retl()
        if "drt" in names or "drt-x5" in names:
            self.write_drt()

    def write_retl(self) -> None:
        shutil.rmtree(self.retl_dir, ignore_errors=True)
        src = self.args.retl_project or self.args.parquet.parent / "project"
        shutil.copytree(src, self.retl_dir, ignore=shutil.ignore_patterns(".retl"))
        dest = self.retl_dir / "destinations.yml"
        text, n = re.subn(r'api_base_url: "[^"]*"', f'api_base_url: "{self.url}"', dest.read_text())
        assert n == 1, "destinations.yml needs one api_base_url line"
        dest.write_text(text)

    def write_drt(self) -> None:
        home = self.work / "home" / ".drt"
        home.mkdir(parents=True, exist_ok=True)
        (home / "profiles.yml").write_text('bench:\n  type: duckdb\n  database: ":memory:"\n')
        template = json.dumps(
            envelope_head() + "{{ rows | map(attribute='payload') | join(',') }}" + ENVELOPE_TAIL
        )
        for tool, root in self.drt_dirs.items():
            shutil.rmtree(root, ignore_errors=True)
            (root / "syncs" / "models").mkdir(parents=True)
            (root / "drt_project.yml").write_text(
                f'name: peer_bench\nversion: "0.1"\nprofile: bench\n'
                f"# {tool}: bench/peers.py writes this project\n"
            )
            parts = [None] if tool == "drt" else [(k, THREADS) for k in range(THREADS)]
            for part in parts:
                name = "peer_events" if part is None else f"peer_events_{part[0]}"
                sql = model_sql(self.args.parquet.resolve(), part)
                (root / "syncs" / "models" / f"{name}.sql").write_text(sql + "\n")
                (root / "syncs" / f"{name}.yml").write_text(
                    f"name: {name}\n"
                    f"model: ref('{name}')\n"
                    "destination:\n"
                    "  type: rest_api\n"
                    f'  url: "{self.url}{TRACK_PATH}"\n'
                    "  method: POST\n"
                    "  headers:\n"
                    '    Content-Type: "application/json"\n'
                    '    Access-Token: "sandbox-token"\n'
                    "  body_mode: batch\n"
                    f"  max_records_per_request: {BATCH}\n"
                    f"  batch_template: {template}\n"
                    "sync:\n"
                    "  mode: full\n"
                    f"  batch_size: {BATCH}\n"
                    "  on_error: fail\n"
                    "  rate_limit:\n"
                    f"    requests_per_second: {self.args.drt_rps:g}\n"
                )

    def run(self, tool: str) -> dict[str, Any]:
        if tool == "retl":
            shutil.rmtree(self.retl_dir / ".retl", ignore_errors=True)
            env = {"RETL_ALLOWED_PATHS": str(self.args.parquet.resolve().parent)}
            r = timed(
                [self.args.retl, "sync", "--yes", "--format", "json"], self.retl_dir, env, self.log
            )
            report = last_json(r["stdout"])
            events = sum(d["events"]["sent"] for d in report.get("destinations", []))
        elif tool in self.drt_dirs:
            root = self.drt_dirs[tool]
            shutil.rmtree(root / ".drt", ignore_errors=True)
            args = [str(self.peer_bin / "drt"), "run", "--output", "json"]
            if tool == "drt-x5":
                args += ["--threads", str(THREADS)]
            r = timed(args, root, self.peer_env, self.log)
            report = last_json(r["stdout"])
            events = sum(int(s.get("rows_synced", s.get("success", 0))) for s in syncs(report))
        else:
            pipelines = self.work / "dlt_pipelines"
            shutil.rmtree(pipelines, ignore_errors=True)
            args = [self.args.peer_python, str(Path(__file__).resolve()), "dlt-child"]
            args += [str(self.args.parquet.resolve()), self.url, str(pipelines)]
            r = timed(args, self.work, self.peer_env, self.log)
            report = last_json(r["stdout"])
            events = int(report.get("events", 0))
        r.pop("stdout")
        r["events_reported"] = events
        r["report"] = report
        return r


def syncs(report: dict[str, Any]) -> list[dict[str, Any]]:
    found = report.get("syncs") or report.get("results") or []
    return [s for s in found if isinstance(s, dict)]


def wait_for_load(max_load: float) -> float:
    for _ in range(8):
        load = os.getloadavg()[0]
        if load <= max_load:
            return load
        print(f"  load {load:.2f} > {max_load}: waiting 15 s", flush=True)
        time.sleep(15)
    return os.getloadavg()[0]


def one_run(tools: Tools, tool: str, expect: dict[str, Any], rnd: int) -> dict[str, Any]:
    before = tools.sink.stats()
    load = os.getloadavg()[0]
    r = tools.run(tool)
    after = tools.sink.stats()
    requests = after["requests"] - before["requests"]
    nbytes = after["body_bytes"] - before["body_bytes"]
    row: dict[str, Any] = {"tool": tool, "round": rnd, "loadavg_1m_before": round(load, 2), **r}
    row.update(requests=requests, body_bytes=nbytes, sink_cpu_s=after["cpu_s"] - before["cpu_s"])
    if tool == "retl":
        row["delivered_all"] = r["events_reported"] == expect["rows"]
    else:
        # Every event's JSON, a comma between two events of a request, one envelope a request.
        wrap = len(envelope_head()) + len(ENVELOPE_TAIL)
        want = expect["payload_bytes"] + expect["rows"] - requests + requests * wrap
        row["expected_body_bytes"] = want
        row["delivered_all"] = nbytes == want and r["events_reported"] == expect["rows"]
    return row


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tool in dict.fromkeys(r["tool"] for r in runs):
        mine = [r for r in runs if r["tool"] == tool]
        out[tool] = {
            "runs": len(mine),
            "wall_s_median": statistics.median(r["wall_s"] for r in mine),
            "wall_s_range": [min(r["wall_s"] for r in mine), max(r["wall_s"] for r in mine)],
            "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in mine),
            "all_delivered": all(r["delivered_all"] for r in mine),
        }
    if "retl" in out:
        base = out["retl"]["wall_s_median"]
        for s in out.values():
            s["wall_ratio_to_retl"] = round(s["wall_s_median"] / base, 2)
    return out


def print_row(r: dict[str, Any]) -> None:
    print(
        f"{r['tool']:<7} {r['round']:>5} {r['wall_s']:>7.2f} {r['peak_rss_mb']:>7.1f} "
        f"{r['requests']:>8} {r['body_bytes'] / 1e6:>8.1f} {r['events_reported']:>8} "
        f"{'yes' if r['delivered_all'] else 'NO':>5} {r['loadavg_1m_before']:>5.2f}",
        flush=True,
    )


def main_bench(args: argparse.Namespace) -> None:
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.out or args.workdir / "peers.json"
    expect_file = args.workdir / "expect.json"
    me = str(Path(__file__).resolve())
    expect_args = [args.peer_python, me, "expect", str(args.parquet.resolve()), str(expect_file)]
    subprocess.run(expect_args, check=True)
    expect = json.loads(expect_file.read_text())
    sink = start_sink(args.url, args.workdir / "sink.log")
    runs: list[dict[str, Any]] = []
    try:
        tools = Tools(args, sink)
        names = [t.strip() for t in args.tools.split(",") if t.strip()]
        print(f"sink {sink.base_url}; {expect['rows']} events; work {args.workdir}")
        print("tool    round  wall s  RSS MB requests  body MB   events   all  load")
        for rnd in range(1, args.runs + 1):
            wait_for_load(args.max_load)
            k = (rnd - 1) % len(names)
            for tool in names[k:] + names[:k]:  # rotate who goes first
                runs.append(one_run(tools, tool, expect, rnd))
                print_row(runs[-1])
    finally:
        sink.close()
    result = {
        "parquet": str(args.parquet),
        "expect": expect,
        "batch": BATCH,
        "threads": THREADS,
        "peer_python": args.peer_python,
        "runs": runs,
        "summary": summary(runs),
    }
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print("\ntool     median wall s  range          median RSS MB  x retl  all delivered")
    for tool, s in result["summary"].items():
        lo, hi = s["wall_s_range"]
        print(
            f"{tool:<8} {s['wall_s_median']:>13.2f}  {lo:>5.2f}-{hi:<7.2f} "
            f"{s['peak_rss_mb_median']:>14.1f} {s.get('wall_ratio_to_retl', 0):>7.2f}  "
            f"{'yes' if s['all_delivered'] else 'NO'}"
        )
    print(f"\n{out}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["expect"]:
        expect_child(Path(argv[1]), Path(argv[2]))
        return
    if argv[:1] == ["dlt-child"]:
        dlt_child(Path(argv[1]), argv[2], Path(argv[3]), BATCH, THREADS)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--peer-python", default="/tmp/peer/bin/python")
    parser.add_argument("--retl", default=str(Path(sys.executable).parent / "retl"))
    parser.add_argument("--retl-project", type=Path, default=None)
    parser.add_argument("--url", default=None, help="an existing sink instead of starting one")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/peerbench"))
    parser.add_argument("--max-load", type=float, default=1.5)
    parser.add_argument(
        "--drt-rps", type=float, default=0, help="drt's rate_limit (0: none; its default: 10)"
    )
    parser.add_argument("--out", type=Path, default=None)
    main_bench(parser.parse_args(argv))


if __name__ == "__main__":
    main()
