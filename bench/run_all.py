"""`make bench`: run every benchmark in bench/, then judge the speed targets from their figures.

Each script prints JSON lines {"name", "value", "unit", "scale", ...}; this runner passes them
through as they come, then prints every figure, the targets table (each target's figure, its
floor from the same run, the ratio where the target is one, and whether it is met, all computed
from the JSON figures) and the run's drift (load average before and after each script, the
floors, wall times). The same report is written to var/bench/last-run.md (to paste into
bench/README.md) and var/bench/last-run.json.

Each script runs at the scale its target names (SCRIPT_ARGS), without changing its defaults for
someone running it alone. A script that fails is reported and the others still run. The exit
status is non-zero when a script failed or a target is not met or was not measured: a run that
did not show every target is not a run that met them.

    .venv/bin/python bench/run_all.py [--only portal,certificates] [--skip billing]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# The scripts that measure the speed targets run first, each at the scale its target names;
# the others follow at their own defaults.
SCRIPT_ARGS: dict[str, list[str]] = {
    "portal": [],
    "residents_seed": ["--scale", "1000000"],
    "certificates": [],
    "gis": ["--scale", "1000000"],
    "billing": ["--curve", "100000,300000,1000000"],
}
MILLION = 1_000_000
CURVE = (100_000, 300_000, MILLION)
# A batch is linear when its time per 100k, scaled by the raw COPY floor of its own run, stays
# within this share of the curve's mean.
LINEAR_TOLERANCE = 0.20
MET, NOT_MET, NOT_MEASURED = "met", "NOT met", "NOT measured"
TITLE = "Issue 17's targets"


# --- the figures a run printed ---------------------------------------------------------------


def scale_number(scale) -> int | None:
    """The count a figure was measured at: an int, or the leading number of a text scale
    ("1000000 residents, 200 requests"); None for scales that are not a count ("c16 …")."""
    if isinstance(scale, bool):
        return None
    if isinstance(scale, int | float):
        return int(scale)
    head = str(scale).split(" ", 1)[0].replace(",", "")
    return int(head) if head.isdigit() else None


class Figures:
    """The JSON figures of a run, looked up by name and, where a name repeats, by scale."""

    def __init__(self, records: Iterable[dict]) -> None:
        self.records = list(records)

    def get(self, name: str, scale: int | None = None) -> dict | None:
        found = None
        for record in self.records:
            if record.get("name") != name:
                continue
            if scale is not None and scale_number(record.get("scale")) != scale:
                continue
            found = record  # the last one printed wins, as a script's final word
        return found

    def value(self, name: str, scale: int | None = None) -> float | None:
        record = self.get(name, scale)
        return None if record is None else float(record["value"])


@dataclass
class Row:
    target: str
    figure: str
    floor: str
    ratio: str
    status: str
    note: str = ""
    # The figure names the row reads (checked against the scripts by a test).
    reads: list[str] = field(default_factory=list)


def _num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _combine(parts: list[str]) -> str:
    """A target of several parts: not met if a measured part fails, else not measured if a part
    is missing, else met."""
    if NOT_MET in parts:
        return NOT_MET
    if NOT_MEASURED in parts or not parts:
        return NOT_MEASURED
    return MET


def _page_row(figs: Figures, page: str, label: str, ratio_target: float, p95_ms=None) -> Row:
    bare_name = "portal.bare_ok_view.throughput"
    name, p95_name = f"portal.{page}.throughput", f"portal.{page}.p95"
    reads = [bare_name, name] + ([p95_name] if p95_ms else [])
    bare, rate, p95 = figs.value(bare_name), figs.value(name), figs.value(p95_name)
    target = f"{label} ≥ {ratio_target} × bare view" + (f", p95 < {p95_ms:g} ms" if p95_ms else "")
    if bare is None or rate is None or (p95_ms and p95 is None):
        missing = [n for n in reads if figs.value(n) is None]
        return Row(target, "—", "—", "—", NOT_MEASURED, "missing: " + ", ".join(missing), reads)
    ratio = rate / bare
    parts = [MET if ratio >= ratio_target else NOT_MET]
    figure = f"{_num(rate, 1)} req/s, p95 {_num(p95, 1)} ms"
    if p95_ms:
        parts.append(MET if p95 < p95_ms else NOT_MET)
    return Row(
        target,
        figure,
        f"bare view {_num(bare, 1)} req/s",
        f"{ratio:.3f}",
        _combine(parts),
        reads=reads,
    )


def _worker_rss_row(figs: Figures) -> Row:
    name = "portal.web_worker.rss_max"
    target = "web worker RSS after the load < 300 MB"
    record = figs.get(name)
    if record is None:
        return Row(target, "—", "—", "—", NOT_MEASURED, f"missing: {name}", [name])
    value = float(record["value"])
    return Row(
        target,
        f"{_num(value)} MB",
        "—",
        "—",
        MET if value < 300 else NOT_MET,
        f"workers {record.get('workers', '')} ({record.get('scale', '')})",
        [name],
    )


def _certificates_row(figs: Figures) -> Row:
    rate_name = "certificates.rendered_per_second_one_worker"
    bare_name = "certificates.bare_weasyprint_minimal_japanese_per_second"
    cpu_name = "certificates.cpu_ratio_to_bare_page"
    render_name = "certificates.render_only_cpu_ratio_to_bare_page"
    target = "certificates ≥ 0.5 × bare WeasyPrint page, one worker"
    rate, bare = figs.value(rate_name), figs.value(bare_name)
    reads = [rate_name, bare_name, cpu_name, render_name]
    if rate is None or bare is None:
        return Row(
            target, "—", "—", "—", NOT_MEASURED, f"missing: {rate_name} or {bare_name}", reads
        )
    ratio = rate / bare
    cpu, render_only = figs.value(cpu_name), figs.value(render_name)
    notes = [] if cpu is None else [f"in CPU time: {cpu:.3f}"]
    if render_only is not None:
        # The render alone bounds the whole task's ratio from above.
        notes.append(f"WeasyPrint's render alone: {render_only:.3f}")
    note = "; ".join(notes)
    return Row(
        target,
        f"{_num(rate, 2)} certificates/s",
        f"bare page {_num(bare, 1)} /s",
        f"{ratio:.3f}",
        MET if ratio >= 0.5 else NOT_MET,
        note,
        reads,
    )


def _seconds(record: dict) -> float:
    """A batch figure's own seconds (printed beside its rate), else derived from the rate."""
    if "seconds" in record:
        return float(record["seconds"])
    return scale_number(record["scale"]) / float(record["value"])


