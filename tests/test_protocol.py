"""The wire protocol: the exact shape of every server frame, and what client frames are accepted."""

import json
from datetime import datetime

import pytest
from django.conf import settings as django_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat import protocol, services
from chat.protocol import (
    DeleteMessage,
    EditMessage,
    ProtocolError,
    SendMessage,
    StopTyping,
    Typing,
    parse_client_frame,
)

FRAME_CLASSES = (SendMessage, EditMessage, DeleteMessage, Typing, StopTyping)
PAYLOAD_KEYS = {
    "id",
    "autor",
    "autor_id",
    "contenido",
    "enviado_en",
    "editado",
    "editado_en",
    "eliminado",
    "seq",
    "sala",
    "client_id",
}


# Server -> client frames.


@pytest.mark.parametrize(
    ("frame", "keys"),
    [
        (protocol.history([], 0), {"type", "mensajes", "seq", "limited"}),
        (protocol.message_sent({}), {"type", "mensaje"}),
        (protocol.message_edited({}, 1), {"type", "mensaje", "seq"}),
        (protocol.message_deleted(1, 2), {"type", "id", "seq"}),
        (protocol.user_joined("ana"), {"type", "username"}),
        (protocol.user_left("ana"), {"type", "username"}),
        (protocol.typing("ana"), {"type", "username"}),
        (protocol.stop_typing("ana"), {"type", "username"}),
        (protocol.online_users(["ana"]), {"type", "usuarios", "total"}),
        (protocol.error("No.", "forbidden"), {"type", "error", "code"}),
    ],
    ids=lambda value: value.get("type", "") if isinstance(value, dict) else "",
)
def test_server_frame_has_exactly_its_documented_keys(frame, keys):
    assert set(frame) == keys


def test_server_frames_carry_the_tutorials_type_names_and_values():
    assert protocol.history([{"id": 1}], 7, limited=True) == {
        "type": "historial",
        "mensajes": [{"id": 1}],
        "seq": 7,
        "limited": True,
    }
    assert protocol.history([], 0)["limited"] is False
    assert protocol.message_sent({"id": 1}) == {"type": "mensaje", "mensaje": {"id": 1}}
    assert protocol.message_edited({"id": 1}, 5) == {"type": "mensaje_editado", "mensaje": {"id": 1}, "seq": 5}
    assert protocol.message_deleted(3, 6) == {"type": "mensaje_eliminado", "id": 3, "seq": 6}
    assert protocol.user_joined("ana") == {"type": "usuario_unido", "username": "ana"}
    assert protocol.user_left("ana") == {"type": "usuario_salio", "username": "ana"}
    assert protocol.typing("ana") == {"type": "escribiendo", "username": "ana"}
    assert protocol.stop_typing("ana") == {"type": "dejar_escribir", "username": "ana"}
    assert protocol.error("No.", "forbidden") == {"type": "error", "error": "No.", "code": "forbidden"}


def test_online_users_counts_the_names_it_lists():
    assert protocol.online_users(["ana", "luis"]) == {
        "type": "usuarios_conectados",
        "usuarios": ["ana", "luis"],
        "total": 2,
    }
    assert protocol.online_users([])["total"] == 0


@pytest.fixture
def message(ana):
    room = services.room_create(creator=ana, name="lobby")
    sent, _ = services.message_send(room=room, author=ana, content="hola", client_id="c1")
    return sent


@pytest.mark.django_db
def test_message_payload_has_exactly_the_tutorial_keys_and_the_extensions(message):
    assert set(protocol.message_payload(message)) == PAYLOAD_KEYS


@pytest.mark.django_db
def test_message_payload_keeps_the_tutorials_types(message, ana):
    payload = protocol.message_payload(message)
    assert type(payload["id"]) is int and payload["id"] == message.pk
    assert payload["autor"] == "ana"
    assert type(payload["autor_id"]) is int and payload["autor_id"] == ana.pk
    assert payload["contenido"] == "hola"
    assert type(payload["editado"]) is bool and payload["editado"] is False
    assert datetime.fromisoformat(payload["enviado_en"]) == message.sent
    assert payload["editado_en"] is None
    assert payload["eliminado"] is False
    assert payload["seq"] == 1
    assert payload["sala"] == "lobby"
    assert payload["client_id"] == "c1"


