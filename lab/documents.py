"""The documents passed between stages (plan, status, check results, bench results): one way to save and load them.

Each document type is a pydantic model or dataclass carrying `schema_version`;
`dump` gives its JSON form, `load` validates a JSON form back into the type
(a document of another schema version is refused with a clear message),
`schema` the JSON Schema README documents.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from lab.errors import LabError

T = TypeVar("T")


@functools.cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def dump(doc: object) -> dict[str, Any]:
    """The JSON form (plain dicts, lists, strings and numbers) of a document."""
    return _adapter(type(doc)).dump_python(doc, mode="json")


def load(cls: type[T], data: Any, what: str = "document") -> T:
    """Validate `data` (parsed JSON) into `cls`; a LabError names what is wrong."""
    expected = _default_version(cls)
    found = data.get("schema_version") if isinstance(data, dict) else None
    if expected is not None and found != expected:
        raise LabError(f"{what} has schema_version {found!r}; this cce-lab reads version {expected}")
    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or what
        raise LabError(f"{what} is not valid: {where}: {first['msg']}") from None


def schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of a document type."""
    return _adapter(cls).json_schema(mode="serialization")


def _default_version(cls: type) -> int | None:
    fields = getattr(cls, "__pydantic_fields__", None) or getattr(cls, "model_fields", {})
    info = fields.get("schema_version")
    return None if info is None else info.default
