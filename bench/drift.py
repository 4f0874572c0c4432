"""Drift benchmark: N tenants x M resources with a baseline, then 1 % of resources changed.

Collection runs in-process through the real path (SDK + simulator + PostgreSQL); the
figures are about detection: ``drift_rps`` is changed resources processed per second by
detection passes run as tasks for ``--processes`` forked processes (default: the
``--concurrency`` of docker-compose.yml's drift worker, 2), ``drift_rps_one_process`` the
same in this one process; ``steady_pass_s`` (and ``steady_pass_one_process_s``) a
detection pass over every tenant when nothing changed. Each changed round changes 1 % of
every tenant's resources, collects and times the detection passes; between the rounds
the previous round's findings are accepted into the baselines. ``drift_rps`` is the
median of ``--rounds`` rounds (default 3; ``drift_rps_rounds`` lists each), since one
round on a shared 2-core machine moves by a third from run to run. The database is vacuumed
and analysed after the first (baseline) passes, as autovacuum would have done on a
running system. It also measures, for one tenant, the pieces of the change-to-finding latency
(poll pass + detection pass) to add to the polling interval. ``rules`` is the size of
the shipped rule pack every pass evaluates. ``--profile`` prints cProfile's top entries
of the steady and the changed pass to stderr. The last line printed is one JSON object.

    python bench/drift.py --tenants 100 --resources 1000
"""

from __future__ import annotations

import json
import time

from _drift_setup import CHANGEABLE, analyze, drift_bench, log, parse_args, profiled


def main() -> None:
    args = parse_args(__doc__, tenants=100, port=18444, database="bench_drift")
    with drift_bench(args, name="drift", first_id=50000) as bench:
        from django_tenants.utils import tenant_context

        from configurations.models import Configuration
        from configurations.services import PassOptions, run_collection_pass
        from drift.services import run_exclusive_detection
        from drift.severity import build_rule_set

        rule_count = len(build_rule_set({}).rules)  # the shipped pack every tenant runs
        tenants = bench.tenants

        processes = args.processes
        baseline_s, _, _ = bench.detect_all()  # first detection: baselines from the present
        log(f"baselines for {len(tenants)} tenants in {baseline_s:.1f}s")
        analyze()
        # The pool first: it closes this process's connection before forking, and the
        # one-process passes then run on a connection as warm as the pool's.
        steady_s, _, _ = bench.detect_all(processes)
        with profiled("steady pass", args.profile):
            steady_one_s, _, _ = bench.detect_all()
        log(
            f"steady detection over all tenants: {steady_one_s:.2f}s in one process, "
            f"{steady_s:.2f}s in {processes}"
        )

        def changed_pass(processes: int, label: str) -> tuple[float, int, int]:
            changed = bench.change_resources(max(1, args.resources // 100))
            bench.collect_all()
            with profiled(label, args.profile and processes == 1):
                drift_s, drifted, findings = bench.detect_all(processes)
            log(
                f"{label}: {drifted} drifted ({changed} changed) in {drift_s:.2f}s, "
                f"{findings} findings"
            )
            return drift_s, drifted, findings

        def accept() -> None:
            accepted = bench.accept_all()  # the reviewed changes become the baseline
            bench.detect_all()
            log(f"{accepted} findings accepted into the baselines")

        one_s, one_drifted, _ = changed_pass(1, "pass with changes, one process")
        rounds = []
        for number in range(1, max(args.rounds, 1) + 1):
            accept()
            rounds.append(
                changed_pass(processes, f"pass with changes, {processes} processes, round {number}")
            )
        rates = [drifted / seconds for seconds, drifted, _ in rounds]
        median = sorted(range(len(rounds)), key=rates.__getitem__)[len(rounds) // 2]
        drift_s, drifted, findings = rounds[median]

        probe = tenants[0]
        with tenant_context(probe):
            rid = (
                Configuration.objects.filter(resource_type=CHANGEABLE[1])
                .values_list("resource_id", flat=True)
                .first()
            )
        bench.client.modify_resource(rid, {"tags": {"latency": "probe"}}, caller="bench@msp")
        t0 = time.perf_counter()
        with tenant_context(probe):
            run_collection_pass(probe, PassOptions(trigger="latency"))
        poll_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        with tenant_context(probe):
            run_exclusive_detection(probe, actor="bench")
        detect_s = time.perf_counter() - t1

    print(
        json.dumps(
            {
                "bench": "drift",
                "resources": args.tenants * args.resources,
                "changed": drifted,
                "drift_rps": round(drifted / drift_s),
                "drift_rps_rounds": [round(rate) for rate in rates],
                "drift_rps_one_process": round(one_drifted / one_s),
                "processes": processes,
                "findings": findings,
                "steady_pass_s": round(steady_s, 2),
                "steady_pass_one_process_s": round(steady_one_s, 2),
                "steady_pass_per_tenant_s": round(steady_one_s / len(tenants), 4),
                "latency_poll_s": round(poll_s, 3),
                "latency_detect_s": round(detect_s, 3),
                "rules": rule_count,
            }
        )
    )


if __name__ == "__main__":
    main()
