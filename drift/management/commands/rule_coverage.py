"""``manage.py rule_coverage``: resource types x audited properties the rule pack covers."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from drift.coverage import coverage, summary
from drift.severity import default_rule_specs


class Command(BaseCommand):
    help = (
        "Print, per resource type, the properties Prowler / Azure Policy / MCSB audit and "
        "which the shipped rule pack covers, then the overall coverage figure."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--missing", action="store_true", help="list uncovered properties")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = coverage()
        totals = summary(rows, len(default_rule_specs()))
        if options["format"] == "json":
            body = {
                "types": [
                    {
                        "resource_type": r.resource_type,
                        "audited": len(r.audited),
                        "covered": len(r.covered),
                        "missing": list(r.missing),
                    }
                    for r in rows
                ],
                "total": totals,
            }
            self.stdout.write(json.dumps(body, indent=2))
            return
        width = max(len(r.resource_type) for r in rows)
        for row in rows:
            line = f"{row.resource_type:<{width}}  {len(row.covered):>3}/{len(row.audited):<3}"
            if options["missing"] and row.missing:
                line += "  missing: " + ", ".join(row.missing)
            self.stdout.write(line)
        self.stdout.write(
            f"coverage: {totals['covered']}/{totals['audited']} audited properties "
            f"({totals['percent']}%) over {totals['types']} resource types; "
            f"{totals['rules']} rules"
        )
