"""Reading Prometheus exposition text and the metric names the dashboard and alerts use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "driftdetector.json"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "driftdetector.yml"
_NAME = re.compile(r"\b((?:driftdetector|django)_[a-z0-9_]+)\b")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample_names(text: str) -> set[str]:
    return {name for name, _ in samples(text)}


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0.0 when absent)."""
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def promql_expressions() -> list[str]:
    """Every PromQL expression of the Grafana dashboard and of the alert rules."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    rules = yaml.safe_load(RULES.read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return exprs


def metric_names_used() -> set[str]:
    """The project's metric names (driftdetector_*, django_*) the expressions read."""
    return {name for expr in promql_expressions() for name in _NAME.findall(expr)}
