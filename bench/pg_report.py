"""What bench/pg_bench.py prints: the server log's slow statements, one size, the growth."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \S+ \S+ \[\d+\]")
_ENTRY = re.compile(r"^\S+ \S+ \S+ \[\d+\] (?:\S+ )?LOG:  duration: ([\d.]+) ms  (plan|statement):")


def parse_log(text: str) -> list[dict[str, Any]]:
    """The server log's slow statements (auto_explain plans, and utility statements)."""
    entries: list[dict[str, Any]] = []
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            rest = line[m.end() :].strip()
            entries.append({"ms": float(m.group(1)), "kind": m.group(2), "lines": [rest]})
        elif entries and not entries[-1].get("done") and not _LOG_LINE.match(line):
            entries[-1]["lines"].append(line.rstrip())
        elif entries:
            entries[-1]["done"] = True  # another log line (not ours) ends the entry
    out = []
    for e in entries:
        lines = [ln for ln in e["lines"] if ln.strip()]
        if e["kind"] == "plan":
            # "Query Text: ..." and the query's own lines, then the plan's (tab-indented)
            first = next((i for i, ln in enumerate(lines) if "Query Text:" in ln), 0)
            end = next(
                (i for i in range(first + 1, len(lines)) if "(cost=" in lines[i]),
                len(lines),
            )
            head = " ".join(lines[first:end]).split("Query Text:", 1)[-1]
            plan = [ln.strip("\t").replace("\t", "  ") for ln in lines[end:]]
        else:
            head, plan = " ".join(lines), []
        head = " ".join(head.split())
        if e["kind"] == "statement" and re.match(
            r"(FETCH|CLOSE|DECLARE|COPY|SELECT|INSERT|UPDATE|DELETE)", head
        ):
            continue  # the same statement's auto_explain entry has the plan
        label = re.sub(r"retl_stream_\d+", "retl_stream_N", head)
        label = re.sub(r"/\*.*?\*/ ?", "", label)[:100]
        out.append({"ms": e["ms"], "label": label, "plan": "\n".join(plan)})
    return out


def brief(p: dict[str, Any]) -> str:
    return (
        f"wall {p['wall_s']}s cpu {p['retl_cpu_s']}s rss {p['retl_peak_rss_mb']}MB "
        f"out {p['rows_out_of_pg']:,} sent {p['sent']:,} server cpu {p['server_cpu_s']}s "
        f"load {p['loadavg_before'][0]}"
    )


def reruns(phase: dict[str, Any]) -> str:
    """The workbench statements that ran out of its memory and were rerun in this phase."""
    counts = [
        f"{phase.get(key) or 0} {label}"
        for key, label in (("out_of_core", "out of core"), ("single_threaded", "on one thread"))
    ]
    raised = ", the limit raised to its fallback" if phase.get("memory_raised") else ""
    started = phase.get("started_out_of_core")
    first = f"; {started} started out of core" if started else ""
    return f"workbench reruns: {', '.join(counts)}{raised}{first}"


def render(size: dict[str, Any]) -> str:
    f = size["floor"]
    lines = [
        f"== PostgreSQL warehouse state, {size['rows']:,} rows "
        f"(data generated + loaded in {size['load_s']}s) ==",
        f"floor (server, EXPLAIN ANALYZE): scan {f['scan_s']:.2f}s, scan+key+md5 "
        f"{f['scan_hash_s']:.2f}s, scan+hash+join with the state {f['scan_join_s']:.2f}s",
        f"floor (COPY): key+hash out {f['copy_out_key_hash_s']:.2f}s "
        f"({f['copy_out_key_hash_bytes'] / 1e6:.0f} MB), payload columns out "
        f"{f['copy_out_payload_s']:.2f}s ({f['copy_out_payload_bytes'] / 1e6:.0f} MB), "
        f"acknowledgements in {f['copy_in_acks_s']:.2f}s",
    ]
    header = (
        f"{'phase':<10}{'wall s':>8}{'sync s':>8}{'cpu s':>7}{'RSS MB':>8}{'out of PG':>11}"
        f"{'sent':>10}{'srv cpu':>8}{'floor s':>8}{'ratio':>7}{'load':>6}"
    )
    lines += [header, "-" * len(header)]
    for name, p in size["phases"].items():
        lines.append(
            f"{name:<10}{p['wall_s']:>8.1f}{p['sync_s']:>8.1f}{p['retl_cpu_s']:>7.1f}"
            f"{p['retl_peak_rss_mb'] or 0:>8.0f}{p['rows_out_of_pg']:>11,}{p['sent']:>10,}"
            f"{p['server_cpu_s']:>8.1f}{p['floor_s']:>8.2f}{p['ratio'] or 0:>7.1f}"
            f"{p['loadavg_before'][0]:>6.1f}"
        )
    for name, p in size["phases"].items():
        t, c = p["times"], p["calls"]
        lines.append(
            f"{name}: diff+stage {t.get('diff_and_stage', 0):.1f}s, "
            f"plan {t.get('plan_total', 0):.1f}s (phones {t.get('plan_phones', 0):.1f}s, "
            f"encode {t.get('plan_encode', 0):.1f}s), "
            f"send {t.get('send_total', 0):.1f}s, of which acknowledgements "
            f"{t.get('record_acknowledged', 0):.1f}s in {c.get('record_acknowledged', 0)} "
            f"commits ({p.get('ack_ms_per_batch', 0)} ms each), compact "
            f"{t.get('compact', 0):.1f}s; {reruns(p)}"
        )
    lines.append("retl's streamed queries (the diff), re-run under EXPLAIN (ANALYZE, TIMING OFF):")
    for name, p in size["phases"].items():
        for st in p["streams"]:
            lines.append(f"--- [{name}] stream {st['s']:.2f}s")
            lines += ["    " + ln for ln in st["plan"].splitlines()]
    lines.append("retl's statements over the auto_explain threshold, per phase:")
    for name, p in size["phases"].items():
        for s in p["statements"]:
            lines.append(f"--- [{name}] {s['ms'] / 1000:.2f}s  {s['label']}")
            lines += ["    " + ln for ln in s["plan"].splitlines()[:40]]
    return "\n".join(lines)


