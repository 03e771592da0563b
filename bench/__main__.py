"""Run every benchmark in turn: ``python -m bench`` (or ``make bench``)."""

import pkgutil
import runpy
import sys

import bench

SKIP = {"common", "__main__"}

if __name__ == "__main__":
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name not in SKIP)
    for name in names:
        print(f"\n=== bench.{name}", flush=True)
        sys.argv = [f"bench.{name}"]
        runpy.run_module(f"bench.{name}", run_name="__main__")