def linear_curve(figs: Figures, per_100k_name: str, floor_name: str) -> tuple[str, str, list]:
    """(status, text, scaled values) of a batch's time per 100k over the curve, each scaled by
    the raw COPY floor of its own run against the 1M run's floor, so a slower spell of a shared
    machine during one point does not read as a run that grows faster than its input."""
    reference = figs.value(floor_name, MILLION)
    raw, scaled = [], []
    for scale in CURVE:
        per_100k, floor = figs.value(per_100k_name, scale), figs.value(floor_name, scale)
        if per_100k is None or floor is None or reference is None:
            return NOT_MEASURED, f"curve point {scale:,} missing", []
        raw.append(per_100k)
        scaled.append(per_100k * floor / reference)
    mean = statistics.fmean(scaled)
    spread = max(abs(value / mean - 1) for value in scaled)
    status = MET if spread <= LINEAR_TOLERANCE else NOT_MET
    text = (
        "s per 100k at 100k/300k/1M "
        + " / ".join(_num(v, 1) for v in raw)
        + ", scaled by the floor "
        + " / ".join(_num(v, 1) for v in scaled)
        + f" (±{spread * 100:.0f} %, limit ±{LINEAR_TOLERANCE * 100:.0f} %)"
    )
    return status, text, scaled


