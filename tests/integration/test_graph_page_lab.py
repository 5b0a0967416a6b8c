"""`cce-lab graph LAB --format html` on a real lab, opened in headless Chromium.

The check rows are real: once run by `graph` itself on the healthy lab (every
node green, the page says the checks were run by graph), once from a real
`cce-lab check --json` file taken with the `dead-pod` fault in force
(the middle node and its dead pod red, the other nodes green). A screenshot of each page is kept in
build/test-artefacts/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli, shipped_lab
from graphbrowser import chromium, fetched, fill, missing, screenshot

NAME = "grvpc"
RED, GREEN = "rgb(255, 179, 179)", "rgb(185, 236, 185)"
pytestmark = pytest.mark.skipif(bool(missing()), reason=missing() or "browser present")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with shipped_lab(tmp_path_factory, NAME, "vpc") as name:
        yield name


def test_page_runs_the_checks_of_a_healthy_lab(lab: str, tmp_path: Path) -> None:
    page = tmp_path / "healthy.html"
    res = cli("graph", lab, "--format", "html", "--services", "-o", str(page), timeout=300)
    assert res.returncode == 0, res.stderr
    with chromium() as driver:
        driver.get(page.as_uri())
        source = driver.find_element("id", "check-source").text
        assert "checks run by cce-lab graph" in source and " 0 failed" in source
        for node in ("node-node-1", "node-node-2", "node-node-3"):
            assert fill(driver, node) == GREEN, node
        assert not driver.find_elements("css selector", "#checks tbody tr.fail")
        driver.find_element("id", "host-vpc-router").click()
        assert "172.16.1.0/25 via 192.168.0.4 (node-3 pod block)" in driver.find_element("id", "info-rows").text
        assert fetched(driver) == []
        screenshot(driver, "graph-page-grvpc-healthy.png")


def test_page_colours_a_real_failing_check_file(lab: str, tmp_path: Path) -> None:
    cli("fault", "inject", "dead-pod", "--lab", lab, check=True)  # pod-2-2, a plain pod on node-2, loses its link
    try:
        res = cli("check", lab, "--json", timeout=300)
    finally:
        cli("fault", "undo", "dead-pod", "--lab", lab, check=True)
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    failed = [r["scenario"] for r in report["results"] if not r["ok"]]
    assert any(s.startswith("node-2: ") for s in failed), failed
    assert not any(s.startswith(("node-1: ", "node-3: ")) for s in failed), failed
    check_file = tmp_path / "check.json"
    check_file.write_text(res.stdout)
    page = tmp_path / "broken.html"
    res = cli("graph", lab, "--format", "html", "--check", str(check_file), "-o", str(page))
    assert res.returncode == 0, res.stderr
    with chromium() as driver:
        driver.get(page.as_uri())
        source = driver.find_element("id", "check-source").text
        assert f"'cce-lab check --json' file {check_file}" in source and f"{len(failed)} failed" in source
        assert fill(driver, "node-node-2") == RED and fill(driver, "pod-pod-2-2") == RED
        assert fill(driver, "node-node-1") == GREEN and fill(driver, "node-node-3") == GREEN
        rows = driver.find_elements("css selector", "#checks tbody tr.fail")
        assert len(rows) == len(failed)
        driver.find_element("id", "node-node-2").click()
        assert driver.find_element("id", "info-title").text == "node-2 (check: fail)"
        assert "192.168.0.3/24" in driver.find_element("id", "info-rows").text
        assert fetched(driver) == []
        screenshot(driver, "graph-page-grvpc-dead-pod.png")