def growth(sizes: list[dict[str, Any]]) -> str:
    """Each phase, and each logged statement, from the smallest size to the largest."""
    if len(sizes) < 2:
        return ""
    a, b = sizes[0], sizes[-1]
    n = b["rows"] / a["rows"]
    lines = [f"== growth {a['rows']:,} -> {b['rows']:,} rows (x{n:g}; linear = {n:g}) =="]
    for name, pa_ in a["phases"].items():
        pb = b["phases"][name]
        for key in ("sync_s", "retl_cpu_s", "server_cpu_s", "retl_peak_rss_mb"):
            va, vb = pa_.get(key) or 0, pb.get(key) or 0
            ratio = f"x{vb / va:.2f}" if va else "-"
            lines.append(f"{name:<10}{key:<18}{va:>10}{vb:>10}  {ratio}")
        stmts_a = _by_label(pa_["statements"])
        for i, st in enumerate(pb["streams"]):
            sa = pa_["streams"][i]["s"] if i < len(pa_["streams"]) else 0
            ratio = f"x{st['s'] / sa:.2f}" if sa else "-"
            flag = "  <-- faster than linear" if sa and st["s"] / sa > 1.25 * n else ""
            lines.append(f"  {name:<8}{sa:>9.2f}s{st['s']:>9.2f}s  {ratio}{flag}  stream {i + 1}")
        for label, sb in _by_label(pb["statements"]).items():
            sa = stmts_a.get(label)
            ratio = f"x{sb / sa:.2f}" if sa else "(under threshold at the small size)"
            flag = "  <-- faster than linear" if sa and sb / sa > 1.25 * n else ""
            lines.append(f"  {name:<8}{sa or 0:>9.2f}s{sb:>9.2f}s  {ratio}{flag}  {label[:70]}")
    return "\n".join(lines)


def _by_label(statements: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for s in statements:
        out[s["label"]] += s["ms"] / 1000
    return out


SPREAD_KEYS = ("sync_s", "server_cpu_s", "retl_cpu_s", "retl_peak_rss_mb")


def spread(runs: list[list[dict[str, Any]]], keys: Sequence[str] = SPREAD_KEYS) -> str:
    """``--repeat``: each phase's figures over the runs, per size (median, min-max), and the
    growth of the medians from the smallest size to the largest, with the range the runs
    allow (the largest size's fastest run over the smallest's slowest, and the reverse).
    One run per size has a spread as large as the growth being judged (docs/performance.md,
    seventh round): a phase grows faster than linearly only if even the lower end of that
    range is above the rows' growth."""
    if not runs or not runs[0]:
        return ""
    sizes = [s["rows"] for s in runs[0]]
    lines = [f"== {len(runs)} runs per size: median (min-max) =="]
    values: dict[tuple[int, str, str], list[float]] = defaultdict(list)
    for run in runs:
        for size in run:
            for name, ph in size["phases"].items():
                for key in keys:
                    if ph.get(key) is not None:
                        values[(size["rows"], name, key)].append(float(ph[key]))
    names = list(runs[0][0]["phases"])
    width = max(10, *(len(n) + 1 for n in names))
    for name in names:
        for key in keys:
            cells = []
            for n in sizes:
                v = sorted(values.get((n, name, key), []))
                if v:
                    cells.append(f"{n:,}: {_median(v):.2f} ({v[0]:.2f}-{v[-1]:.2f})")
            line = f"{name:<{width}}{key:<18}" + "   ".join(cells)
            a = sorted(values.get((sizes[0], name, key), []))
            b = sorted(values.get((sizes[-1], name, key), []))
            if len(sizes) > 1 and a and b and a[0] > 0:
                line += (
                    f"   growth x{_median(b) / _median(a):.2f} "
                    f"(x{b[0] / a[-1]:.2f}-x{b[-1] / a[0]:.2f}; linear x{sizes[-1] / sizes[0]:g})"
                )
            lines.append(line)
    return "\n".join(lines)


def _median(v: list[float]) -> float:
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
