"""The lab's own private CA and the Ingress's certificates, made at `up` in the lab's state directory.

One CA per lab (never trusted by the host: only `check` and a trainee who
passes its certificate trust it), a certificate per TLS host (its name as
the only SAN) and one for the default server, all signed by it. Keys are
ECDSA P-256, written 0600; `down` removes the whole state directory, keys
with it. Where the files go is `lab.render.nginx`'s (pure) business.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lab.kernel.journal import Journal
from lab.plan.model import Plan
from lab.render import nginx

VALID = datetime.timedelta(days=30)  # a lab lives hours; a month leaves room and still expires
SKEW = datetime.timedelta(hours=1)  # not_valid_before a little in the past


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Created 0600 from the start: the key is never readable by others, not even for a moment."""
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT


def _name(common: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cce-lab"), x509.NameAttribute(NameOID.COMMON_NAME, common)]
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def make_ca(lab: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"cce-lab {lab} Ingress CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - SKEW)
        .not_valid_after(_now() + VALID)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, host: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for `host` (its only subjectAltName), signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - SKEW)
        .not_valid_after(_now() + VALID)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )  # digitalSignature (ECDHE)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _save(workdir: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    crt_path, key_path = nginx.cert_files(workdir, stem)
    _write_key(key_path, key)
    crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make(plan: Plan, journal: Journal) -> None:
    """The CA, the default server's certificate and one per TLS host, under the state directory's tls/."""
    hosts = nginx.tls_hosts(plan)
    if not hosts:
        return
    tls_dir = journal.dir / nginx.TLS_DIR
    journal.add(tls_dir=str(tls_dir))  # a record of it; `down` removes it with the state directory
    tls_dir.mkdir(mode=0o700, exist_ok=True)
    ca_key, ca = make_ca(plan.name)
    _save(journal.dir, nginx.CA_NAME, ca_key, ca)
    for stem, host in ((nginx.DEFAULT_SERVER, nginx.DEFAULT_SERVER_NAME), *((nginx.host_stem(h), h) for h in hosts)):
        _save(journal.dir, stem, *issue(ca_key, ca, host))
