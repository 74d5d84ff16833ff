"""JSON bodies must be standard JSON (RFC 8259): no NaN, no Infinity, no lone surrogates.

Python's json module, which FastAPI parses bodies with, accepts three things the standard
does not: ``NaN`` and ``Infinity`` as numbers, and ``"\\ud800"``, half of a UTF-16 pair, as
text. A NaN threshold never compares true; a lone surrogate cannot be encoded as UTF-8 and
ended in a 500 at the database; and either one inside a refused body made the 422 itself fail
to render (a 500 again). This middleware parses JSON bodies once with orjson, which follows
the standard; a body that only Python's parser accepts gets a 422 with the reason, a body
that neither accepts goes on to FastAPI's usual "JSON decode error". It sits inside the
security middleware, whose body-size limit bounds what is buffered here.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

__all__ = ["JsonTextGuard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

REASON = (
    "the body is not standard JSON: it holds NaN, Infinity or a lone surrogate "
    "(\\ud800-\\udfff); send finite numbers and valid Unicode text"
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
        if _only_python_parses(body):
            await _refuse(send)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _only_python_parses(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        return False
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False  # not JSON at all: FastAPI says so in its own words
    return True


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