@pytest.mark.django_db
def test_payload_of_an_edited_message_says_when(message, ana):
    edited = services.message_edit(room=message.room, user=ana, message_id=message.pk, content="adiós")
    payload = protocol.message_payload(edited)
    assert payload["editado"] is True
    assert datetime.fromisoformat(payload["editado_en"]) == edited.edited_at
    assert payload["contenido"] == "adiós"


@pytest.mark.django_db
def test_payload_of_a_deleted_message_has_no_content(message, ana):
    deleted = services.message_delete(room=message.room, user=ana, message_id=message.pk)
    payload = protocol.message_payload(deleted)
    assert payload["eliminado"] is True
    assert payload["contenido"] == ""


@pytest.mark.django_db
def test_payload_round_trips_through_json(message):
    payload = protocol.message_payload(message)
    assert json.loads(protocol.encode(protocol.message_sent(payload))) == {"type": "mensaje", "mensaje": payload}


def test_encode_keeps_non_ascii_text_as_is_and_is_compact():
    text = protocol.encode({"type": "mensaje", "mensaje": {"contenido": "¿Qué tal? 🙂 日本"}})
    assert "¿Qué tal? 🙂 日本" in text
    assert "\\u" not in text
    assert " " not in text.replace("¿Qué tal? 🙂 日本", "")
    assert json.loads(text) == {"type": "mensaje", "mensaje": {"contenido": "¿Qué tal? 🙂 日本"}}


# Client -> server frames.


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "mensaje", "mensaje": "hola"}, SendMessage("hola")),
        ({"mensaje": "sin tipo"}, SendMessage("sin tipo")),
        ({"type": "mensaje", "mensaje": "  \n hola \t"}, SendMessage("hola")),
        ({"type": "mensaje", "mensaje": "hola", "client_id": "c-1"}, SendMessage("hola", client_id="c-1")),
        ({"type": "mensaje", "mensaje": "hola", "client_id": None}, SendMessage("hola")),
        ({"type": "mensaje", "mensaje": "x", "client_id": "k" * 64}, SendMessage("x", client_id="k" * 64)),
        ({"type": "mensaje", "mensaje": "¿qué? 🙂"}, SendMessage("¿qué? 🙂")),
        ({"type": "mensaje", "mensaje": "hola", "extra": [1, 2]}, SendMessage("hola")),
        ({"type": "escribiendo"}, Typing()),
        ({"type": "dejar_escribir"}, StopTyping()),
        ({"type": "editar", "id": 3, "mensaje": " nuevo "}, EditMessage(message_id=3, content="nuevo")),
        ({"type": "eliminar", "id": 3}, DeleteMessage(message_id=3)),
    ],
)
def test_accepted_client_frame_is_parsed(raw, expected):
    assert parse_client_frame(json.dumps(raw)) == expected


def test_message_of_exactly_the_limit_is_accepted(settings):
    settings.CHARLA_MESSAGE_MAX_CHARS = 5
    assert parse_client_frame(json.dumps({"mensaje": " 12345 "})) == SendMessage("12345")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ("", "invalid_json"),
        ("[" * 30000, "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('"text"', "invalid_frame"),
        ("null", "invalid_frame"),
        ("42", "invalid_frame"),
        ('{"type": "bailar"}', "unknown_type"),
        ('{"type": null}', "unknown_type"),
        ('{"type": ["mensaje"]}', "unknown_type"),
        ('{"type": "MENSAJE", "mensaje": "x"}', "unknown_type"),
        ('{"type": "mensaje"}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": 42}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": null}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": ["x"]}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": "x", "client_id": 7}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": "x", "client_id": ""}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": "x", "client_id": "' + "k" * 65 + '"}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": "x", "client_id": "a\\nb"}', "invalid_field"),
        ('{"type": "editar", "id": "1", "mensaje": "x"}', "invalid_field"),
        ('{"type": "editar", "id": 1}', "invalid_field"),
        ('{"type": "editar", "id": 1.0, "mensaje": "x"}', "invalid_field"),
        ('{"type": "eliminar"}', "invalid_field"),
        ('{"type": "eliminar", "id": true}', "invalid_field"),
        ('{"type": "eliminar", "id": 0}', "invalid_field"),
        ('{"type": "eliminar", "id": -3}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": ""}', "empty_message"),
        ('{"type": "mensaje", "mensaje": " \\n\\t "}', "empty_message"),
        ('{"type": "editar", "id": 1, "mensaje": "   "}', "empty_message"),
    ],
)
def test_rejected_client_frame_raises_a_protocol_error_with_its_code(raw, code):
    with pytest.raises(ProtocolError) as excinfo:
        parse_client_frame(raw)
    assert excinfo.value.code == code
    assert excinfo.value.message


