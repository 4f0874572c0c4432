"""Audit trail benchmark: Graph ingest, ELK forwarding, an outage, the Graph request rate.

A fresh database, the simulator in its own process, a loopback Elasticsearch ``_bulk``
receiver (tests/auditlog/elk_receiver.py). Phases:

1. ingest: one tenant's feed holds ``--rows`` sign-ins, read by one collector;
   ``ingest_rows_per_s`` is rows stored per second of database writing (mapping, INSERT,
   outbox and summary); the Graph-bound end-to-end rate is printed too. Then two
   collectors (two workers sharing the Redis limiter) read a second tenant at once.
2. forward: the outbox the ingest filled is shipped; ``forward_docs_per_s``.
3. outage: a steady stream (``--stream-rate`` rows/s written, the forwarder every 5 s as
   beat runs it) with the receiver down for ``--outage`` seconds in the middle; then
   ``lost`` (rows never acknowledged), ``duplicates`` (documents stored twice by _id)
   and ``lag_p95_s`` (row written -> document stored, outside the outage).
4. ``graph_max_req_per_10s_per_tenant``: the most Graph requests the simulator saw for
   one tenant in any 10 s.

The last line printed is the JSON result.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid

from _db import ROOT, fresh_database, setup_django
from poll import CLIENT_ID, SECRET, log, onboard_fleet, start_simulator, use_simulator


def _specs(count: int) -> list[dict]:
    return [
        {
            "name": f"audit-{i:02d}",
            "tenant_id": str(uuid.UUID(int=70_000 + i)),
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "subscriptions": 1,
            "resources": 0,
            "seed": i,
        }
        for i in range(count)
    ]


def phase_ingest(tenant, sim, rows: int, *, collectors: int = 1) -> dict:
    """``collectors`` workers read one tenant's backlog of ``rows`` sign-ins at once."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from auditlog import services
    from auditlog.collection import collect_tenant_audit
    from auditlog.models import SigningLog

    minutes = 30.0
    sim.set_graph_audit(
        tenant.azure_tenant_id,
        signins_per_minute=rows / minutes,
        audits_per_minute=0,
        backfill_minutes=minutes,
        reset_counters=True,
    )
    spent = [0.0]
    lock = threading.Lock()
    original = services.write_graph_rows

    def timed(**kwargs):
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            with lock:
                spent[0] += time.perf_counter() - started

    import auditlog.collection as collection

    collection.write_graph_rows = timed
    results: list = []

    def run() -> None:
        try:
            with tenant_context(tenant):
                results.append(collect_tenant_audit(tenant))
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(collectors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    collection.write_graph_rows = original
    with tenant_context(tenant):
        stored = SigningLog.objects.filter(source="azure_signin").count()
    pages = sum(r.feeds["signIns"].pages for r in results)
    log(
        f"ingest: {stored} rows stored ({pages} pages by {collectors} collector(s)) in "
        f"{elapsed:.1f} s; "
        f"{spent[0]:.1f} s writing"
    )
    return {
        "stored": stored,
        "ingest_rows_per_s": round(stored / spent[0]) if spent[0] else 0,
        "graph_bound_rows_per_s": round(stored / elapsed),
    }


def phase_forward() -> dict:
    from auditlog.fleet.models import OutboxEntry
    from auditlog.forwarder import forward_pending

    backlog = OutboxEntry.objects.count()
    started = time.perf_counter()
    shipped = 0
    while OutboxEntry.objects.filter(state="pending").exists():
        outcome = forward_pending(budget_seconds=60)
        shipped += outcome.shipped + outcome.already_there
        if outcome.failed:
            raise RuntimeError(outcome.failed)
    elapsed = time.perf_counter() - started
    log(f"forward: {shipped} of {backlog} documents in {elapsed:.1f} s")
    return {"forward_docs_per_s": round(shipped / elapsed) if elapsed else 0}


def phase_outage(tenant, receiver, *, duration: float, outage: float, rate: int) -> dict:
    """A steady stream with the receiver down in the middle; count losses and duplicates."""
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from auditlog import mapping
    from auditlog.forwarder import forward_pending
    from auditlog.models import SigningLog
    from azuresim.msgraph import sign_in_row

    stop = threading.Event()
    written: list[str] = []
    down: list[tuple[float, float]] = []

    def writer() -> None:
        index = 10_000_000
        try:
            with tenant_context(tenant):
                while not stop.is_set():
                    tick = time.time()
                    rows = [sign_in_row("stream", index + i, tick) for i in range(rate)]
                    index += rate
                    services_write(rows)
                    written.extend(r["id"] for r in rows)
                    time.sleep(max(0.0, 1.0 - (time.time() - tick)))
        finally:
            connection.close()

    def services_write(rows: list[dict]) -> None:
        from auditlog.services import write_graph_rows

        write_graph_rows(source=mapping.SOURCE_SIGNIN, objects=rows, now=timezone.now())

    def forwarder() -> None:
        try:
            while not stop.is_set():
                forward_pending(budget_seconds=4)
                stop.wait(5.0)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=forwarder)]
    for thread in threads:
        thread.start()
    start = time.time()
    before = (duration - outage) / 2
    time.sleep(before)
    receiver.stop()
    down_from = time.time()
    log(f"outage: receiver down for {outage:.0f} s")
    time.sleep(outage)
    receiver.start()
    down.append((down_from, time.time()))
    time.sleep(max(0.0, duration - (time.time() - start)))
    stop.set()
    for thread in threads:
        thread.join()
    while forward_pending(budget_seconds=60).claimed:
        pass
    with tenant_context(tenant):
        stored = set(SigningLog.objects.filter(log_id__in=written).values_list("log_id", flat=True))
    ids = {mapping.document_id(tenant.schema_name, "azure_signin", log_id) for log_id in stored}
    lost = len(ids - set(receiver.docs))
    lags = []
    for doc_id in ids & set(receiver.docs):
        doc = receiver.docs[doc_id]
        created = _epoch(doc["event"]["created"])
        if any(a - 5 <= created <= b for a, b in down):
            continue  # written during the outage: its wait is the outage, not lag
        lags.append(receiver.arrivals[doc_id] - created)
    p95 = statistics.quantiles(lags, n=20)[-1] if len(lags) >= 20 else max(lags, default=0.0)
    log(
        f"outage: {len(written)} rows written, {len(stored)} stored, {lost} lost, "
        f"{receiver.conflicts} resends answered 409"
    )
    return {
        "stream_rows": len(written),
        "lost": lost + (len(written) - len(stored)),
        "duplicates": receiver.created - len(receiver.docs),
        "lag_p95_s": round(p95, 1),
    }


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="sign-ins in the ingest backlog")
    parser.add_argument("--duration", type=float, default=90.0, help="steady stream, seconds")
    parser.add_argument("--outage", type=float, default=40.0, help="receiver down, seconds")
    parser.add_argument("--stream-rate", type=int, default=100, help="rows written per second")
    parser.add_argument("--port", type=int, default=18453)
    parser.add_argument("--database", default="bench_audit")
    args = parser.parse_args()

    state_dir = ROOT / "var" / "bench-azuresim-audit"
    use_simulator(state_dir, args.port)
    specs = _specs(2)
    sim_proc = start_simulator(state_dir, args.port, {"tenants": specs})
    try:
        database_url = fresh_database(args.database)
        setup_django(database_url)
        from django.conf import settings
        from django.core.management import call_command

        from azuresim.client import SimClient
        from tests.auditlog.elk_receiver import ElkReceiver

        call_command("migrate_schemas", verbosity=0)
        fleet = onboard_fleet(specs)
        receiver = ElkReceiver().start()
        settings.ELK_URL = receiver.url
        sim = SimClient(f"https://127.0.0.1:{args.port}", state_dir / "ca.pem")

        result: dict = {"bench": "audit"}
        ingest = phase_ingest(fleet[0], sim, args.rows)
        forward = phase_forward()
        # Two workers on one tenant at once: the shared limiter must keep Graph at 5 / 10 s.
        phase_ingest(fleet[1], sim, args.rows // 2, collectors=2)
        phase_forward()
        outage = phase_outage(
            fleet[1],
            receiver,
            duration=args.duration,
            outage=args.outage,
            rate=args.stream_rate,
        )
        peak = max(sim.set_graph_audit(t.azure_tenant_id)["max_requests_per_10s"] for t in fleet)
        result.update(
            {
                "ingest_rows_per_s": ingest["ingest_rows_per_s"],
                "forward_docs_per_s": forward["forward_docs_per_s"],
                "lost": outage["lost"],
                "duplicates": outage["duplicates"],
                "graph_max_req_per_10s_per_tenant": peak,
                "lag_p95_s": outage["lag_p95_s"],
                "ingested_rows": ingest["stored"],
                "graph_bound_rows_per_s_per_tenant": ingest["graph_bound_rows_per_s"],
                "stream_rows": outage["stream_rows"],
                "outage_s": args.outage,
            }
        )
        receiver.stop()
        print(json.dumps(result), flush=True)
    finally:
        sim_proc.terminate()
        sim_proc.wait(timeout=10)


if __name__ == "__main__":
    main()