def _batch_row(figs: Figures, *, key: str, label: str, limit_s: float) -> Row:
    if key == "billing":
        name, floor_name = (
            "billing.run_installments_per_second",
            "billing.raw_copy_installments_per_second",
        )
    else:
        name = "billing.konbini_import_records_per_second"
        floor_name = "billing.raw_copy_konbini_records_per_second"
    per_100k_name = f"billing.{key}_seconds_per_100k"
    reads = [name, floor_name, per_100k_name]
    target = f"{label}, 1,000,000 < {limit_s:g} s and linear 100k → 1M"
    record, floor = figs.get(name, MILLION), figs.value(floor_name, MILLION)
    linear_status, linear_text, _ = linear_curve(figs, per_100k_name, floor_name)
    if record is None or floor is None:
        return Row(
            target,
            "—",
            "—",
            "—",
            NOT_MEASURED,
            f"missing at 1M: {name} or {floor_name}; {linear_text}",
            reads,
        )
    seconds = _seconds(record)
    return Row(
        target,
        f"{_num(seconds, 1)} s at 1M ({_num(float(record['value']))} /s)",
        f"raw COPY {_num(floor)} rows/s",
        "—",
        _combine([MET if seconds < limit_s else NOT_MET, linear_status]),
        linear_text,
        reads,
    )


def _batch_memory_row(figs: Figures) -> Row:
    target = "batch worker peak RSS < 1 GiB at 1M (billing and konbini)"
    names = ("billing.run_installments_per_second", "billing.konbini_import_records_per_second")
    parts, figures, notes = [], [], []
    for label, name in zip(("billing", "konbini"), names, strict=True):
        record = figs.get(name, MILLION)
        if record is None or "worker_peak_rss_mb" not in record:
            parts.append(NOT_MEASURED)
            figures.append(f"{label} —")
            continue
        worker = float(record["worker_peak_rss_mb"])
        parts.append(MET if worker < 1024 else NOT_MET)
        figures.append(f"{label} {_num(worker)} MB")
        notes.append(f"{label} backend {record.get('backend_peak_rss_mb', '?')} MB")
    return Row(target, ", ".join(figures), "—", "—", _combine(parts), "; ".join(notes), list(names))


# The tiles bench/gis.py makes and caches: the dense synthetic layer and the real-density one.
TILES = [(layer, z) for layer in ("", "_real") for z in (12, 14, 16, 17, 18)]


def tile_figure_names() -> list[str]:
    return [f"gis_tile{layer}_z{z}_{kind}_p95" for layer, z in TILES for kind in ("made", "cached")]


def _tiles_row(figs: Figures) -> Row:
    target = "every tile p95 < 50 ms at 1,000,000 parcels, made and cached"
    floor_name = "gis_tile_floor_empty_p95"
    names = tile_figure_names()
    values = {name: figs.value(name, MILLION) for name in names}
    missing = [name for name, value in values.items() if value is None]
    slow = sorted(
        ((value, name) for name, value in values.items() if value is not None and value >= 50),
        reverse=True,
    )
    floor = figs.value(floor_name, MILLION)
    measured = [(value, name) for name, value in values.items() if value is not None]
    figure = "—"
    if measured:
        worst, worst_name = max(measured)
        figure = f"worst {worst_name.removeprefix('gis_tile')} {_num(worst, 1)} ms"
    notes = []
    if slow:
        notes.append(
            f"{len(slow)} of {len(names)} ≥ 50 ms: "
            + ", ".join(n.removeprefix("gis_tile") for _, n in slow)
        )
    if missing and len(missing) == len(names):
        notes.append(f"no tile figure at 1M (the {len(names)} p95 figures of bench/gis.py)")
    elif missing:
        notes.append("missing at 1M: " + ", ".join(missing))
    status = NOT_MET if slow else (NOT_MEASURED if missing else MET)
    return Row(
        target,
        figure,
        "—" if floor is None else f"empty tile p95 {_num(floor, 1)} ms",
        "—",
        status,
        "; ".join(notes),
        names + [floor_name],
    )


