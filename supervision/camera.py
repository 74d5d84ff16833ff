"""Camera-check events: what the camera system publishes after a staff member's look.

Topic ``kv/supervision/<resident_id>/check``, QoS 1, a JSON object::

    {"outcome": "ok" | "not_seen" | "abnormal" | "technical_failure",
     "staff_id": "np-3",                 # the camera system's id of the person who looked
     "time": "2026-11-22T01:30:12Z",     # when the look started (ISO 8601 or epoch)
     "duration_s": 25,                   # optional: how long the view was open
     "check_id": 123,                    # optional: the check it answers, when known
     "note": "sover"}                    # optional, ≤ 200 characters, no personal numbers

Never an image: a message with any image, video or audio field (``image``, ``snapshot``,
``frame``, ``jpeg`` ...), a ``data:`` URI, a long base64 string or more than 2 KiB is refused
whole, before anything of it is kept, and the reason is logged without the payload.

Why its own subscription and not a decoder family of ``ingest``: the ingest pipeline keeps
every refused payload in the dead-letter store and every unknown sender's payload in the
quarantine, byte for byte. That is right for telemetry and wrong here: a camera system that
wrongly sent a frame would have it stored by the very path that refuses it. Camera events are
also care data and carry no reading, so they have nothing to do in the reading store. They get
a separate MQTT client (``gateway.supervision_wiring``) and this pure decoder, and a refused
message is dropped after its reason is counted and logged.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import orjson

from supervision.errors import CameraPayloadRejected
from supervision.identity import looks_like_personnummer

__all__ = ["MAX_PAYLOAD", "CameraCheck", "CameraInbox", "decode_camera_check"]

log = logging.getLogger(__name__)

MAX_PAYLOAD = 2048
_OUTCOMES = ("ok", "not_seen", "abnormal", "technical_failure")
_FIELDS = {"outcome", "staff_id", "time", "duration_s", "check_id", "note"}
_MEDIA_WORDS = (
    "image",
    "img",
    "snapshot",
    "frame",
    "photo",
    "picture",
    "jpeg",
    "jpg",
    "png",
    "video",
    "audio",
    "stream",
    "thumbnail",
    "thumb",
    "base64",
    "blob",
    "media",
    "recording",
)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{200,}")
_STAFF = re.compile(r"^[\w.@:-]{1,64}$")
_RESIDENT = re.compile(r"^[\w.-]{1,64}$")

Outcome = Literal["ok", "not_seen", "abnormal", "technical_failure"]


@dataclass(frozen=True, slots=True)
class CameraCheck:
    resident_id: str
    outcome: Outcome
    staff_id: str
    at: datetime
    duration_s: float | None = None
    check_id: int | None = None
    note: str | None = None


def _media(obj: object, path: str = "") -> str | None:
    """The path of the first field that carries or names media, if any."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            name = str(key).lower()
            where = f"{path}.{key}" if path else str(key)
            if any(word in name for word in _MEDIA_WORDS):
                return where
            found = _media(value, where)
            if found:
                return found
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            found = _media(value, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(obj, str) and (
        obj.lstrip().lower().startswith("data:") or _BASE64_RUN.search(obj)
    ):
        return path or "(value)"
    return None


def _time(value: object) -> datetime:
    if isinstance(value, bool) or value is None:
        raise CameraPayloadRejected('"time" is required: ISO 8601 or epoch seconds')
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise CameraPayloadRejected('"time" is not a finite number')
        seconds = value / 1000 if abs(value) >= 10_000_000_000 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise CameraPayloadRejected('"time" is not ISO 8601') from exc
        if parsed.tzinfo is None:
            raise CameraPayloadRejected('"time" needs an offset or Z (a camera log is in UTC)')
        return parsed.astimezone(UTC)
    raise CameraPayloadRejected('"time" must be a string or a number')


def decode_camera_check(topic: str, payload: bytes) -> CameraCheck:
    """A camera-check event, or ``CameraPayloadRejected`` with the reason (no payload in it)."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[:2] != ["kv", "supervision"] or parts[3] != "check":
        raise CameraPayloadRejected("topic is not kv/supervision/<resident_id>/check")
    resident_id = parts[2]
    if not _RESIDENT.match(resident_id):
        raise CameraPayloadRejected("resident id in the topic is malformed")
    if len(payload) > MAX_PAYLOAD:
        raise CameraPayloadRejected(
            f"payload is {len(payload)} bytes, over {MAX_PAYLOAD}: a check event is a few "
            "fields, never an image"
        )
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise CameraPayloadRejected("payload is not JSON") from exc
    if not isinstance(data, dict):
        raise CameraPayloadRejected("payload is not a JSON object")
    media = _media(data)
    if media is not None:
        raise CameraPayloadRejected(
            f"field {media[:40]!r} carries image, video or audio data; only the outcome of a "
            "check may be sent, never the image"
        )
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise CameraPayloadRejected(f"unknown field(s): {', '.join(k[:30] for k in unknown)}")
    outcome = data.get("outcome")
    if outcome not in _OUTCOMES:
        raise CameraPayloadRejected(f'"outcome" must be one of {", ".join(_OUTCOMES)}')
    staff = data.get("staff_id")
    if not isinstance(staff, str) or not _STAFF.match(staff) or looks_like_personnummer(staff):
        raise CameraPayloadRejected('"staff_id" must be a staff id (letters, digits, . _ - @ :)')
    duration = data.get("duration_s")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int | float)
        or not 0 <= duration <= 3600
    ):
        raise CameraPayloadRejected('"duration_s" must be seconds between 0 and 3600')
    check_id = data.get("check_id")
    if check_id is not None and (isinstance(check_id, bool) or not isinstance(check_id, int)):
        raise CameraPayloadRejected('"check_id" must be an integer')
    note = data.get("note")
    if note is not None:
        if not isinstance(note, str) or len(note) > 200:
            raise CameraPayloadRejected('"note" must be text of at most 200 characters')
        if looks_like_personnummer(note):
            raise CameraPayloadRejected('"note" holds what looks like a personal identity number')
    return CameraCheck(
        resident_id,
        outcome,
        staff,
        _time(data.get("time")),
        float(duration) if duration is not None else None,
        check_id,
        note or None,
    )


Ack = Callable[[int, int], None]


class CameraInbox:
    """Takes camera messages off the MQTT network thread and hands them to ``handle``.

    Every message is acknowledged once handled, refused (dropped on purpose) or failed: a
    failure is logged and counted, and the check it answered then runs out its window and is
    reported as missed, so nothing is silently lost.
    """

    def __init__(self, handle: Callable[[CameraCheck], None], size: int = 10_000) -> None:
        self._handle = handle
        self._queue: queue.Queue[tuple[str, bytes, int, int] | None] = queue.Queue(size)
        self._ack: Ack = lambda _mid, _qos: None
        self._thread: threading.Thread | None = None
        self.accepted = 0
        self.rejected = 0
        self.failed = 0
        self.on_reject: Callable[[str, str], None] = lambda _topic, _reason: None

    def set_ack(self, ack: Ack) -> None:
        self._ack = ack

    def submit(self, topic: str, payload: bytes, mid: int, qos: int, retain: bool = False) -> None:
        self._queue.put((topic, payload, mid, qos))  # events carry their own id and time

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="camera-checks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            topic, payload, mid, qos = item
            self.process(topic, payload)
            self._ack(mid, qos)

    def process(self, topic: str, payload: bytes) -> bool:
        try:
            check = decode_camera_check(topic, payload)
        except CameraPayloadRejected as exc:
            self.rejected += 1
            log.warning("camera-check message refused on %s: %s", topic[:80], exc)
            self.on_reject(topic, str(exc))
            return False
        try:
            self._handle(check)
        except Exception:
            self.failed += 1
            log.exception("camera-check event of check %s could not be handled", check.check_id)
            return False
        self.accepted += 1
        return True
