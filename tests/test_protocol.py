"""The wire protocol: the exact shape of every server frame, and what client frames are accepted."""

import json
import re
from datetime import datetime
from typing import get_args

import pytest

from charla.chat import protocol, services
from charla.chat.events import SERVER_FRAMES, ErrorCode, MessageObject
from charla.chat.protocol import (
    DeleteMessage,
    EditMessage,
    MarkRead,
    ProtocolError,
    SendMessage,
    StopTyping,
    Typing,
    parse_client_frame,
)
from charla.chat.schema import SchemaError, check, check_frame

FRAME_CLASSES = {
    "mensaje": SendMessage,
    "escribiendo": Typing,
    "dejar_escribir": StopTyping,
    "editar": EditMessage,
    "eliminar": DeleteMessage,
    "leido": MarkRead,
}
DOCUMENTED_CODES = set(get_args(ErrorCode))  # tests/test_protocol_doc.py ties these to docs/protocol.md


# Server -> client frames: literal expected frames, and each checked against its schema.

SERVER_FRAME_EXAMPLES = [
    (protocol.history([], 0), {"type": "historial", "mensajes": [], "seq": 0, "limited": False}),
    (protocol.message_deleted(3, 6), {"type": "mensaje_eliminado", "id": 3, "seq": 6}),
    (protocol.user_joined("ana"), {"type": "usuario_unido", "username": "ana"}),
    (protocol.user_left("ana"), {"type": "usuario_salio", "username": "ana"}),
    (protocol.typing("ana"), {"type": "escribiendo", "username": "ana"}),
    (protocol.stop_typing("ana"), {"type": "dejar_escribir", "username": "ana"}),
    (protocol.online_users(["ana", "luis"]), {"type": "usuarios_conectados", "usuarios": ["ana", "luis"], "total": 2}),
    (protocol.online_users([]), {"type": "usuarios_conectados", "usuarios": [], "total": 0}),
    (protocol.error("No.", "forbidden"), {"type": "error", "error": "No.", "code": "forbidden"}),
    (
        protocol.error("No.", "rate_limited", "c-1"),
        {"type": "error", "error": "No.", "code": "rate_limited", "client_id": "c-1"},
    ),
    (
        protocol.mass_mention_confirm("Sure?", 42, "c-2"),
        {"type": "error", "error": "Sure?", "code": "mass_mention_confirm", "client_id": "c-2", "miembros": 42},
    ),
]


@pytest.mark.parametrize(
    ("frame", "expected"), SERVER_FRAME_EXAMPLES, ids=lambda v: v.get("type", "") if isinstance(v, dict) else ""
)
def test_server_frame_is_exactly_the_documented_one_and_fits_its_schema(frame, expected):
    assert frame == expected
    check_frame(expected, SERVER_FRAMES)


MESSAGE = {
    "id": 41,
    "autor": "ana",
    "autor_id": 1,
    "contenido": "hola",
    "enviado_en": "2026-11-24T09:00:00.120000+00:00",
    "editado": False,
    "editado_en": None,
    "eliminado": False,
    "seq": 7,
    "sala": "general",
    "client_id": None,
}


