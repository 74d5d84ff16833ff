"""JSON bodies must hold text that can be stored: a lone surrogate is refused with a 422.

JSON lets a client write ``"\\ud800"``, half of a UTF-16 pair. Python's json module turns it
into a str that no UTF-8 encoder accepts, so it got as far as the database or the response
encoder and ended in a 500. orjson refuses it while parsing; this middleware parses JSON
bodies once with orjson before the app sees them and answers 422 with the reason. It sits
inside the security middleware, whose body-size limit bounds what is buffered here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

__all__ = ["JsonTextGuard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

REASON = (
    "the JSON body holds a lone surrogate (\\ud800-\\udfff), which is not text; send valid Unicode"
)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class JsonTextGuard:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _has_lone_surrogate(body):
            await _refuse(send)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _has_lone_surrogate(body: bytes) -> bool:
    if b"\\u" not in body.lower():
        return False
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return "surrogate" in str(exc)
    return False


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _refuse(send: Send) -> None:
    body = orjson.dumps({"detail": [{"loc": ["body"], "msg": REASON, "type": "unicode"}]})
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
