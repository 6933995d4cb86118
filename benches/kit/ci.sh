#!/usr/bin/env bash
# The benchmark kit's check: plock's results at scale S (1,000 accounts, 100,000 usage rows)
# equal DuckDB's to the cent. Generates the data into a temporary folder, runs the kit's
# DuckDB reference and plock-kit on it, and fails unless the kit's compare.py prints MATCH.
#
#   benches/kit/ci.sh [KIT_DIR]     KIT_DIR defaults to ../shared/bench-kit beside the repository
#
# The kit is only read. Installs the kit's Python packages (duckdb; numpy and pyarrow for its
# generator) with pip when they are missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
kit="$(cd "${1:-$root/../shared/bench-kit}" && pwd)"

missing=()
for module in duckdb numpy pyarrow; do
  python3 -c "import $module" 2>/dev/null || missing+=("$module")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]} with pip"
  python3 -m pip install --quiet "${missing[@]}" ||
    python3 -m pip install --quiet --user --break-system-packages "${missing[@]}"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$kit/gen.py" --scale S --out "$work/S" --no-parquet >/dev/null
python3 "$kit/ref_duckdb.py" --data "$work/S" --out "$work/duckdb" --threads 2 --reps 1 \
  --skip agg_from_parquet,agg_from_csv >/dev/null
# The run handing its invoices on in parts (small ones: 100 subscriptions), then the run
# holding every invoice to its end: both must match.
for taking in "--batch 100" "--collect"; do
  # shellcheck disable=SC2086
  (cd "$root" && cargo run --quiet --release --locked -p plock-benches --bin plock-kit -- \
    --data "$work/S" --out "$work/plock" --threads 2 $taking)
  python3 "$kit/compare.py" "$work/duckdb" "$work/plock" | tee "$work/verdict"
  [[ "$(tail -n 1 "$work/verdict")" == MATCH ]]
done

# The same run through the PostgreSQL store (loaded through the Store port, billed from what
# it reads back), when a server is configured: `.ci/postgres.sh run benches/kit/ci.sh`.
if [[ -n "${PLOCK_TEST_POSTGRES:-}" ]]; then
  (cd "$root" && cargo run --quiet --release --locked -p plock-benches --bin plock-store-kit -- \
    "$work/S" --postgres "$PLOCK_TEST_POSTGRES" --sqlite "$work/S.plock" --out "$work/postgres") \
    >"$work/store-kit.log"
  python3 "$kit/compare.py" "$work/duckdb" "$work/postgres" | tee "$work/verdict"
  [[ "$(tail -n 1 "$work/verdict")" == MATCH ]]
fi