def _residents_row(figs: Figures) -> Row:
    target = "resident figures at 1,000,000 residents printed (seed, search p95, 360 p95)"
    wanted = {
        "seed": ("residents_seed_seconds", "s"),
        "search p95": ("residents_search_p95", "ms"),
        "360 p95": ("residents_360_p95", "ms"),
    }
    floors = {
        "PostgreSQL alone": ("residents_seed_floor_plain_insert_seconds", "s"),
        "bare view p95": ("residents_floor_bare_view_p95", "ms"),
    }
    shown, missing = [], []
    for label, (name, unit) in wanted.items():
        value = figs.value(name, MILLION)
        if value is None:
            missing.append(name)
        else:
            shown.append(f"{label} {_num(value, 1)} {unit}")
    floor_text = [
        f"{label} {_num(value, 1)} {unit}"
        for label, (name, unit) in floors.items()
        if (value := figs.value(name, MILLION)) is not None
    ]
    return Row(
        target,
        ", ".join(shown) or "—",
        ", ".join(floor_text) or "—",
        "—",
        NOT_MEASURED if missing else MET,
        ("missing at 1M: " + ", ".join(missing)) if missing else "",
        [name for name, _ in wanted.values()] + [name for name, _ in floors.values()],
    )


TARGETS: list[Callable[[Figures], Row]] = [
    lambda f: _page_row(f, "anonymous_home", "anonymous home `/`", 0.5),
    lambda f: _page_row(f, "resident_dashboard", "`/my/`", 0.15, p95_ms=150),
    lambda f: _page_row(f, "procedure_search", "procedure search", 0.3),
    _worker_rss_row,
    _certificates_row,
    lambda f: _batch_row(f, key="konbini", label="konbini import + allocation", limit_s=60),
    lambda f: _batch_row(f, key="billing", label="billing run", limit_s=20),
    _batch_memory_row,
    _tiles_row,
    _residents_row,
]


def target_rows(records: Iterable[dict]) -> list[Row]:
    figs = Figures(records)
    return [target(figs) for target in TARGETS]


def floors(records: Iterable[dict]) -> list[tuple[str, str]]:
    """The floors of the run, which depend on the machine and not on the code."""
    figs = Figures(records)
    rows = []
    for label, name, unit, digits in (
        ("bare view (gunicorn, wrk c16)", "portal.bare_ok_view.throughput", "req/s", 1),
        (
            "bare WeasyPrint page",
            "certificates.bare_weasyprint_minimal_japanese_per_second",
            "pages/s",
            1,
        ),
    ):
        value = figs.value(name)
        rows.append((label, "not measured" if value is None else f"{_num(value, digits)} {unit}"))
    for label, name in (
        ("raw COPY, installments", "billing.raw_copy_installments_per_second"),
        ("raw COPY, konbini records", "billing.raw_copy_konbini_records_per_second"),
    ):
        points = [
            f"{_num(float(r['value']))} rows/s at {scale_number(r['scale']):,}"
            for r in figs.records
            if r.get("name") == name
        ]
        rows.append((label, ", ".join(points) or "not measured"))
    return rows


# --- running the scripts ---------------------------------------------------------------------


@dataclass
class ScriptRun:
    name: str
    args: list[str]
    seconds: float
    load_before: float
    load_after: float
    returncode: int
    figures: int


def one_minute_load() -> float:
    return os.getloadavg()[0]


def scripts_in(bench: Path) -> list[str]:
    """The target scripts in SCRIPT_ARGS's order, then every other script by name."""
    found = {p.stem for p in bench.glob("*.py") if not p.name.startswith(("_", "run_all"))}
    ordered = [name for name in SCRIPT_ARGS if name in found]
    return ordered + sorted(found - set(ordered))