def test_message_over_the_limit_is_rejected(settings):
    settings.CHARLA_MESSAGE_MAX_CHARS = 5
    with pytest.raises(ProtocolError) as excinfo:
        parse_client_frame(json.dumps({"mensaje": "123456"}))
    assert excinfo.value.code == "message_too_long"
    assert "5" in excinfo.value.message


def test_frame_over_the_byte_limit_is_rejected_before_parsing(settings):
    settings.CHARLA_FRAME_MAX_BYTES = 100
    # 30 two-byte characters fit in 100 bytes; 60 do not, though they are fewer than 100 characters.
    assert parse_client_frame(json.dumps({"mensaje": "ñ" * 30}, ensure_ascii=False)) == SendMessage("ñ" * 30)
    with pytest.raises(ProtocolError) as excinfo:
        parse_client_frame(json.dumps({"mensaje": "ñ" * 60}, ensure_ascii=False))
    assert excinfo.value.code == "frame_too_large"


def test_absurdly_long_number_is_a_protocol_error_not_a_crash():
    with pytest.raises(ProtocolError):
        parse_client_frame('{"type": "eliminar", "id": ' + "1" * 5000 + "}")


def test_message_with_a_lone_surrogate_escape_is_rejected():
    # JSON.stringify of a string cut inside an emoji sends the escape "\ud83d" on its own.
    with pytest.raises(ProtocolError) as excinfo:
        parse_client_frame('{"type": "mensaje", "mensaje": "hola \\ud83d"}')
    assert excinfo.value.code == "invalid_field"


# Fuzzing: whatever arrives, the parser answers with a frame or a ProtocolError.

CLIENT_TYPES = ["mensaje", "escribiendo", "dejar_escribir", "editar", "eliminar"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
client_like_frames = st.fixed_dictionaries(
    {"type": st.sampled_from(CLIENT_TYPES)},
    optional={
        "mensaje": st.text() | json_values,
        "id": st.integers() | json_values,
        "client_id": st.text(max_size=70) | json_values,
    },
)


def check_parse(text: str) -> None:
    try:
        frame = parse_client_frame(text)
    except ProtocolError as exc:
        assert exc.code and exc.message
        return
    assert isinstance(frame, FRAME_CLASSES)
    if isinstance(frame, SendMessage | EditMessage):
        assert frame.content and frame.content == frame.content.strip()
        assert len(frame.content) <= django_settings.CHARLA_MESSAGE_MAX_CHARS
    if isinstance(frame, EditMessage | DeleteMessage):
        assert type(frame.message_id) is int and frame.message_id > 0
    if isinstance(frame, SendMessage) and frame.client_id is not None:
        assert isinstance(frame.client_id, str) and 0 < len(frame.client_id) <= 64


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_to_a_frame_or_a_protocol_error(text):
    check_parse(text)


@hypothesis_settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_parses_to_a_frame_or_a_protocol_error(value):
    check_parse(json.dumps(value))


@hypothesis_settings(max_examples=300, deadline=None)
@given(client_like_frames)
def test_any_frame_of_a_known_type_parses_to_a_frame_or_a_protocol_error(value):
    check_parse(json.dumps(value))
