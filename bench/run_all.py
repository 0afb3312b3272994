"""`make bench`: run every benchmark in bench/ and print one table of their figures.

Each script prints JSON lines {"name", "value", "unit", "scale", ...}; this runner passes them
through, then prints a table. A script that fails is reported and the others still run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = ["portal", "residents_seed", "certificates", "gis", "billing"]


def main() -> int:
    scripts = [BENCH / f"{name}.py" for name in ORDER if (BENCH / f"{name}.py").exists()]
    scripts += sorted(
        p
        for p in BENCH.glob("*.py")
        if p not in scripts and not p.name.startswith(("_", "run_all"))
    )
    figures: list[dict] = []
    failed: list[str] = []
    for script in scripts:
        started = time.perf_counter()
        print(f"# {script.name}", flush=True)
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, cwd=BENCH.parent
        )
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                print(line, flush=True)
                figures.append(json.loads(line))
            elif line.startswith("# "):
                # Notes a script prints for the reader (the pages' profiles).
                print(line, flush=True)
        if proc.returncode != 0:
            failed.append(script.name)
            print(proc.stderr[-3000:], file=sys.stderr)
        print(f"# {script.name} took {time.perf_counter() - started:.0f}s", flush=True)
    print()
    print(f"{'figure':<48} {'value':>14} {'unit':<10} scale")
    for fig in figures:
        print(f"{fig['name']:<48} {fig['value']:>14,.3f} {fig['unit']:<10} {fig['scale']}")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
