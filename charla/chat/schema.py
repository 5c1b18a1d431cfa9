"""Frame schemas are TypedDicts; `check` says whether a frame fits one: every required key, no other, right types.

Every schema is closed, as pydantic's `extra="forbid"`: a key it does not declare is an
error. `int` refuses `True`, as JSON tells numbers and booleans apart. A constraint beyond
the type goes in `Annotated[..., Check(...)]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints


class SchemaError(ValueError):
    """A frame that does not fit its schema; the text lists every problem."""


@dataclass(frozen=True)
class Check:
    """A constraint beyond the type: `test(value)` must be true; `says` describes it."""

    test: Any
    says: str


def _is_iso_datetime(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


ISO_DATETIME = Check(_is_iso_datetime, "an ISO 8601 time with its time zone")
POSITIVE = Check(lambda value: value > 0, "positive")
NOT_NEGATIVE = Check(lambda value: value >= 0, "zero or more")


def fields(schema: type) -> dict[str, Any]:
    """A schema's keys and their types (NotRequired and Required unwrapped)."""
    hints = get_type_hints(schema, include_extras=True)
    return {key: _unwrap(hint) for key, hint in hints.items()}


def _unwrap(hint: Any) -> Any:
    while get_origin(hint) in (NotRequired, Required):
        (hint,) = get_args(hint)
    return hint


def frame_type(schema: type) -> str:
    """The `type` a frame schema declares (its `type: Literal[...]`)."""
    (name,) = get_args(fields(schema)["type"])
    return name


def registry(*schemas: type) -> dict[str, type]:
    """Frame schemas by frame type; two schemas for one type is a mistake."""
    by_type = {frame_type(schema): schema for schema in schemas}
    assert len(by_type) == len(schemas), "two schemas declare one frame type"
    return by_type


def problems(value: Any, hint: Any, where: str = "frame") -> list[str]:
    """What is wrong with `value` as an instance of `hint` (an empty list: nothing)."""
    origin = get_origin(hint)
    if origin is Annotated:
        inner, *metadata = get_args(hint)
        found = problems(value, inner, where)
        if not found:
            found = [f"{where}: not {check.says}" for check in metadata if not check.test(value)]
        return found
    if origin in (Union, UnionType):
        arms = [problems(value, arm, where) for arm in get_args(hint)]
        return [] if any(not arm for arm in arms) else [f"{where}: {value!r} fits none of {hint}"]
    if origin is Literal:
        if any(type(value) is type(choice) and value == choice for choice in get_args(hint)):
            return []
        return [f"{where}: {value!r} is not one of {get_args(hint)}"]
    if origin is list:
        if type(value) is not list:
            return [f"{where}: not a list"]
        (item,) = get_args(hint)
        return [p for i, v in enumerate(value) for p in problems(v, item, f"{where}[{i}]")]
    if origin is dict:
        if type(value) is not dict:
            return [f"{where}: not an object"]
        key_hint, item = get_args(hint)
        return [p for k, v in value.items() for p in problems(k, key_hint, where) + problems(v, item, f"{where}.{k}")]
    if isinstance(hint, type) and hasattr(hint, "__required_keys__"):  # a TypedDict
        return _typed_dict_problems(value, hint, where)
    if hint in (None, NoneType):
        return [] if value is None else [f"{where}: {value!r} is not null"]
    if hint in (int, bool, str, float):
        return [] if type(value) is hint else [f"{where}: {value!r} is not {hint.__name__}"]
    raise TypeError(f"{where}: schemas do not use {hint!r}")


def _typed_dict_problems(value: Any, schema: type, where: str) -> list[str]:
    if type(value) is not dict:
        return [f"{where}: not an object"]
    declared = fields(schema)
    found = [f"{where}: missing key {key!r}" for key in sorted(schema.__required_keys__ - value.keys())]
    found += [f"{where}: key {key!r} is not in {schema.__name__}" for key in sorted(value.keys() - declared.keys())]
    for key, hint in declared.items():
        if key in value:
            found += problems(value[key], hint, f"{where}.{key}")
    return found


def check(value: Any, schema: Any) -> None:
    """Raise SchemaError unless `value` fits `schema`."""
    found = problems(value, schema)
    if found:
        raise SchemaError("; ".join(found))


def check_frame(frame: Any, schemas: dict[str, type], default_type: str | None = None) -> type:
    """Check a frame against the schema of its `type` (a type with no schema is an error); returns the schema."""
    frame_type_ = frame.get("type", default_type) if type(frame) is dict else None
    schema = schemas.get(frame_type_) if isinstance(frame_type_, str) else None
    if schema is None:
        raise SchemaError(f"no schema for a frame of type {frame_type_!r}: {frame!r}")
    check(frame, schema)
    return schema
