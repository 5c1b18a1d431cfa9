"""The protocol fuzz: client frames generated from their schemas, and mutations of them, never crash the parser."""

import json
from typing import Annotated, Literal, Union, get_args, get_origin

from django.conf import settings as django_settings
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from charla.chat.protocol import (
    CLIENT_FRAMES,
    CLIENT_ID,
    MESSAGE_TEXT,
    DeleteMessage,
    EditMessage,
    ProtocolError,
    SendMessage,
    parse_client_frame,
)
from charla.chat.schema import NOT_NEGATIVE, POSITIVE, check, fields
from tests.test_protocol import DOCUMENTED_CODES, FRAME_CLASSES

# Fuzzing: frames generated from the client schemas, and mutations of them. Whatever
# arrives, the parser answers with the frame its type names or a ProtocolError whose
# code is documented; a frame that fits its schema is refused only for its text.


def test_every_client_frame_type_has_a_parsed_class():
    assert set(FRAME_CLASSES) == set(CLIENT_FRAMES)


CONSTRAINED = {
    CLIENT_ID: st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=64),
    MESSAGE_TEXT: st.text(st.characters(exclude_characters="\x00")),
    POSITIVE: st.integers(min_value=1),
    NOT_NEGATIVE: st.integers(min_value=0),
}
SIMPLE = {int: st.integers(), str: st.text(), bool: st.booleans(), type(None): st.none()}


def from_hint(hint) -> st.SearchStrategy:
    """Values that fit a schema's type."""
    origin = get_origin(hint)
    if origin is Annotated:
        _inner, constraint = get_args(hint)
        return CONSTRAINED[constraint]
    if origin is Literal:
        return st.sampled_from(get_args(hint))
    if origin is Union or type(hint).__name__ == "UnionType":
        return st.one_of([from_hint(arm) for arm in get_args(hint)])
    if hasattr(hint, "__required_keys__"):
        declared = fields(hint)
        return st.fixed_dictionaries(
            {key: from_hint(declared[key]) for key in hint.__required_keys__},
            optional={key: from_hint(declared[key]) for key in hint.__optional_keys__},
        )
    return SIMPLE[hint]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
huge_values = (
    st.integers(min_value=4000, max_value=70_000).map(lambda n: "x" * n)
    | st.integers(min_value=2**63)
    | st.integers(max_value=-(2**63))
    | st.integers(min_value=1000, max_value=20_000).map(lambda n: list(range(n)))
)
valid_frames = st.one_of([from_hint(schema) for schema in CLIENT_FRAMES.values()])


@st.composite
def mutated_frames(draw) -> dict:
    """A valid frame with a key dropped, a value of the wrong type or huge, or a key no schema has."""
    frame = dict(draw(valid_frames))
    keys = sorted(frame)
    mutation = draw(st.sampled_from(["drop", "retype", "huge", "extra"]))
    if mutation == "drop" and keys:
        del frame[draw(st.sampled_from(keys))]
    elif mutation in ("retype", "huge") and keys:
        frame[draw(st.sampled_from(keys))] = draw(json_values if mutation == "retype" else huge_values)
    else:
        frame[draw(st.text(max_size=12))] = draw(json_values)
    return frame


def check_parse(text: str) -> None:
    try:
        frame = parse_client_frame(text)
    except ProtocolError as exc:
        assert exc.code in DOCUMENTED_CODES and exc.message
        return
    data = json.loads(text)
    assert isinstance(frame, FRAME_CLASSES[data.get("type", "mensaje")])
    if isinstance(frame, SendMessage | EditMessage):
        assert frame.content and frame.content == frame.content.strip()
        assert len(frame.content) <= django_settings.CHARLA_MESSAGE_MAX_CHARS
    if isinstance(frame, EditMessage | DeleteMessage):
        assert type(frame.message_id) is int and frame.message_id > 0
    if isinstance(frame, SendMessage) and frame.client_id is not None:
        assert isinstance(frame.client_id, str) and 0 < len(frame.client_id) <= 64
    # What the parser accepted fits its schema once the keys it ignores are left out.
    schema = CLIENT_FRAMES[data.get("type", "mensaje")]
    check({key: value for key, value in data.items() if key in fields(schema)}, schema)


def _encodable(text) -> bool:
    try:
        str(text).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@hypothesis_settings(max_examples=300, deadline=None)
@example({"id": 1, "type": "editar", "mensaje": "\ud800"})
@given(valid_frames)
def test_a_frame_that_fits_its_schema_is_accepted_unless_its_text_is_refused(frame):
    text = json.dumps(frame)
    try:
        parsed = parse_client_frame(text)
    except ProtocolError as exc:
        refusals = {"empty_message", "message_too_long", "frame_too_large"}
        if not _encodable(frame.get("mensaje", "")):
            refusals.add("invalid_field")  # a lone surrogate ("\ud800") is no text at all: refused as such
        assert exc.code in refusals, (frame, exc.code)
        return
    assert isinstance(parsed, FRAME_CLASSES[frame.get("type", "mensaje")])
    check_parse(text)


@hypothesis_settings(max_examples=500, deadline=None)
@given(mutated_frames())
def test_a_mutated_frame_parses_to_its_frame_or_a_documented_protocol_error(frame):
    check_parse(json.dumps(frame))


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_to_a_frame_or_a_protocol_error(text):
    check_parse(text)


@hypothesis_settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_parses_to_a_frame_or_a_protocol_error(value):
    check_parse(json.dumps(value))


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {"type": st.sampled_from(sorted(CLIENT_FRAMES))},
        optional={key: st.text() | json_values for key in ("mensaje", "id", "client_id", "seq", "confirmar_mencion")},
    )
)
def test_any_frame_of_a_known_type_parses_to_a_frame_or_a_protocol_error(value):
    check_parse(json.dumps(value))