def run_script(bench: Path, name: str, log_dir: Path, figures: list[dict]) -> ScriptRun:
    """Run one script, passing its JSON figures and notes through as they come."""
    args = SCRIPT_ARGS.get(name, [])
    print(f"# {name}.py {' '.join(args)}".rstrip(), flush=True)
    load_before = one_minute_load()
    print(f"# load average before {name}: {load_before:.2f}", flush=True)
    started = time.perf_counter()
    stderr_path = log_dir / f"{name}.stderr.log"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(bench / f"{name}.py"), *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=bench.parent,
        )
        try:
            _pass_through(proc, name, figures)
        except KeyboardInterrupt:
            # The script got the same interrupt: let it drop its bench database, then stop it.
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
        returncode = proc.wait()
    count = sum(1 for record in figures if record.get("script") == name)
    seconds = time.perf_counter() - started
    load_after = one_minute_load()
    if returncode != 0:
        tail = stderr_path.read_text(errors="replace")[-3000:]
        print(tail, file=sys.stderr)
        print(f"# {name} FAILED (exit {returncode}); its stderr: {stderr_path}", flush=True)
    print(f"# {name} took {seconds:.0f} s, load average after {load_after:.2f}", flush=True)
    return ScriptRun(name, args, seconds, load_before, load_after, returncode, count)


def _pass_through(proc: subprocess.Popen, name: str, figures: list[dict]) -> None:
    """Print a script's figures and notes as they come, collecting the figures."""
    for line in proc.stdout:
        line = line.rstrip("\n")
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                print(f"# unreadable figure line: {line}", flush=True)
                continue
            record.setdefault("script", name)
            figures.append(record)
            print(line, flush=True)
        elif line.startswith("# "):
            # Notes a script prints for the reader (the pages' profiles, its load).
            print(line, flush=True)


# --- the report ------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def verdict(rows: list[Row], runs: list[ScriptRun]) -> tuple[int, str]:
    failed = [run.name for run in runs if run.returncode != 0]
    not_met = [row.target for row in rows if row.status == NOT_MET]
    unmeasured = [row.target for row in rows if row.status == NOT_MEASURED]
    if not (failed or not_met or unmeasured):
        return 0, f"Every one of the {len(rows)} targets is met in this run."
    met = sum(row.status == MET for row in rows)
    words = [f"{met} of {len(rows)} targets met", f"{len(not_met)} not met"]
    if unmeasured:
        words.append(f"{len(unmeasured)} not measured (a script failed or was not run)")
    if failed:
        words.append("these scripts failed: " + ", ".join(failed))
    return 1, f"Not every target is met in this run: {'; '.join(words)}."


def report_markdown(
    rows: list[Row], runs: list[ScriptRun], records: list[dict], *, started: str, total: float
) -> str:
    code, words = verdict(rows, runs)
    lines = [
        f"## `make bench` of {started}",
        "",
        f"Commit {_commit()}, {os.cpu_count()} CPUs, {_memory()}; "
        f"total {total / 60:.1f} min; load average (1-min) {runs[0].load_before:.2f} at the start, "
        f"{runs[-1].load_after:.2f} at the end."
        if runs
        else f"Commit {_commit()}: no script ran.",
        "",
        f"### {TITLE}",
        "",
    ]
    lines += _md_table(
        ["target", "figure", "floor in the same run", "ratio", "met", "note"],
        [[r.target, r.figure, r.floor, r.ratio, r.status, r.note] for r in rows],
    )
    lines += ["", words, "", "### The run's drift", ""]
    lines += _md_table(
        ["script", "arguments", "wall time", "load before", "load after", "figures", "exit"],
        [
            [
                r.name,
                " ".join(r.args) or "(defaults)",
                f"{r.seconds:.0f} s",
                f"{r.load_before:.2f}",
                f"{r.load_after:.2f}",
                str(r.figures),
                str(r.returncode),
            ]
            for r in runs
        ]
        + [["total", "", f"{total:.0f} s ({total / 60:.1f} min)", "", "", "", ""]],
    )
    lines += ["", "Floors (they depend on the machine, not on the code):", ""]
    lines += [f"- {label}: {value}" for label, value in floors(records)]
    lines += ["", "### Every figure", ""]
    lines += _md_table(
        ["script", "figure", "value", "unit", "scale"],
        [
            [r.get("script", ""), r["name"], _num(float(r["value"]), 3), r["unit"], str(r["scale"])]
            for r in records
        ],
    )
    return "\n".join(lines) + "\n"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _memory() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            kb = int(meminfo.readline().split()[1])
        return f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "memory unknown"


