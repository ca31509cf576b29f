"""Run every benchmark module (or those named on the command line) and print their figures.

With no names, the generated province's scale bench runs last at SCALE matters (environment; `make bench
SCALE=1000000` for the issue-16 targets; default DEFAULT_SCALE, which finishes in minutes).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time

import bench

DEFAULT_SCALE = 20_000


def main(argv: list[str]) -> int:
    if argv[:1] == ["scale"]:  # python -m bench scale --matters N: the generated province (issue 16)
        from bench import scale

        return scale.main(argv[1:])
    # bench_janus (skipped without /usr/bin/janus) sorts as if named bench_media_janus: right after bench_media
    names = argv or sorted((m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")),
                           key=lambda name: "bench_media_janus" if name == "bench_janus" else name)
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        started = time.monotonic()
        print(f"# {name}", flush=True)
        try:
            module.main()
        except Exception as exc:  # a broken benchmark must not hide the others' figures
            failed += 1
            print(f"# {name} failed: {exc!r}", flush=True)
        print(f"# {name} took {time.monotonic() - started:.1f} s", flush=True)
    if not argv:
        from bench import scale

        started = time.monotonic()
        matters = os.environ.get("SCALE") or str(DEFAULT_SCALE)
        print(f"# scale --matters {matters}", flush=True)
        try:
            failed += 1 if scale.main(["--matters", matters]) else 0
        except Exception as exc:  # as above: report and go on
            failed += 1
            print(f"# scale failed: {exc!r}", flush=True)
        print(f"# scale took {time.monotonic() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
