"""The HTML page in a real browser (headless Chromium through Selenium): colours follow the rows, clicks explain.

Built from the shipped tunnel plan and a synthetic check document in which
node-2's row fails; what is asserted is what Chromium renders and does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graphbrowser import chromium, fetched, fill, missing, screenshot, stroke

from lab.observe.results import CheckReport, CheckResult
from lab.plan import make_plan
from lab.render import graph
from lab.report import graphpage
from lab.report.graph import svg_text
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]
RED, GREEN = "rgb(255, 179, 179)", "rgb(185, 236, 185)"  # graphpage.CSS: state-fail / state-ok fills
pytestmark = pytest.mark.skipif(bool(missing()), reason=missing() or "browser present")


def _rows() -> list[CheckResult]:
    ok = "reachable"
    return [
        CheckResult("node-1: the node and its 4 pods answer, source IP kept", ok, ok, "all answered"),
        CheckResult(
            "node-2: the node and its 4 pods answer, source IP kept", ok, "1 failed", "pod-2-1 172.16.0.16: timed out"
        ),
        CheckResult("node-3: the node and its 3 pods answer, source IP kept", ok, ok, "all answered"),
        CheckResult("encapsulation on the wire, node-1 -> node-3", "VXLAN (UDP 4789)", "VXLAN (UDP 4789)", ""),
        CheckResult("pod on every node -> ClusterIP Service web", ok, ok, ""),
    ]


def test_page_colours_and_clicks(tmp_path: Path) -> None:
    plan = make_plan(load(ROOT / "topologies/tunnel.yaml", {}))
    report = CheckReport("tunnel", "tunnel", "ovs-userspace", _rows())
    checks = graphpage.Checks(report, "synthetic rows of the unit test", "2025-01-01 00:00:00 UTC")
    page = tmp_path / "tunnel.html"
    page.write_text(graphpage.page(plan, svg_text(graph.dot(plan, services=True)), checks))
    with chromium() as driver:
        driver.get(page.as_uri())
        assert driver.find_element("id", "node-node-1").tag_name == "g"
        assert fill(driver, "node-node-2") == RED  # its row failed
        assert fill(driver, "pod-pod-2-1") == RED  # blamed by that row's detail
        assert fill(driver, "node-node-1") == GREEN and fill(driver, "node-node-3") == GREEN
        assert stroke(driver, "vxlan-node-1--node-3") == "rgb(26, 127, 26)"  # the tunnel the capture row proved
        assert fill(driver, "svc-web") == GREEN
        assert fill(driver, "host-peer") == "rgb(241, 241, 241)"  # no row names it: the picture's own colour
        assert "4 passed, 1 failed" in driver.find_element("id", "check-source").text

        driver.find_element("id", "node-node-1").click()
        assert driver.find_element("id", "info-title").text == "node-1 (check: ok)"
        panel = driver.find_element("id", "info-rows").text
        assert "192.168.0.2/24" in panel and "172.16.0.0/28" in panel and "node-1 on subnet0" in panel
        assert "kube-proxy: web" in panel

        driver.find_element("id", "pod-pod-2-1").click()
        assert driver.find_element("id", "info-title").text == "pod-2-1 (check: fail)"
        panel = driver.find_element("id", "info-rows").text
        assert "172.16.0.16/32" in panel and "default via 169.254.1.1 dev eth0" in panel

        driver.find_element("css selector", "#vxlan-node-1--node-3 > text").click()  # the tunnel's label
        assert "VNI 1" in driver.find_element("id", "info-rows").text.replace("VNI\n1", "VNI 1")

        failing = driver.find_elements("css selector", "#checks tbody tr.fail")
        assert len(failing) == 1 and "node-2" in failing[0].text
        failing[0].click()
        lit = driver.execute_script("return [...document.querySelectorAll('g.lit')].map(g => g.id);")
        assert lit == ["node-node-2", "pod-pod-2-1"] or sorted(lit) == ["node-node-2", "pod-pod-2-1"]
        assert fetched(driver) == []  # self-contained: nothing loaded besides the file itself
        shot = screenshot(driver, "graph-page-unit-tunnel.png")
    assert shot.stat().st_size > 10_000
