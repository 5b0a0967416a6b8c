"""Topology YAML read strictly: one document of plain mappings, lists and scalars, or one clear error. Pure.

YAML can do much more than a topology needs, and some of it hurts: aliases
expand into billions of nodes ("billion laughs"), deep nesting exhausts the
recursion limit, a repeated key silently overrides the first, and YAML 1.1
reads `010` as 8 and `1:30` as 90. So: no anchors, aliases, tags or merge
keys; one document; bounded depth and size; string keys, each once; integers
only as plain decimals (`010`, `0x10`, `1_000`, `1:30` stay strings, which a
count field then refuses); booleans only `true`/`false`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

from lab.errors import SpecError

MAX_DEPTH = 32  # mappings and lists inside each other
MAX_NODES = 1_000_000
MAX_INT_DIGITS = 18
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser where installed
_TYPED = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool")
_DROPPED = (*_TYPED, "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


class StrictLoader(_Base):  # type: ignore[misc, valid-type]
    """The lab's YAML loader: YAML 1.2-like scalars, string keys, no duplicates."""

    yaml_implicit_resolvers: ClassVar[dict] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"keys must be text, not {type(key).__name__} {str(key)[:40]!r}", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key[:60]!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _int(loader: StrictLoader, node: yaml.ScalarNode) -> int:
    digits = node.value.lstrip("+-")
    if len(digits) > MAX_INT_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"a number of {len(digits)} digits is beyond any count or port", node.start_mark
        )
    return int(node.value)


StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)\.[0-9]+$"), list("-+0123456789")
)
StrictLoader.add_constructor("tag:yaml.org,2002:int", _int)


def _where(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _scan(text: str, where: str) -> None:
    """Walk the parser's events (no nodes built) and refuse what a topology has no use for."""
    depth = nodes = documents = 0
    for event in yaml.parse(text, Loader=StrictLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise SpecError("topology", f"{where} holds more than one YAML document{_where(event.start_mark)}")
        elif isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise SpecError("topology", f"{where}: YAML anchors and aliases are not allowed{_where(event.start_mark)}")
        elif isinstance(event, yaml.NodeEvent):
            tag = getattr(event, "tag", None)
            if tag not in (None, "!"):
                raise SpecError(
                    "topology", f"{where}: YAML tags ({tag[:40]}) are not allowed{_where(event.start_mark)}"
                )
            nodes += 1
            if nodes > MAX_NODES:
                raise SpecError("topology", f"{where} has more than {MAX_NODES} values")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise SpecError(
                        "topology", f"{where} nests deeper than {MAX_DEPTH} levels{_where(event.start_mark)}"
                    )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse(text: str, where: str) -> Any:
    """The data of one YAML topology document; SpecError("topology", ...) on anything else."""
    try:
        _scan(text, where)
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = _where(getattr(exc, "problem_mark", None))
        raise SpecError("topology", f"{where} is not valid YAML: {problem}{at}") from None
