"""The alert rules watch metrics the platform really exports (a renamed metric would leave an
alert silent forever). promtool checks the rules' syntax and behaviour
(deploy/prometheus/alerts.test.yml); this checks the names."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import eventstore.metrics  # noqa: F401 - registers the kernel's metrics

ROOT = Path(__file__).resolve().parents[2]


def test_every_metric_an_alert_reads_is_exported():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    exported = {name for metric in REGISTRY.collect() for name in
                [metric.name, *(s.name for s in metric.samples)]}
    for group in rules["groups"]:
        for rule in group["rules"]:
            names = set(re.findall(r"\b([a-z_]+_(?:seconds|events|total|waiting|messages))\b",
                                   rule["expr"]))
            assert names and names <= exported, (rule["alert"], names - exported)
