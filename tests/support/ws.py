"""Helpers for reading frames in consumer tests."""

import json

from channels.testing import WebsocketCommunicator

TIMEOUT = 5


async def receive(communicator: WebsocketCommunicator, timeout: float = TIMEOUT) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_until(communicator: WebsocketCommunicator, frame_type: str, timeout: float = TIMEOUT) -> dict:
    """The next frame of `frame_type`, passing over presence frames (join, leave, online list) on the way."""
    passable = {"usuario_unido", "usuario_salio", "usuarios_conectados"}
    while True:
        frame = await receive(communicator, timeout)
        if frame["type"] == frame_type:
            return frame
        assert frame["type"] in passable, f"expected {frame_type}, got {frame}"


async def send(communicator: WebsocketCommunicator, frame: dict) -> None:
    await communicator.send_to(text_data=json.dumps(frame))


async def connected_and_settled(communicator: WebsocketCommunicator) -> dict:
    """Read the connect sequence (historial, then presence frames) and return the historial."""
    history = await receive(communicator)
    assert history["type"] == "historial"
    while not await communicator.receive_nothing(timeout=0.1):
        frame = await receive(communicator)
        assert frame["type"] in {"usuario_unido", "usuarios_conectados"}, frame
    return history


async def refusal_code(communicator: WebsocketCommunicator, connected: bool, timeout: float = TIMEOUT) -> int:
    """The close code of a socket refused at connect. Charla accepts such a socket only to
    close it with its code at once (a refused handshake would reach a browser as a bare
    1006, with no reason): nothing else comes before the close."""
    assert connected, "accepted, to carry the close code"
    output = await communicator.receive_output(timeout)
    assert output["type"] == "websocket.close", output
    return output["code"]
