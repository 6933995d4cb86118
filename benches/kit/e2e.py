#!/usr/bin/env python3
"""The plock command end to end on the kit's data, against DuckDB, alternating in the same minutes.

    python3 benches/kit/e2e.py --data DATA/M --csv CSV/M [--rounds 3] [--threads 2]
                               [--kit ../shared/bench-kit] [--plock target/release/plock]

CSV/M is the kit's data in plock's formats, made once (not timed) by
`cargo run --release -p plock-benches --bin plock-kit-convert -- --data DATA/M --out CSV/M`.

Each round runs the kit's ref_duckdb.py (its load_csv and invoice phases), then plock: `init`,
`import accounts`, `import subscriptions`, `import usage`, then, not timed, the
kit's billing history recorded by plock-kit-convert --history, then `bill --date 2025-04-01`,
which stores the invoices and what was billed. Prints each step's median seconds and peak
memory, plock's total against DuckDB's, and `bill` against the engine's run in memory
(plock-kit, the same data and minutes).
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import shutil
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(cmd, cwd):
    """Seconds and peak resident KiB of one command (GNU time)."""
    started = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, text=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.monotonic() - started
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return took, int(p.stderr.strip().splitlines()[-1])


def plock_round(plock, convert, data, csv, work):
    for f in glob.glob(os.path.join(work, "plock.data*")):
        os.remove(f)
    steps = {}
    steps["init"] = timed([plock, "init"], work)
    steps["import accounts"] = timed([plock, "import", "accounts", os.path.join(csv, "accounts.csv")], work)
    steps["import subscriptions"] = timed([plock, "import", "subscriptions", os.path.join(csv, "subscriptions.csv")], work)
    steps["import usage"] = timed([plock, "import", "usage", os.path.join(csv, "usage.csv")], work)
    subprocess.run([convert, "--data", data, "--history", "plock.data"], cwd=work, check=True)
    steps["bill"] = timed([plock, "bill", "--date", "2025-04-01"], work)
    return steps


def duckdb_round(kit, data, out, threads):
    subprocess.run([sys.executable, os.path.join(kit, "ref_duckdb.py"), "--data", data, "--out", out,
                    "--threads", str(threads), "--reps", "1", "--skip", "agg_from_parquet,agg_from_csv"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "result.json")) as f:
        res = json.load(f)
    ph = res["phases"]
    return {"load_csv": ph["load_csv"]["median_s"], "invoice": ph["invoice"]["median_s"],
            "peak_mib": res["peak_rss_mb"]}


def engine_round(kit_bin, data, out, threads):
    p = subprocess.run([kit_bin, "--data", data, "--out", out, "--threads", str(threads), "--repeat", "1"],
                       check=True, text=True, stdout=subprocess.PIPE)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    return res["run_s"] + res["load_usage_s"] + res["load_rest_s"], res["run_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kit", default=os.path.join(ROOT, "..", "shared", "bench-kit"))
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release"))
    a = ap.parse_args()
    plock = os.path.join(a.bin, "plock")
    convert = os.path.join(a.bin, "plock-kit-convert")
    kit_bin = os.path.join(a.bin, "plock-kit")
    work = tempfile.mkdtemp(prefix="plock-e2e-")
    try:
        duck, mine, engine = [], [], []
        for r in range(a.rounds):
            duck.append(duckdb_round(a.kit, a.data, os.path.join(work, "duck"), a.threads))
            mine.append(plock_round(plock, convert, a.data, a.csv, work))
            engine.append(engine_round(kit_bin, a.data, os.path.join(work, "kit"), a.threads))
            total = sum(t for t, _ in mine[-1].values())
            print(f"round {r + 1}: DuckDB {duck[-1]['load_csv'] + duck[-1]['invoice']:.2f} s, plock {total:.2f} s",
                  file=sys.stderr)
        med = statistics.median
        for step in mine[0]:
            print(f"plock {step:22} {med(m[step][0] for m in mine):8.2f} s  peak {max(m[step][1] for m in mine) / 1024:7.0f} MiB")
        plock_total = med(sum(t for t, _ in m.values()) for m in mine)
        duck_total = med(d["load_csv"] + d["invoice"] for d in duck)
        print(f"DuckDB load_csv + invoice       {duck_total:8.2f} s  peak {max(d['peak_mib'] for d in duck):7.0f} MiB")
        print(f"plock end to end                {plock_total:8.2f} s  = {plock_total / duck_total:.1f}x DuckDB's time")
        bill = med(m["bill"][0] for m in mine)
        print(f"engine in memory: load + run    {med(e[0] for e in engine):8.2f} s, run alone {med(e[1] for e in engine):.3f} s")
        print(f"plock bill against the engine's load + run: {bill / med(e[0] for e in engine):.1f}x")

    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
