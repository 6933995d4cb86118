#!/usr/bin/env python3
"""plock against DuckDB on the billing benchmark kit's data, alternating in the same minutes.

    python3 benches/kit/compare.py --scale M --data DATA/M [--rounds 5] [--threads 2]
                                   [--kit ../shared/bench-kit] [--no-build] [--also-collect]

Each round runs the kit's ref_duckdb.py, then plock-kit, on the same data (duckdb, plock,
duckdb, plock, ...), so both see the same minutes of a shared machine. Then, per phase pair,
the medians of the rounds and the ratio plock / DuckDB (below 1: plock is faster), with the
median of the rounds' own ratios beside it:

  invoice      DuckDB's invoice phase (owners, aggregates, roll-up, pricing, invoices; data in
               memory) against plock's billing run, and against the run plus its aggregates
  usage load   DuckDB's load_csv (every table; usage.csv is 99% of the bytes) against plock's
               load_usage, and against load_usage + load_rest

plock's run hands its invoices on as it goes and plock-kit takes them into the kit's rows
(timed with the run); --also-collect also runs, each round, the run that holds every invoice
to its end (plock-kit --collect).

Ends with the kit's compare.py verdict on the last round's outputs (MATCH or the differences);
exits non-zero unless it is MATCH.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import shutil
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, text=True, **kw)


def duckdb_round(kit, data, out, threads):
    # The invoice phase is timed max(1, reps // 2 + 1) = 3 times, as plock's run (--repeat 3).
    run([sys.executable, os.path.join(kit, "ref_duckdb.py"), "--data", data, "--out", out,
         "--threads", str(threads), "--reps", "5", "--skip", "agg_from_parquet,agg_from_csv"],
        stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "result.json")) as f:
        res = json.load(f)
    ph = res["phases"]
    return {"invoice": ph["invoice"]["median_s"], "load": ph["load_csv"]["median_s"],
            "peak_mib": res["peak_rss_mb"], "engine": res["engine"]}


def plock_round(binary, data, out, threads, extra=()):
    p = run([binary, "--data", data, "--out", out, "--threads", str(threads), "--repeat", "3", *extra],
            stdout=subprocess.PIPE)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    return {"run": res["run_s"], "run_agg": res["run_s"] + res["aggregates_s"],
            "load_usage": res["load_usage_s"], "load": res["load_usage_s"] + res["load_rest_s"],
            "peak_mib": res["peak_rss_bytes"] / 2**20,
            "peak_through_run_per_row": res["peak_rss_through_run_bytes"] / max(1, res["usage_rows"])}


def pair(label, duck, plock, d_key, p_key):
    d = [r[d_key] for r in duck]
    p = [r[p_key] for r in plock]
    ratios = [b / a for a, b in zip(d, p)]
    dm, pm = statistics.median(d), statistics.median(p)
    print(f"{label:<48} duckdb {dm:8.3f}  plock {pm:8.3f}  ratio {pm / dm:6.2f}  "
          f"(rounds' ratios: median {statistics.median(ratios):.2f}, {min(ratios):.2f}..{max(ratios):.2f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", required=True, choices=["S", "M", "L"], help="the data's scale (a label)")
    ap.add_argument("--data", required=True, help="the kit's data folder of that scale")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kit", default=os.path.join(ROOT, "..", "shared", "bench-kit"))
    ap.add_argument("--no-build", action="store_true", help="use the plock-kit already built")
    ap.add_argument("--also-collect", action="store_true",
                    help="each round, also run plock-kit --collect (the run holding every invoice to its end)")
    a = ap.parse_args()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if not a.no_build:
        run(["cargo", "build", "--quiet", "--release", "-p", "plock-benches", "--bin", "plock-kit"], cwd=ROOT)
    binary = os.path.join(target, "release", "plock-kit")
    tmp = tempfile.mkdtemp(prefix="plock-kit-compare-")
    duck_out, plock_out = os.path.join(tmp, "duckdb"), os.path.join(tmp, "plock")
    duck, plock, collected = [], [], []
    for i in range(a.rounds):
        duck.append(duckdb_round(a.kit, a.data, duck_out, a.threads))
        plock.append(plock_round(binary, a.data, plock_out, a.threads))
        also = ""
        if a.also_collect:
            collected.append(plock_round(binary, a.data, plock_out + "-collected", a.threads, ["--collect"]))
            also = f"; collected run {collected[-1]['run']:.3f} s"
        print(f"round {i + 1}/{a.rounds}: duckdb invoice {duck[-1]['invoice']:.3f} s, load {duck[-1]['load']:.3f} s; "
              f"plock run {plock[-1]['run']:.3f} s, load_usage {plock[-1]['load_usage']:.3f} s{also}", flush=True)
    print(f"\nscale {a.scale}, {a.threads} threads, {a.rounds} alternating rounds ({duck[-1]['engine']}); "
          f"seconds, medians of the rounds; ratio = plock / duckdb")
    pair("invoice phase vs run", duck, plock, "invoice", "run")
    pair("invoice phase vs run + aggregates", duck, plock, "invoice", "run_agg")
    pair("load_csv (all tables) vs load_usage", duck, plock, "load", "load_usage")
    pair("load_csv (all tables) vs load_usage + load_rest", duck, plock, "load", "load")
    pair("peak RSS (MiB)", duck, plock, "peak_mib", "peak_mib")
    per_row = [r["peak_through_run_per_row"] for r in plock]
    print(f"{'plock peak RSS through the run, bytes per usage row':<48} median {statistics.median(per_row):.1f} "
          f"({min(per_row):.1f}..{max(per_row):.1f})")
    if collected:
        pair("invoice phase vs run --collect", duck, collected, "invoice", "run")
        per_row = [r["peak_through_run_per_row"] for r in collected]
        print(f"{'the same, --collect':<48} median {statistics.median(per_row):.1f} "
              f"({min(per_row):.1f}..{max(per_row):.1f})")
    verdict = run([sys.executable, os.path.join(a.kit, "compare.py"), duck_out, plock_out],
                  stdout=subprocess.PIPE, check=False)
    print("compare.py:", verdict.stdout.strip().splitlines()[-1] if verdict.stdout.strip() else "no output")
    if verdict.returncode == 0:
        shutil.rmtree(tmp)
    else:
        print(verdict.stdout + f"outputs kept in {tmp}")
    sys.exit(0 if verdict.returncode == 0 and verdict.stdout.strip().endswith("MATCH") else 1)


if __name__ == "__main__":
    main()
