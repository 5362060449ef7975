"""Where `qa serve`'s start-up goes, in-process: the imports, loading the engine (index, model,
concept vectors, triage) and making the app, each timed in a fresh interpreter (median of
`--runs`). `bench/serve_bench.py --cold-start-only` times the whole thing from outside; this
script says which part moved.

Runs on older versions of the code too (it only calls public entry points), so a before/after
comparison runs the same script with each checkout first on PYTHONPATH, from that checkout:

    python bench/startup_profile.py [--runs 5] [--index index]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
clock = time.perf_counter
marks = {}
started = clock()
import qa.settings
marks["import qa.settings"] = clock()
import qa.engine
marks["import qa.engine"] = clock()
import qa.server.app
marks["import qa.server.app"] = clock()
settings = qa.settings.Settings(index_dir=sys.argv[1])
engine = qa.engine.QAEngine.from_settings(settings)
marks["QAEngine.from_settings"] = clock()
qa.server.app.create_app(settings, engine)
marks["create_app"] = clock()
out, last = {}, started
for name, at in marks.items():
    out[name], last = at - last, at
out["total"] = last - started
out["imported"] = sorted(m for m in ("sklearn", "scipy.stats", "spacy", "torch", "py3langid")
                         if m in sys.modules)
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--index", type=Path, default=Path("index"))
    args = parser.parse_args()
    env = os.environ | {"HF_HUB_OFFLINE": "1", "QA_LOG_LEVEL": "WARNING"}
    runs = []
    for _ in range(args.runs):
        done = subprocess.run([sys.executable, "-c", CHILD, str(args.index)], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"error: the start-up run failed: {done.stderr.strip().splitlines()[-1]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"start-up in-process, median of {args.runs} fresh interpreters (seconds):")
    for stage in [k for k in runs[0] if k != "imported"]:
        values = [r[stage] for r in runs]
        print(f"  {stage:<24} {statistics.median(values):6.3f}  "
              f"({min(values):.3f}-{max(values):.3f})")
    print("  modules imported: " + ", ".join(runs[0]["imported"]))


if __name__ == "__main__":
    main()
