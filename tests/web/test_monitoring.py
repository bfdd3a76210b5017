"""The latest monitoring pass on the running server: the page (leads only, enforced by the
server) and the Prometheus gauges that follow it."""

from __future__ import annotations

import httpx

from tests.web.conftest import signed_in


def test_leads_read_the_latest_pass_and_billers_are_refused(site, monitor_run):
    base, _, _ = site
    lead = signed_in(base, "lead")
    got = lead.get("/monitoring")
    assert got.status_code == 200
    assert f"As of</dt><dd>{monitor_run['as_of']}" in got.text
    month = monitor_run["performance"]["months"][0]
    assert month["month"] in got.text and "estimated ROC AUC" in got.text
    assert f"{len(monitor_run['alerts'])} alert(s)" in got.text
    assert signed_in(base, "biller").get("/monitoring").status_code == 403


def test_the_gauges_show_the_latest_pass(site, monitor_run):
    text = httpx.get(f"{site[0]}/metrics").text
    estimated = monitor_run["performance"]["recent"]["estimated_roc_auc"]
    assert f"claimrisk_monitor_estimated_roc_auc {estimated}" in text
    assert f"claimrisk_monitor_alerts {float(len(monitor_run['alerts']))}" in text
    first = monitor_run["drift"]["features"][0]
    assert f'claimrisk_monitor_feature_psi{{feature="{first["feature"]}"}} {first["psi"]}' in text
