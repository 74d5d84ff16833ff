"""``python -m benchmarks [--quick] [--only NAME ...]``: every benchmark, each with its baseline.

The machine is shared, so the header and every benchmark print the load averages next to
their figures. ``--quick`` keeps the whole run to a few minutes (smaller drains, a one-minute
soak); the full run soaks for ten minutes. A benchmark that fails is reported and the others
still run; the exit status says whether all of them ran.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
import traceback
from collections.abc import Callable

from benchmarks._support import load, machine

#: name -> module; ``main`` of each is called (with ``quick`` when it takes it)
BENCHMARKS = {
    "ingest": "benchmarks.ingest",
    "alert_latency": "benchmarks.alert_latency",
    "memory": "benchmarks.memory",
    "decode": "benchmarks.decode",
    "influx_write": "benchmarks.influx_write",
}


#: what ``--quick`` means for the benchmarks that take an argv
QUICK_ARGV = {
    "alert_latency": ["--quick"],  # 10 s of load: enough probes for a p99
    "decode": ["--seconds", "0.2"],  # per family, CPU time
}


def _call(name: str, main: Callable[..., object], quick: bool) -> None:
    params = inspect.signature(main).parameters
    if "quick" in params:
        main(quick=quick)
    elif "argv" in params:
        main(argv=QUICK_ARGV.get(name, []) if quick else [])
    else:
        main()


def run(names: list[str], quick: bool) -> int:
    print(f"kommunvakt benchmarks ({'quick' if quick else 'full'}): {machine()}; {load()}")
    failed = []
    for name in names:
        print(f"\n== {name} ==", flush=True)
        began = time.monotonic()
        try:
            module = importlib.import_module(BENCHMARKS[name])
        except ModuleNotFoundError as exc:
            if exc.name == BENCHMARKS[name]:
                print(f"  not present in this checkout ({exc.name}); skipped")
                continue
            raise
        try:
            _call(name, module.main, quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"  ({time.monotonic() - began:.0f} s; {load()})", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few minutes instead of ~20")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args(argv)
    return run(args.only or list(BENCHMARKS), args.quick)


if __name__ == "__main__":
    sys.exit(main())
