"""The HTML page of `cce-lab graph --format html`: one self-contained file a trainer can mail or open offline.

The picture is Graphviz's SVG inlined as is; the data (each element's rows,
the check rows and the colours they give) is one JSON block the page's own
script reads; CSS and JS are inline too, so the page fetches nothing. Clicking
an element shows its addresses, interfaces and routes; clicking a check row
outlines the elements it speaks of.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from lab.observe.results import CheckReport
from lab.plan.model import Plan
from lab.render import graphinfo
from lab.report import graphchecks


@dataclass(frozen=True)
class Checks:
    """The check results shown on the page and where they came from."""

    report: CheckReport
    source: str  # "checks run by cce-lab graph" or "cce-lab check --json file F"
    when: str  # a timestamp


CSS = """
body { font-family: "DejaVu Sans", sans-serif; margin: 0; color: #222; }
header { padding: 8px 14px; background: #f4f4f4; border-bottom: 1px solid #ccc; }
header h1 { font-size: 17px; margin: 0 0 4px 0; }
header p { margin: 2px 0; font-size: 13px; }
#layout { display: flex; height: calc(100vh - 80px); }
#picture { flex: 3; overflow: auto; border-right: 1px solid #ccc; }
#side { flex: 1.3; overflow: auto; padding: 8px 12px; font-size: 12px; min-width: 320px; }
#picture svg { display: block; }
g.node, g.edge { cursor: pointer; }
g.node.state-ok > polygon, g.node.state-ok > ellipse, g.node.state-ok > path { fill: #b9ecb9; stroke: #1a7f1a; }
g.node.state-fail > polygon, g.node.state-fail > ellipse, g.node.state-fail > path { fill: #ffb3b3; stroke: #c40000; }
g.edge.state-ok > path { stroke: #1a7f1a; stroke-width: 3; }
g.edge.state-fail > path { stroke: #c40000; stroke-width: 3; }
g.edge.state-fail > polygon { fill: #c40000; stroke: #c40000; }
g.selected > polygon, g.selected > ellipse, g.selected > path { stroke: #000; stroke-width: 3; }
g.lit > polygon, g.lit > ellipse, g.lit > path { stroke: #ff00ff; stroke-width: 4; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #e2e2e2; padding: 2px 4px; text-align: left; vertical-align: top; }
#info-title { font-size: 14px; margin: 4px 0; }
#checks tr { cursor: pointer; }
#checks tr.ok td.verdict { color: #1a7f1a; font-weight: bold; }
#checks tr.fail td.verdict { color: #c40000; font-weight: bold; }
#checks tr.fail { background: #fff0f0; }
#checks tr.lit { outline: 2px solid #ff00ff; }
.legend span { display: inline-block; padding: 0 6px; margin-right: 6px; border: 1px solid #999; }
"""

JS = """
(function () {
  const data = JSON.parse(document.getElementById('cce-data').textContent);
  const byId = (id) => document.getElementById(id);
  for (const [id, state] of Object.entries(data.states)) {
    const el = byId(id);
    if (el) { el.classList.add('state-' + state); el.dataset.state = state; }
  }
  function show(id) {
    const entry = data.info[id];
    if (!entry) return;
    document.querySelectorAll('g.selected').forEach((g) => g.classList.remove('selected'));
    const el = byId(id);
    if (el) el.classList.add('selected');
    byId('info-title').textContent = entry.title + (data.states[id] ? ' (check: ' + data.states[id] + ')' : '');
    const body = byId('info-rows');
    body.replaceChildren();
    for (const [key, value] of entry.rows) {
      const tr = document.createElement('tr');
      const k = document.createElement('th'); k.textContent = key;
      const v = document.createElement('td'); v.textContent = value;
      tr.append(k, v); body.append(tr);
    }
    const named = data.rows.filter((r) => r.elements.includes(id));
    const list = byId('info-checks');
    list.textContent = named.length ? named.length + ' check rows: ' +
      named.map((r) => (r.ok ? 'PASS ' : 'FAIL ') + r.scenario).join(' | ') : '';
  }
  for (const id of Object.keys(data.info)) {
    const el = byId(id);
    if (el) el.addEventListener('click', (ev) => { ev.stopPropagation(); show(id); });
  }
  document.querySelectorAll('#checks tbody tr').forEach((tr, i) => {
    tr.addEventListener('click', () => {
      document.querySelectorAll('.lit').forEach((x) => x.classList.remove('lit'));
      tr.classList.add('lit');
      for (const id of data.rows[i].elements) { const el = byId(id); if (el) el.classList.add('lit'); }
    });
  });
  window.cceShow = show;
})();
"""


def _checks_table(rows: list[dict[str, object]]) -> str:
    body = []
    for r in rows:
        cls = "ok" if r["ok"] else "fail"
        body.append(
            f'<tr class="{cls}"><td class="verdict">{"PASS" if r["ok"] else "FAIL"}</td>'
            f"<td>{html.escape(str(r['scenario']))}</td><td>{html.escape(str(r['expected']))}</td>"
            f"<td>{html.escape(str(r['actual']))}</td></tr>"
        )
    head = "<thead><tr><th></th><th>scenario</th><th>expected</th><th>actual</th></tr></thead>"
    return f'<table id="checks">{head}<tbody>{"".join(body)}</tbody></table>'


def page(plan: Plan, svg: str, checks: Checks | None = None) -> str:
    """The whole page as one string: inline SVG, CSS, JS and data; no external reference."""
    rows = graphchecks.rows(checks.report, plan) if checks else []
    states = graphchecks.states(checks.report, plan) if checks else {}
    data = {"info": graphinfo.info(plan), "rows": rows, "states": states}
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # never ends the script element early
    datapath = plan.datapath
    if checks:
        failed = sum(1 for r in rows if not r["ok"])
        verdict = f"{len(rows) - failed} passed, {failed} failed"
        origin = f"Check results: {html.escape(checks.source)}, {html.escape(checks.when)}: {verdict}"
        if checks.report.name != plan.name:
            origin += f" (rows of lab {html.escape(checks.report.name)})"
        datapath = checks.report.datapath or datapath
    else:
        origin = "No check results on this page (cce-lab graph LAB --format html runs them; or --check FILE)."
    legend = (
        '<span style="background:#b9ecb9">every row naming it passed</span>'
        '<span style="background:#ffb3b3">a row naming it failed</span>'
        "<span>no row names it</span> click an element for its addresses; a check row for what it probed"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>cce-lab graph: {html.escape(plan.name)}</title>
<style>{CSS}</style></head>
<body>
<header><h1>cce-lab {html.escape(plan.name)}: {html.escape(plan.model)} model, datapath {html.escape(datapath)}</h1>
<p id="check-source">{origin}</p><p class="legend">{legend}</p></header>
<div id="layout"><div id="picture">{svg}</div>
<div id="side"><h2 id="info-title">Click an element</h2>
<table><tbody id="info-rows"></tbody></table><p id="info-checks"></p>
<h2>Checks</h2>{_checks_table(rows) if checks else "<p>none</p>"}</div></div>
<script type="application/json" id="cce-data">{blob}</script>
<script>{JS}</script>
</body></html>
"""
