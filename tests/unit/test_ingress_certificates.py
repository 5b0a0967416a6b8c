"""The lab's private CA (lab.apply.tls), without root: files and modes, names, and real TLS handshakes
over a socket pair with Python's ssl, the lab CA trusted and nothing else."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lab.apply import tls
from lab.kernel import journal as journal_module
from lab.kernel.journal import Journal
from lab.plan import Plan, make_plan
from lab.render import nginx
from lab.spec import build_spec


def _plan() -> Plan:
    svc = {"name": "web", "type": "NodePort", "selector": {"app": "web"}, "port": 80}
    rules = [
        {"host": "a.example.com", "service": "web", "port": 80, "tls": True},
        {"host": "a.example.com", "path": "/v2", "service": "web", "port": 80, "tls": True},
        {"host": "b.example.com", "service": "web", "port": 80, "tls": True},
        {"host": "plain.example.com", "service": "web", "port": 80},
    ]
    data = {"name": "t", "model": "vpc", "internet": True, "workloads": [{"name": "web"}], "services": [svc]}
    return make_plan(build_spec({**data, "ingresses": rules}))


@pytest.fixture
def made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(journal_module, "STATE_ROOT", tmp_path)
    journal = Journal("t")
    journal.start(None)
    tls.make(_plan(), journal)
    return journal.dir


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_files_keys_0600_and_recorded(made: Path) -> None:
    stems = [nginx.CA_NAME, nginx.DEFAULT_SERVER, nginx.host_stem("a.example.com"), nginx.host_stem("b.example.com")]
    expected = {p.name for s in stems for p in nginx.cert_files(made, s)}
    assert {p.name for p in (made / nginx.TLS_DIR).iterdir()} == expected  # no certificate for the plain host
    assert stat.S_IMODE((made / nginx.TLS_DIR).stat().st_mode) == 0o700
    for s in stems:
        crt, key = nginx.cert_files(made, s)
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        serialization.load_pem_private_key(key.read_bytes(), None)
        assert _cert(crt)
    assert {"tls_dir": str(made / nginx.TLS_DIR)} in Journal("t").entries()


def test_each_host_certificate_names_its_host_only_and_is_signed_by_the_ca(made: Path) -> None:
    ca = _cert(nginx.cert_files(made, nginx.CA_NAME)[0])
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for stem, host in [
        (nginx.host_stem("a.example.com"), "a.example.com"),
        (nginx.DEFAULT_SERVER, nginx.DEFAULT_SERVER_NAME),
    ]:
        cert = _cert(nginx.cert_files(made, stem)[0])
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [host]
        assert cert.issuer == ca.subject
        cert.verify_directly_issued_by(ca)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_two_labs_get_two_cas(made: Path) -> None:
    _, other = tls.make_ca("t")
    assert other.public_key() != _cert(nginx.cert_files(made, nginx.CA_NAME)[0]).public_key()


def _handshake(made: Path, stem: str, sni: str, cafile: Path, check_hostname: bool = True) -> tuple[str, list]:
    """A TLS server presenting `stem`'s certificate on one end of a socket pair, a verifying client on the other."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(*nginx.cert_files(made, stem))
    client_ctx = ssl.create_default_context(cafile=str(cafile))
    client_ctx.check_hostname = check_hostname
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)

    def serve() -> None:
        try:
            with server_ctx.wrap_socket(a, server_side=True) as s:
                s.sendall(b"ok")
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_ctx.wrap_socket(b, server_hostname=sni) as c:
            names = [v for k, v in c.getpeercert().get("subjectAltName", ()) if k == "DNS"]
            return c.recv(2).decode(), names
    finally:
        b.close()
        thread.join(5)


def test_a_client_trusting_the_lab_ca_verifies_the_host(made: Path) -> None:
    ca = nginx.cert_files(made, nginx.CA_NAME)[0]
    assert _handshake(made, nginx.host_stem("a.example.com"), "a.example.com", ca) == ("ok", ["a.example.com"])


def test_the_wrong_name_is_refused(made: Path) -> None:
    ca = nginx.cert_files(made, nginx.CA_NAME)[0]
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(made, nginx.host_stem("b.example.com"), "a.example.com", ca)


def test_another_ca_is_refused(made: Path, tmp_path: Path) -> None:
    _, foreign = tls.make_ca("other")
    other = tmp_path / "other-ca.crt"
    other.write_bytes(foreign.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        _handshake(made, nginx.host_stem("a.example.com"), "a.example.com", other)


def test_the_default_server_certificate_verifies_by_chain_and_names_no_host(made: Path) -> None:
    ca = nginx.cert_files(made, nginx.CA_NAME)[0]
    got = _handshake(made, nginx.DEFAULT_SERVER, "unknown.example.com", ca, check_hostname=False)
    assert got == ("ok", [nginx.DEFAULT_SERVER_NAME])
