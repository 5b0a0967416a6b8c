"""HTTPS (and header-reading HTTP) requests from inside a namespace, the certificate always verified.

Like `lab.observe.probe.http`: a socket this process opens in the client's
namespace, no curl and no helper process. TLS goes through Python's `ssl`
with only the given CA trusted and verification required, never turned
off; without `hostname_check` the chain is still verified and the
certificate's names are returned for the caller to judge (the default
server's certificate names no host a client asks for).
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.kernel import netns
from lab.observe import probe


@dataclass
class Exchange:
    """One request: the HTTP answer (probe.Http), its headers, and what TLS showed."""

    http: probe.Http
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    cert_names: list[str] = field(default_factory=list)  # the DNS names of the certificate the server presented
    tls_error: str = ""  # the handshake was refused: why (e.g. the certificate did not verify)
    tls_version: str = ""


def _names(cert: dict) -> list[str]:
    return [value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"]


def request(
    src_ns: str,
    ip: str,
    port: int,
    host: str,
    path: str = "/",
    *,
    cafile: Path | None = None,
    hostname_check: bool = True,
    timeout: float = 2.0,
) -> Exchange:
    """GET `path` with `Host: host` from `src_ns`; over TLS (SNI `host`, only `cafile` trusted) when given a CA."""
    t0 = time.monotonic()
    where = f"{'https' if cafile else 'http'}://{host} at {ip}:{port}"
    names: list[str] = []
    version = ""
    sock: socket.socket | None = None
    try:
        with netns.inside(src_ns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect((ip, port))
        if cafile:
            ctx = ssl.create_default_context(cafile=str(cafile))  # only the lab's CA: not the system's
            ctx.check_hostname = hostname_check
            ctx.verify_mode = ssl.CERT_REQUIRED
            sock = ctx.wrap_socket(sock, server_hostname=host)
            names = _names(sock.getpeercert() or {})
            version = sock.version() or ""
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ssl.SSLCertVerificationError as exc:
        reason = f"certificate refused: {exc.verify_message or exc}"
        return Exchange(probe.Http(None, {}, f"{where}: {reason}", time.monotonic() - t0), tls_error=reason)
    except ssl.SSLError as exc:
        reason = f"TLS failed: {exc.reason or exc}"
        return Exchange(probe.Http(None, {}, f"{where}: {reason}", time.monotonic() - t0), tls_error=reason)
    except OSError as exc:
        reason = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else str(exc))
        return Exchange(probe.Http(None, {}, f"{where}: {reason}", time.monotonic() - t0))
    finally:
        if sock is not None:
            sock.close()
    answer, headers = probe.parse_answer(b"".join(chunks), where, t0)
    return Exchange(answer, headers, names, tls_version=version)
