#!/usr/bin/env python3
"""What storing the kit's CSVs in SQLite costs at the least, with nothing parsed or checked.

    python3 benches/kit/sqlite_floor.py --csv CSV/M [--db /tmp/floor.db] [--rounds 3]

Each round writes the raw bytes of plock's accounts.csv, subscriptions.csv and usage.csv, in
blobs of 1 MiB, into a fresh database with plock's settings (64 KiB pages, WAL, synchronous
FULL), in one transaction, and times it to the end of the commit's checkpoint and the file's
close. Any design that keeps its data in SQLite writes at least these bytes; `e2e.py` puts
the figure beside DuckDB's whole job.
"""
import argparse
import os
import sqlite3
import time


def one_round(db, blobs):
    for path in (db, db + "-wal", db + "-shm"):
        if os.path.exists(path):
            os.remove(path)
    started = time.monotonic()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA page_size = 65536")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)")
    conn.execute("BEGIN IMMEDIATE")
    step = 1 << 20
    for blob in blobs:
        for at in range(0, len(blob), step):
            conn.execute("INSERT INTO raw (bytes) VALUES (?)", (blob[at:at + step],))
    conn.execute("COMMIT")
    conn.close()
    return time.monotonic() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--db", default="/tmp/plock-sqlite-floor.db")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    blobs = []
    for name in ("accounts.csv", "subscriptions.csv", "usage.csv"):
        with open(os.path.join(a.csv, name), "rb") as f:
            blobs.append(f.read())
    size = sum(len(b) for b in blobs)
    for n in range(a.rounds):
        print(f"round {n + 1}: {size / 1e6:.0f} MB stored raw in {one_round(a.db, blobs):.2f} s")
    for path in (a.db, a.db + "-wal", a.db + "-shm"):
        if os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    main()
