"""kube-proxy's health-check node port, as netexec serves it: 200 with the local endpoint count, 503 without.

The count is read from the lab's state file at every request (a few bytes, an
ELB probe a second), so it follows `cce-lab move` without a restart: `apply`
rewrites the file atomically (write, then rename), and a reader sees the old
or the new file, never half of one. The body is upstream's JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lab.netexec.protocol import parse_head, response


@dataclass(frozen=True)
class HealthCheck:
    """Which Service's count, on which node, read from which state file."""

    namespace: str
    service: str
    node: str
    state: Path

    def local_endpoints(self) -> int | None:
        """The node's local endpoints of the Service; None when the state file is unreadable."""
        try:
            doc = json.loads(self.state.read_text())
            return int(doc["services"][f"{self.namespace}/{self.service}"].get(self.node, 0))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


def parse(entry: object, where: str) -> HealthCheck:
    """A config entry's `health` object; ValueError names what is wrong."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: 'health' must be an object")
    values = [entry.get(k) for k in ("namespace", "service", "node", "state")]
    if not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{where}: 'health' needs namespace, service, node and state (non-empty strings)")
    namespace, service, node, state = values
    return HealthCheck(namespace, service, node, Path(state))  # type: ignore[arg-type]


def reply(check: HealthCheck, head: bytes) -> bytes:
    """Any path, as upstream's health server: 200 when the node has local endpoints, else 503."""
    req = parse_head(head)
    if req is None:
        return response(400, b"bad request\n")
    count = check.local_endpoints()
    if count is None:
        return response(500, b"health state unreadable\n")
    body = {
        "service": {"namespace": check.namespace, "name": check.service},
        "localEndpoints": count,
        "serviceProxyHealthy": True,
    }
    status = 200 if count > 0 else 503
    return response(status, json.dumps(body).encode(), "application/json", head_only=req.method == "HEAD")
