"""HTTPS Ingress on a real lab, per model: the rows pass with the lab's CA trusted, another CA is refused,
and `down` leaves no key behind. (Each Ingress fault failing exactly its rows: tests/integration/test_faults.py,
which runs the whole catalogue on the shipped topologies.)

tlstun is the shipped tunnel topology (web.example.com over HTTPS, plain HTTP redirected); tlsvpc the
shipped VPC one with plain HTTP refused instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, cli, shipped_lab

from lab.apply import tls
from lab.kernel.journal import lab_dir
from lab.observe import tlsprobe
from lab.render import nginx

LABS = {  # name -> (model, what plain HTTP to the TLS host does)
    "tlstun": ("tunnel", "redirect"),
    "tlsvpc": ("vpc", "refuse"),
}


def _ingresses(model: str, plain_http: str) -> list[dict]:
    rules = yaml.safe_load((ROOT / f"topologies/{model}.yaml").read_text())["ingresses"]
    assert rules[0]["host"] == "web.example.com" and rules[0]["tls"]
    if plain_http != "redirect":
        rules[0] = {**rules[0], "plain_http": plain_http}
    return rules


def _check(name: str) -> dict[str, dict]:
    res = cli("check", name, "--json", timeout=300)
    assert res.returncode in (0, 1), res.stderr
    return {r["scenario"]: r for r in json.loads(res.stdout)["results"]}


def _status(name: str) -> dict:
    return json.loads(cli("status", name, "--json", check=True).stdout)


def _rows_pass(name: str, plain_http: str) -> None:
    rows = _check(name)
    failed = [r for r in rows.values() if not r["ok"]]
    assert not failed, failed
    st = _status(name)
    client = next(h["ip"] for h in st["hosts"] if h["role"] == "internet-client")
    https = rows["Internet -> Ingress https://web.example.com/"]
    assert https["answered_by"].startswith("web-") and "certificate for web.example.com verified" in https["detail"]
    headers = rows["Ingress https://web.example.com/: X-Forwarded-Proto and -For seen by the pod"]
    assert headers["actual"] == f"proto https, for {client}"
    plain = rows[f"Internet -> Ingress web.example.com over plain HTTP ({plain_http})"]
    assert plain["actual"] == ("301 to https://web.example.com/whoami" if plain_http == "redirect" else "403")
    assert rows["Internet -> Ingress https, unknown SNI host"]["actual"] == (
        f"certificate for {nginx.DEFAULT_SERVER_NAME}, 404"
    )
    # the plain host next to it is still served in the clear
    assert rows["Internet -> Ingress http://api.example.com/api"]["answered_by"].startswith("api-")
    assert {(i["host"], i["tls"]) for i in st["ingresses"]} == {("web.example.com", True), ("api.example.com", False)}


def _another_ca_is_refused(name: str, tmp_path: Path) -> None:
    st = _status(name)
    client = next(h["netns"] for h in st["hosts"] if h["role"] == "internet-client")
    eip = next(h["eip"] for h in st["hosts"] if h["role"] == "elb")
    from cryptography.hazmat.primitives import serialization

    _, foreign = tls.make_ca(name)  # the same name, another key: only the lab's own CA may verify
    other = tmp_path / "foreign-ca.crt"
    other.write_bytes(foreign.public_bytes(serialization.Encoding.PEM))
    lab_ca = nginx.cert_files(lab_dir(name), nginx.CA_NAME)[0]
    control = tlsprobe.request(client, eip, 443, "web.example.com", "/whoami", cafile=lab_ca)
    assert control.http.ok and control.cert_names == ["web.example.com"], control.http.detail
    refused = tlsprobe.request(client, eip, 443, "web.example.com", "/whoami", cafile=other)
    assert refused.http.status is None and refused.tls_error.startswith("certificate refused"), refused.http.detail
    assert "unable to get local issuer certificate" in refused.tls_error


@pytest.mark.parametrize("name", sorted(LABS))
def test_https_ingress(name: str, tmp_path_factory, tmp_path: Path) -> None:
    model, plain_http = LABS[name]
    tls_dir = lab_dir(name) / nginx.TLS_DIR
    with shipped_lab(tmp_path_factory, name, model, ingresses=_ingresses(model, plain_http)):
        keys = sorted(tls_dir.glob("*.key"))
        assert [k.name for k in keys] == ["ca.key", "default-server.key", "host-web.example.com.key"]
        assert all(k.stat().st_mode & 0o077 == 0 for k in keys)
        _rows_pass(name, plain_http)
        _another_ca_is_refused(name, tmp_path)
    assert not tls_dir.exists() and not lab_dir(name).exists()  # down took the keys with the state directory
