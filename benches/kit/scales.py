#!/usr/bin/env python3
"""plock's billing run at two scales of the kit's data, alternating in the same minutes.

    python3 benches/kit/scales.py --small DATA/M --large DATA/L [--rounds 3] [--threads 2]

Each round runs plock-kit on the small data, then on the large (small, large, small, ...), so
both see the same minutes of a shared machine, and prints each run's median (of --repeat 3),
then the ratio of the medians large / small with the median of the rounds' own ratios. Build
plock-kit first: cargo build --release -p plock-benches --bin plock-kit.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def plock(binary, data, threads):
    with tempfile.TemporaryDirectory(prefix="plock-kit-scales-") as out:
        p = subprocess.run([binary, "--data", data, "--out", out, "--threads", str(threads),
                            "--repeat", "3"], check=True, text=True, stdout=subprocess.PIPE)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", required=True)
    ap.add_argument("--large", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.path.join(target, "release", "plock-kit")
    small, large = [], []
    for i in range(a.rounds):
        small.append(plock(binary, a.small, a.threads))
        large.append(plock(binary, a.large, a.threads))
        s, l = small[-1], large[-1]
        print(f"round {i + 1}/{a.rounds}: small run {s['run_s']:.3f} s ({s['usage_rows']} rows), "
              f"large run {l['run_s']:.3f} s ({l['usage_rows']} rows); "
              f"large peak through the run {l['peak_rss_through_run_bytes'] / l['usage_rows']:.1f} B/row, "
              f"load_usage {l['load_usage_s']:.2f} s", flush=True)
    sm = statistics.median(r["run_s"] for r in small)
    lm = statistics.median(r["run_s"] for r in large)
    ratios = [l["run_s"] / s["run_s"] for s, l in zip(small, large)]
    print(f"\nrun medians: small {sm:.3f} s, large {lm:.3f} s, ratio {lm / sm:.2f}x "
          f"(rounds' ratios: median {statistics.median(ratios):.2f}x, {min(ratios):.2f}..{max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
