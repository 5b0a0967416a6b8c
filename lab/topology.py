"""Reading a topology file: checked YAML text, or a Python script run in a child process with a time limit.

The spec stage (`lab.spec`) is pure: it validates data. Getting the data is
I/O and, for a script, running someone's code, so it lives here: the file
must be a regular UTF-8 text file of bounded size (a FIFO, a directory,
UTF-16 or a binary is refused before it is read to the end); a script runs in
a forked child with its stdout sent to stderr (so `plan --json` stays JSON),
is killed after SCRIPT_SECONDS, and whatever it raises, `sys.exit()` included,
becomes one error naming the script.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import multiprocessing
import os
import stat
import sys
import traceback
from pathlib import Path
from typing import Any

from lab.errors import SpecError
from lab.spec import Spec, build_spec
from lab.spec.yamltext import parse

MAX_BYTES = 4 << 20  # 4 MiB: a 2,000-node topology with every Service listed is far smaller
SCRIPT_SECONDS = 10.0
_fork = multiprocessing.get_context("fork")


def _regular_file(path: Path, what: str = "topology") -> os.stat_result:
    if not str(path) or str(path) == ".":
        hint = "name a .yaml topology or a .py topology script" if what == "topology" else f"name the {what} file"
        raise SpecError(what, f"no file given: {hint}")
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SpecError(what, f"file {path} does not exist") from None
    except OSError as exc:
        raise SpecError(what, f"{path} cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecError(what, f"{path} is a directory, not a {what} file")
    if not stat.S_ISREG(info.st_mode):
        raise SpecError(what, f"{path} is not a regular file (a FIFO, socket or device is never read)")
    if info.st_size > MAX_BYTES:
        raise SpecError(what, f"{path} is {info.st_size >> 20} MiB; a {what} file is at most {MAX_BYTES >> 20} MiB")
    return info


def checked_text(path: Path, what: str = "topology") -> str:
    """The file's text: a regular UTF-8 file of at most MAX_BYTES, else one SpecError naming `what`."""
    _regular_file(path, what)
    with path.open("rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise SpecError(what, f"{path} grew past {MAX_BYTES >> 20} MiB while it was read")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        raise SpecError(what, f"{path} is UTF-16 or UTF-32 text; save it as UTF-8")
    if b"\0" in raw:
        raise SpecError(what, f"{path} holds NUL bytes: a {what} is text (is it a binary file?)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(what, f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def load(path: str | Path, params: dict[str, str] | None = None) -> Spec:
    """Read a topology file: YAML (`.yaml`/`.yml`) or a Python script (`.py`).

    A script defines `topology(**params)` returning a mapping or a Spec;
    `params` are the CLI's `--param KEY=VALUE` pairs, passed as strings.
    """
    path = Path(path)
    _regular_file(path)
    if path.suffix == ".py":
        return build_spec(run_script(path, params or {}))
    if path.suffix not in (".yaml", ".yml"):
        raise SpecError("topology", f"{path}: use a .yaml/.yml file or a .py topology script")
    if params:
        raise SpecError("param", "--param applies to Python topology scripts only")
    return build_spec(parse(checked_text(path), str(path)))


def run_script(path: Path, params: dict[str, str]) -> Any:
    """`topology(**params)` of the script at `path`, run in a child process; its result as plain data."""
    checked_text(path)  # the same file checks as YAML: text, bounded
    recv, send = _fork.Pipe(duplex=False)
    child = _fork.Process(target=_script_child, args=(send, str(path), params), daemon=True)
    child.start()
    send.close()
    try:
        if not recv.poll(SCRIPT_SECONDS):
            raise SpecError("topology", f"{path}: topology() gave no result within {SCRIPT_SECONDS:g} s (stopped)")
        try:
            kind, value = recv.recv()
        except EOFError:
            child.join(2)  # the pipe closes as the child dies, a moment before it can be reaped
            raise SpecError(
                "topology", f"{path}: the script died without a result (exit code {child.exitcode})"
            ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(2)
        recv.close()
    if kind == "error":
        field, rule = value
        raise SpecError(field, rule)
    return value


def _script_child(conn: Any, path: str, params: dict[str, str]) -> None:
    """In the child: load and call the script; send ("ok", data) or ("error", (field, rule))."""
    with contextlib.suppress(OSError):
        os.dup2(2, 1)  # the script's prints go to stderr: plan --json's stdout stays JSON
    sys.stdout = sys.stderr
    try:
        conn.send(("ok", _call(Path(path), params)))
    except SpecError as exc:
        conn.send(("error", (exc.field, exc.rule)))
    except BaseException as exc:
        conn.send(("error", ("topology", f"{path}{_line(exc, path)}: {_describe(exc)}")))
    finally:
        conn.close()


def _call(path: Path, params: dict[str, str]) -> Any:
    mod_spec = importlib.util.spec_from_file_location(f"cce_topology_{path.stem}", path)
    assert mod_spec and mod_spec.loader
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except BaseException as exc:
        raise SpecError("topology", f"{path}{_line(exc, str(path))} failed to load: {_describe(exc)}") from None
    function = getattr(module, "topology", None)
    if not callable(function):
        raise SpecError("topology", f"{path} must define a function topology(**params)")
    try:
        inspect.signature(function).bind(**params)
    except TypeError as exc:
        raise SpecError("param", f"{path}: {exc} (given: {', '.join(params) or 'no parameters'})") from None
    except ValueError:  # no signature to check (a builtin): let the call tell
        pass
    data = function(**params)
    if isinstance(data, Spec):
        return data.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return data


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the script called sys.exit({exc.code!r}); a topology script must return its topology"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


def _line(exc: BaseException, path: str) -> str:
    """`, line N` of the script's own frame where the exception came from, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return f", line {frames[-1].lineno}" if frames else ""
