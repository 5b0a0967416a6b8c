"""netexec's answers, as bytes: request parsing and the HTTP/UDP replies every pod gives. Pure.

HTTP/1.1, one request per connection (`Connection: close`), GET or HEAD. The
route is the LAST path segment, so an Ingress may forward `/app1/whoami`:
`hostname` (the target's name), `clientip` (peer `IP:PORT` as the socket saw
it), `whoami` (JSON: hostname, client, xff, proto, host, path: xff and proto are the
X-Forwarded-For and X-Forwarded-Proto headers an Ingress adds). A path of at most one
segment with no route name (`/`, `/app1`, `/app1/`) means `hostname`; any other
path is 404. UDP datagrams `hostname`, `clientip`, `whoami` get the same answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEAD = 8192  # bytes of request line + headers; more is a bad request
ROUTES = ("hostname", "clientip", "whoami")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def peer_text(peer: tuple) -> str:
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def answer(
    name: str,
    route: str,
    client: str,
    xff: str | None = None,
    host: str | None = None,
    path: str | None = None,
    proto: str | None = None,
) -> tuple[bytes, str]:
    """Body and content type for a route: shared by HTTP and UDP so both tell the same story."""
    if route == "hostname":
        return name.encode(), "text/plain; charset=utf-8"
    if route == "clientip":
        return client.encode(), "text/plain; charset=utf-8"
    doc = {"hostname": name, "client": client, "xff": xff, "proto": proto, "host": host, "path": path}
    return json.dumps(doc).encode(), "application/json"


def route_of(path: str) -> str | None:
    """Route named by the last path segment; `/`, `/app1` and `/app1/` mean hostname; else None (404)."""
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1] in ROUTES:
        return segments[-1]
    return "hostname" if len(segments) <= 1 else None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "


def parse_head(head: bytes) -> Request | None:
    """Parse a request line and headers (without the blank line); None if malformed."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper():
        return None
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1") or not target:
        return None
    if target.startswith("/"):
        path = target.split("?", 1)[0].split("#", 1)[0]
    elif target.startswith(("http://", "https://")):  # absolute form, as sent to proxies
        path = urlsplit(target).path or "/"
    else:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if not sep or not key or key != key.strip() or any(c <= " " or c > "~" for c in key):
            return None
        key, value = key.lower(), value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return Request(method, path, headers)


def response(status: int, body: bytes, ctype: str = "text/plain; charset=utf-8", head_only: bool = False) -> bytes:
    extra = "Allow: GET, HEAD\r\n" if status == 405 else ""
    start = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    return start.encode() + (b"" if head_only else body)


def http_reply(name: str, peer: str, head: bytes) -> bytes:
    """The full HTTP response to one request head (request line + headers, no blank line)."""
    req = parse_head(head)
    if req is None:
        return response(400, b"bad request\n")
    if req.method not in ("GET", "HEAD"):
        return response(405, b"method not allowed: use GET\n")
    head_only = req.method == "HEAD"
    route = route_of(req.path)
    if route is None:
        return response(404, f"not found: {req.path} (routes: / {' '.join(ROUTES)})\n".encode(), head_only=head_only)
    headers = req.headers
    xff, proto = headers.get("x-forwarded-for"), headers.get("x-forwarded-proto")
    body, ctype = answer(name, route, peer, xff, headers.get("host"), req.path, proto)
    return response(200, body, ctype, head_only=head_only)


def udp_reply(name: str, peer: str, data: bytes) -> bytes:
    command = data.decode("utf-8", errors="replace").strip()
    if command in ROUTES:
        return answer(name, command, peer)[0]
    return b"unknown command"
