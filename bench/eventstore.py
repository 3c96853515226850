"""Event store benchmark: append rates, the raw-insert ceiling, scan rate, stream load time.

    .venv/bin/python bench/eventstore.py [--seconds 4] [--events 1000000] [--os-threads]

Runs against a scratch database (consortium_bench, dropped at the end) on the local
PostgreSQL. Prints figures, then one JSON line with append_1, append_8, raw_8, ratio_8,
scan_per_s and stream_load_ms. Throughputs are measured three times, interleaved with the raw
baseline, and the better run of each is kept, so a noisy neighbour hurts both sides alike.

Writers are green threads on psycogreen-patched psycopg2, exactly as the services append (a
nameko worker is a green thread). The same figures with OS threads, where the GIL is shared by
eight threads, are measured too (``--os-threads`` alone, or ``ratio_8_os_threads`` in the
JSON line, from a second process).
"""

from __future__ import annotations

import sys

OS_THREADS = "--os-threads" in sys.argv
if not OS_THREADS:
    import eventlet
    eventlet.monkey_patch()
    import psycogreen.eventlet
    psycogreen.eventlet.patch_psycopg()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventstore.config import DEV_DB_PASSWORD  # noqa: E402
from eventstore.db import Database, connect  # noqa: E402
from eventstore.events import NewEvent  # noqa: E402
from eventstore.migrate import migrate  # noqa: E402
from eventstore.provision import drop_database, ensure_database  # noqa: E402
from eventstore.store import EventStore  # noqa: E402

DB_NAME = "consortium_bench"
# Throughput rounds, interleaved with the raw baseline; the best of each side is kept (a noisy
# neighbour only ever slows a run down).
ROUNDS = 3
ROLE = "consortium_bench"
URL = f"postgresql://{ROLE}:{DEV_DB_PASSWORD}@localhost:5432/{DB_NAME}"
DATA = {"member_id": "m-0001", "indicator": "i-0007", "value": 42.5, "n": 31,
        "note": "benchmark measurement of a leading indicator"}


