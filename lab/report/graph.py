"""`cce-lab graph` output: the DOT text laid out by Graphviz's `dot` (SVG, PNG), and where it is written.

The DOT and Mermaid text come from the pure `lab.render.graph`; this module
is the part that runs a program (`dot`, through the graphviz binding's
`pipe`) and touches files. Errors the user can fix (no `dot` installed, an
output path that cannot be written) are one-line `UsageError`s.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import graphviz

from lab.errors import LabError, UsageError

FORMATS = ("svg", "png", "dot", "mermaid", "html")
BINARY = {"svg": False, "png": True, "dot": False, "mermaid": False, "html": False}


def layout(source: str, fmt: str) -> bytes:
    """Run `dot -T<fmt>` on the DOT source (svg or png)."""
    if shutil.which("dot") is None:
        raise UsageError(
            f"--format {fmt}: needs Graphviz's dot program, which is not installed "
            "('make setup' installs it; --format dot or mermaid need nothing)"
        )
    try:
        return graphviz.Source(source).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound as exc:
        raise UsageError(f"--format {fmt}: Graphviz's dot could not be run: {exc}") from exc
    except graphviz.CalledProcessError as exc:
        stderr = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        raise LabError(f"dot failed (exit {exc.returncode}): {stderr[-1] if stderr else 'no message'}") from exc


def svg_text(source: str) -> str:
    """The SVG of the DOT source, as text to inline in a page (no XML prolog or DOCTYPE)."""
    svg = layout(source, "svg").decode()
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def check_output(path: str | None) -> Path | None:
    """-o PATH: its folder must exist and be writable, and PATH must not be a folder (checked before any work)."""
    if path is None:
        return None
    if not path:
        raise UsageError("-o: the output path is empty")
    out = Path(path)
    if out.is_dir():
        raise UsageError(f"-o {path}: is a directory, give a file name")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"-o {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UsageError(f"-o {path}: cannot be written (permission denied)")
    return out


def write(out: Path, data: bytes | str) -> None:
    try:
        if isinstance(data, str):
            out.write_text(data)
        else:
            out.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"-o {out}: cannot be written ({exc.strerror or exc})") from exc


def stamp(epoch: float | None = None) -> str:
    """A local timestamp for the page ("2025-12-02 01:10:00 UTC")."""
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(epoch))
