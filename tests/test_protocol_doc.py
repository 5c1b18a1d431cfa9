"""docs/protocol.md cannot drift from the frame schemas: every frame, key, type and error code in both."""

import re
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

import pytest

from charla.chat.events import SERVER_FRAMES, ErrorCode, MessageObject
from charla.chat.protocol import CLIENT_FRAMES
from charla.chat.schema import fields
from charla.notifications.protocol import NOTIFICATION_FRAMES

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
ALL_FRAME_TYPES = set(SERVER_FRAMES) | set(CLIENT_FRAMES) | set(NOTIFICATION_FRAMES)


def section(title: str) -> str:
    """The text under a `## title` heading, up to the next one."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"docs/protocol.md has no section {title!r}"
    return match.group(1)


def first_table(text: str) -> dict[str, list[str]]:
    """The first table's rows, by their first cell's backticked name: {name: [the other cells]}."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([^`]+)`", cells[0])
        if name:  # the header and the separator have no backticked first cell
            rows[name.group(1)] = cells[1:]
    assert rows, "no table found"
    return rows


def parts(hint) -> list:
    """A type and every type inside it."""
    origin = get_origin(hint)
    if origin is Literal:
        return [hint]
    args = get_args(hint)[:1] if origin is Annotated else get_args(hint)
    return [hint] + [part for arg in args for part in parts(arg)]


def nested_schemas(schema: type) -> list[type]:
    return [h for hint in fields(schema).values() for h in parts(hint) if hasattr(h, "__required_keys__")]


def documented_apart(schema: type) -> bool:
    """The message object has its own table, and a frame inside a frame its own row."""
    return schema is MessageObject or "type" in fields(schema)


def literal_values(schema: type) -> set[str]:
    return {
        value
        for hint in fields(schema).values()
        for h in parts(hint)
        if get_origin(h) is Literal
        for value in get_args(h)
    }


def check_frame_table(rows: dict[str, list[str]], schemas: dict[str, type]) -> None:
    assert set(rows) == set(schemas), "the table and the schemas list different frames"
    for frame_type, schema in schemas.items():
        keys_cell = rows[frame_type][0]
        named = {token for token in re.findall(r"`([^`]+)`", keys_cell) if re.fullmatch(r"\w+", token)}
        keys = set(fields(schema)) - {"type"}
        assert keys <= named, f"{frame_type}: the table does not name {sorted(keys - named)}"
        inner = {key for nested in nested_schemas(schema) if not documented_apart(nested) for key in fields(nested)}
        for key in inner:
            assert re.search(rf"\b{key}\b", keys_cell), f"{frame_type}: the table does not name {key}"
        known = keys | inner | literal_values(schema) | ALL_FRAME_TYPES
        assert named <= known, f"{frame_type}: the table names keys no schema has: {sorted(named - known)}"


@pytest.mark.parametrize(
    ("title", "schemas"),
    [
        ("Server → client", SERVER_FRAMES),
        ("Client → server", CLIENT_FRAMES),
        ("The notifications socket", NOTIFICATION_FRAMES),
    ],
    ids=["chat-server", "chat-client", "notifications"],
)
def test_every_frame_and_key_of_a_socket_is_in_its_table_and_nothing_else(title, schemas):
    check_frame_table(first_table(section(title)), schemas)


DOC_TYPES = {int: "int", str: "string", bool: "bool"}


def doc_type(hint) -> str:
    if get_origin(hint) is Annotated:
        return doc_type(get_args(hint)[0])
    args = get_args(hint)
    if args and type(None) in args:
        (other,) = [a for a in args if a is not type(None)]
        return f"{doc_type(other)} or null"
    return DOC_TYPES[hint]


def test_message_object_table_lists_exactly_its_keys_with_their_types():
    rows = first_table(section("The message object"))
    declared = fields(MessageObject)
    assert set(rows) == set(declared)
    for key, hint in declared.items():
        assert rows[key][0] == doc_type(hint), key


def test_error_codes_table_lists_exactly_the_codes_the_error_frame_may_carry():
    assert set(first_table(section("Errors"))) == set(get_args(ErrorCode))


def test_the_check_notices_a_key_missing_from_the_doc():
    rows = first_table(section("Server → client"))
    rows["mensaje_eliminado"] = ["`id`", "a message was deleted"]
    with pytest.raises(AssertionError, match="seq"):
        check_frame_table(rows, SERVER_FRAMES)


def test_the_check_notices_a_frame_the_schemas_do_not_have():
    rows = first_table(section("Client → server"))
    rows["bailar"] = ["`pasos`", "dance"]
    with pytest.raises(AssertionError, match="different frames"):
        check_frame_table(rows, CLIENT_FRAMES)