def test_frames_that_carry_a_message_carry_it_whole():
    assert protocol.history([MESSAGE], 7, limited=True) == {
        "type": "historial",
        "mensajes": [MESSAGE],
        "seq": 7,
        "limited": True,
    }
    assert protocol.message_sent(MESSAGE) == {"type": "mensaje", "mensaje": MESSAGE}
    assert protocol.message_edited(MESSAGE, 8) == {"type": "mensaje_editado", "mensaje": MESSAGE, "seq": 8}
    for frame in (protocol.history([MESSAGE], 7), protocol.message_sent(MESSAGE), protocol.message_edited(MESSAGE, 8)):
        check_frame(frame, SERVER_FRAMES)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ({"type": "mensaje_eliminado", "id": 3}, "missing key 'seq'"),
        ({"type": "mensaje_eliminado", "id": 3, "seq": 6, "extra": 1}, "key 'extra' is not in"),
        ({"type": "mensaje_eliminado", "id": "3", "seq": 6}, "is not int"),
        ({"type": "mensaje_eliminado", "id": True, "seq": 6}, "is not int"),
        ({"type": "historial", "mensajes": [{**MESSAGE, "seq": None}], "seq": 7, "limited": False}, "mensajes[0].seq"),
        ({"type": "historial", "mensajes": [{**MESSAGE, "enviado_en": "ayer"}], "seq": 7, "limited": False}, "ISO"),
        ({"type": "mensaje", "mensaje": {k: v for k, v in MESSAGE.items() if k != "sala"}}, "missing key 'sala'"),
        ({"type": "error", "error": "No.", "code": "oops"}, "is not one of"),
        ({"type": "error", "error": "No.", "code": "forbidden", "client_id": None}, "client_id"),
        ({"type": "bailar"}, "no schema"),
        ({"mensaje": MESSAGE}, "no schema"),
    ],
)
def test_a_frame_that_breaks_its_schema_is_refused(frame, problem):
    with pytest.raises(SchemaError, match=re.escape(problem)):
        check_frame(frame, SERVER_FRAMES)


@pytest.fixture
def message(ana):
    room = services.room_create(creator=ana, name="lobby")
    sent, _ = services.message_send(room=room, author=ana, content="hola", client_id="c1")
    return sent


@pytest.mark.django_db
def test_message_payload_is_the_tutorials_object_with_charlas_extensions(message, ana):
    payload = protocol.message_payload(message)
    assert payload == {
        "id": message.pk,
        "autor": "ana",
        "autor_id": ana.pk,
        "contenido": "hola",
        "enviado_en": payload["enviado_en"],
        "editado": False,
        "editado_en": None,
        "eliminado": False,
        "seq": 1,
        "sala": "lobby",
        "client_id": "c1",
    }
    assert type(payload["id"]) is int and type(payload["autor_id"]) is int and type(payload["editado"]) is bool
    assert datetime.fromisoformat(payload["enviado_en"]) == message.sent
    check(payload, MessageObject)


@pytest.mark.django_db
def test_payload_of_an_edited_message_says_when(message, ana):
    edited = services.message_edit(room=message.room, user=ana, message_id=message.pk, content="adiós")
    payload = protocol.message_payload(edited)
    assert payload["editado"] is True
    assert datetime.fromisoformat(payload["editado_en"]) == edited.edited_at
    assert payload["contenido"] == "adiós"
    check(payload, MessageObject)


@pytest.mark.django_db
def test_payload_of_a_deleted_message_has_no_content(message, ana):
    deleted = services.message_delete(room=message.room, user=ana, message_id=message.pk)
    payload = protocol.message_payload(deleted)
    assert payload["eliminado"] is True
    assert payload["contenido"] == ""
    check(payload, MessageObject)


@pytest.mark.django_db
def test_payload_round_trips_through_json(message):
    payload = protocol.message_payload(message)
    decoded = json.loads(protocol.encode(protocol.message_sent(payload)))
    assert decoded["type"] == "mensaje" and decoded["mensaje"]["contenido"] == "hola"
    assert decoded == {"type": "mensaje", "mensaje": payload}


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
        ({"type": "leido", "seq": 0}, MarkRead(seq=0)),
        ({"type": "leido", "seq": 12}, MarkRead(seq=12)),
        (
            {"type": "mensaje", "mensaje": "@sala", "confirmar_mencion": True},
            SendMessage("@sala", confirm_mention=True),
        ),
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
        ('{"type": "leido"}', "invalid_field"),
        ('{"type": "leido", "seq": -1}', "invalid_field"),
        ('{"type": "leido", "seq": "3"}', "invalid_field"),
        ('{"type": "leido", "seq": 1.5}', "invalid_field"),
        ('{"type": "leido", "seq": false}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": "x", "confirmar_mencion": 1}', "invalid_field"),
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
    assert code in DOCUMENTED_CODES


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