def run_writers(writers: int, seconds: float, work) -> float:
    """Run ``work(writer_index, stop)`` in ``writers`` threads; return operations per second."""
    stop = threading.Event()
    counts = [0] * writers
    barrier = threading.Barrier(writers + 1)

    def loop(w):
        barrier.wait()
        counts[w] = work(w, stop)

    threads = [threading.Thread(target=loop, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def store_appends(writers: int, seconds: float) -> float:
    db = Database(URL, size=writers)
    store = EventStore(db, "bench")
    run = uuid.uuid4().hex[:8]

    def work(w, stop):
        stream, version = f"bench-{run}-{w}", 0
        while not stop.is_set():
            store.append(stream, "indicator", version,
                         [NewEvent("MeasurementRecorded", DATA, hub_id="hub-bench")])
            version += 1
        return version

    try:
        return run_writers(writers, seconds, work)
    finally:
        db.close()


def raw_inserts(writers: int, seconds: float) -> float:
    """The same rows with plain psycopg2: one INSERT per event, autocommit. The ceiling."""
    run = uuid.uuid4().hex[:8]
    payload = json.dumps(DATA)

    def work(w, stop):
        conn = connect(URL)
        stream, version = f"raw-{run}-{w}", 0
        try:
            with conn.cursor() as cur:
                while not stop.is_set():
                    version += 1
                    cur.execute(
                        """INSERT INTO events (event_id, stream_id, stream_type, version, type,
                                               schema_version, hub_id, data, metadata)
                           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                        (str(uuid.uuid4()), stream, "indicator", version, "MeasurementRecorded",
                         1, "hub-bench", payload, "{}"))
        finally:
            conn.close()
        return version

    return run_writers(writers, seconds, work)


def fill(total: int) -> int:
    """Top the log up to ``total`` events with generated 100-event streams; return how many."""
    conn = connect(URL)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM events")
        # At least 100 streams to load, however many events the append runs left behind.
        missing = max(10_000, total - cur.fetchone()[0]) // 100 * 100
        done, chunk = 0, 200_000
        while done < missing:
            n = min(chunk, missing - done)
            cur.execute(
                """INSERT INTO events (event_id, stream_id, stream_type, version, type, hub_id,
                                       data)
                   SELECT gen_random_uuid(), 'fill-' || ((%s + g) / 100), 'indicator',
                          ((%s + g) %% 100) + 1, 'MeasurementRecorded', 'hub-fill',
                          jsonb_build_object('value', g, 'n', 30, 'note', 'filler measurement')
                   FROM generate_series(0, %s - 1) g""", (done, done, n))
            done += n
        cur.execute("ANALYZE events")
    conn.close()
    return done // 100


def scan_rate(limit: int) -> tuple[float, int]:
    db = Database(URL, size=1)
    store = EventStore(db, "bench")
    started = time.perf_counter()
    count = 0
    for _ in store.iter_all(page=5000):
        count += 1
        if count >= limit:
            break
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed, count


def stream_load_ms(filled_streams: int) -> float:
    db = Database(URL, size=1)
    store = EventStore(db, "bench")
    streams = [f"fill-{i}" for i in range(0, filled_streams, max(1, filled_streams // 60))]
    store.read_stream(streams[0])  # warm the connection
    times = []
    for stream in streams:
        started = time.perf_counter()
        events = store.read_stream(stream)
        times.append((time.perf_counter() - started) * 1000)
        assert len(events) == 100, (stream, len(events))
    db.close()
    return statistics.median(times)


def appends_with_os_threads(seconds: float) -> int:
    """8 writers as OS threads, on the scratch database the main run prepared."""
    raw, store = [], []
    for _ in range(ROUNDS):
        raw.append(raw_inserts(8, seconds))
        store.append(store_appends(8, seconds))
    print(json.dumps({"append_8": round(max(store)), "raw_8": round(max(raw)),
                      "ratio_8": round(max(store) / max(raw), 3)}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--os-threads", action="store_true",
                        help="only the 8-writer append figures, with OS threads")
    args = parser.parse_args()
    if args.os_threads:
        return appends_with_os_threads(args.seconds)

    drop_database(DB_NAME)
    ensure_database(DB_NAME, ROLE, DEV_DB_PASSWORD)
    migrate(URL)
    try:
        append_1 = store_appends(1, args.seconds)
        print(f"append, 1 writer:   {append_1:9.0f} events/s")
        raw, store = [], []
        for _ in range(ROUNDS):
            raw.append(raw_inserts(8, args.seconds))
            store.append(store_appends(8, args.seconds))
            print(f"8 writers: raw insert {raw[-1]:9.0f}/s   store append {store[-1]:9.0f}/s")
        append_8, raw_8 = max(store), max(raw)
        print(f"append, 8 writers:  {append_8:9.0f} events/s  (raw ceiling {raw_8:.0f}/s, "
              f"ratio {append_8 / raw_8:.2f})")
        os_threads = json.loads(subprocess.run(
            [sys.executable, __file__, "--os-threads", "--seconds", str(args.seconds)],
            check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        print(f"with OS threads:    {os_threads['append_8']:9.0f} events/s  (raw ceiling "
              f"{os_threads['raw_8']:.0f}/s, ratio {os_threads['ratio_8']:.2f})")
        started = time.perf_counter()
        filled_streams = fill(args.events)
        print(f"filled to {args.events} events in {time.perf_counter() - started:.1f}s")
        scan, scanned = scan_rate(args.events)
        print(f"scan:               {scan:9.0f} events/s  ({scanned} events in pages of 5000)")
        load_ms = stream_load_ms(filled_streams)
        print(f"stream load:        {load_ms:9.2f} ms median (100-event streams, "
              f"{args.events} events in the store)")
        print(json.dumps({
            "append_1": round(append_1), "append_8": round(append_8), "raw_8": round(raw_8),
            "ratio_8": round(append_8 / raw_8, 3),
            "ratio_8_os_threads": os_threads["ratio_8"], "scan_per_s": round(scan),
            "stream_load_ms": round(load_ms, 3), "events": args.events,
        }))
    finally:
        drop_database(DB_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