def print_tables(rows: list[Row], runs: list[ScriptRun], records: list[dict], total: float) -> None:
    width = max([48] + [len(str(fig["name"])) for fig in records])
    print()
    print(f"{'figure':<{width}} {'value':>14} {'unit':<14} scale")
    for fig in records:
        print(
            f"{fig['name']:<{width}} {float(fig['value']):>14,.3f} {fig['unit']:<14} {fig['scale']}",
        )
    print(f"\n{TITLE}")
    for row in rows:
        print(f"- [{row.status}] {row.target}")
        print(f"    figure: {row.figure}; floor: {row.floor}; ratio: {row.ratio}")
        if row.note:
            print(f"    {row.note}")
    print("\nThe run's drift (load average 1-min before → after, wall time)")
    for run in runs:
        status = "" if run.returncode == 0 else f"  FAILED (exit {run.returncode})"
        print(
            f"  {run.name:<16} {run.load_before:6.2f} → {run.load_after:6.2f}  {run.seconds:7.0f} s{status}",
        )
    print(f"  {'total':<16} {'':>16}  {total:7.0f} s ({total / 60:.1f} min)")
    for label, value in floors(records):
        print(f"  floor, {label}: {value}")


def main(argv: list[str] | None = None, *, bench: Path = BENCH, out_dir: Path | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks and judge the targets.")
    parser.add_argument("--only", default="", help="comma-separated script names to run")
    parser.add_argument("--skip", default="", help="comma-separated script names to leave out")
    args = parser.parse_args(argv)
    available = scripts_in(bench)
    only = [n for n in args.only.split(",") if n]
    skip = [n for n in args.skip.split(",") if n]
    unknown = sorted(set(only + skip) - set(available))
    if unknown:
        parser.error(f"no such script: {', '.join(unknown)} (there are: {', '.join(available)})")
    names = [n for n in available if (not only or n in only) and n not in skip]

    out_dir = out_dir or ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    records: list[dict] = []
    runs: list[ScriptRun] = []
    interrupted = False
    for name in names:
        try:
            runs.append(run_script(bench, name, out_dir, records))
        except KeyboardInterrupt:
            interrupted = True
            print(f"# interrupted during {name}: the report covers the scripts that finished")
            break
    total = time.perf_counter() - started

    rows = target_rows(records)
    print_tables(rows, runs, records, total)
    code, words = verdict(rows, runs)
    if interrupted:
        code, words = 130, f"Interrupted before every script ran. {words}"
    (out_dir / "last-run.md").write_text(
        report_markdown(rows, runs, records, started=started_at, total=total), encoding="utf-8"
    )
    (out_dir / "last-run.json").write_text(
        json.dumps(
            {
                "started": started_at,
                "commit": _commit(),
                "total_seconds": round(total, 1),
                "scripts": [asdict(run) for run in runs],
                "floors": dict(floors(records)),
                "targets": [asdict(row) for row in rows],
                "verdict": words,
                "exit_code": code,
                "figures": records,
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"\n{words}\nWritten: {out_dir / 'last-run.md'} and {out_dir / 'last-run.json'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
