"""Camera-check payloads: the outcome of a look is taken; an image never is. Personal numbers
are refused wherever free text enters."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest

from supervision.camera import CameraInbox, decode_camera_check
from supervision.errors import CameraPayloadRejected
from supervision.identity import looks_like_personnummer, safe_label, safe_note

TOPIC = "kv/supervision/r-abc123/check"


def payload(**fields: object) -> bytes:
    base: dict[str, object] = {"outcome": "ok", "staff_id": "np-3", "time": "2026-11-22T01:30:00Z"}
    base.update(fields)
    return orjson.dumps({k: v for k, v in base.items() if v is not None})


def test_a_valid_event() -> None:
    ev = decode_camera_check(TOPIC, payload(duration_s=25, note="sover", check_id=7))
    assert ev.resident_id == "r-abc123"
    assert (ev.outcome, ev.staff_id, ev.duration_s, ev.check_id, ev.note) == (
        "ok",
        "np-3",
        25.0,
        7,
        "sover",
    )
    assert ev.at == datetime(2026, 11, 22, 1, 30, tzinfo=UTC)


JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(600)).decode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (payload(image=JPEG), "image"),
        (payload(snapshot_url="http://cam/1.jpg"), "snapshot"),
        (payload(meta={"frame": 1}), "meta.frame"),
        (payload(note="data:image/jpeg;base64,/9j/4AAQ"), "image"),
        (payload(note=JPEG[:300]), "image"),
        (payload(note="sover " * 40), "200 characters"),
        (payload(extra=[JPEG]), "image"),
        (orjson.dumps({"outcome": "ok", "staff_id": "np-3", "time": "x", "video": None}), "video"),
        (b"\xff\xd8\xff\xe0" + bytes(5000), "never an image"),
        (payload(outcome="sleeping"), "outcome"),
        (payload(staff_id="19121212-1212"), "staff_id"),
        (payload(note="pnr 191212121212"), "identity number"),
        (payload(time="2026-11-22T01:30:00"), "offset"),
        (payload(colour="red"), "unknown field"),
        (b"[1, 2]", "object"),
        (b"not json", "not JSON"),
    ],
)
def test_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(CameraPayloadRejected, match=reason) as info:
        decode_camera_check(TOPIC, raw)
    assert JPEG[:40] not in str(info.value)  # the reason never carries the payload


def test_bad_topics() -> None:
    for topic in ("kv/supervision/check", "kv/r-1/up", "kv/supervision/../check/x"):
        with pytest.raises(CameraPayloadRejected, match="topic"):
            decode_camera_check(topic, payload())


def test_inbox_counts_and_drops_refused_messages() -> None:
    got = []
    inbox = CameraInbox(got.append)
    reasons: list[str] = []
    inbox.on_reject = lambda _t, why: reasons.append(why)
    assert inbox.process(TOPIC, payload()) is True
    assert inbox.process(TOPIC, payload(image=JPEG)) is False
    assert (inbox.accepted, inbox.rejected, len(got)) == (1, 1, 1)
    assert "image" in reasons[0]


@pytest.mark.parametrize(
    ("text", "is_pnr"),
    [
        ("Lgh 12B, A.K.", False),
        ("19121212-1212", True),
        ("121212-1212", True),
        ("121212+1212", True),
        ("201212121212", True),
        ("121272-1212", True),  # samordningsnummer: day + 60
        ("Lgh 1201, rum 3", False),
        ("851399-1234", False),  # month 13
    ],
)
def test_personnummer_pattern(text: str, is_pnr: bool) -> None:
    assert looks_like_personnummer(text) is is_pnr


def test_labels() -> None:
    assert safe_label("  Lgh 12B,   A.K. ") == "Lgh 12B, A.K."
    with pytest.raises(ValueError, match="personal identity number"):
        safe_label("Lgh 12B 19450101-1234")
    with pytest.raises(ValueError, match="may hold"):
        safe_label("<script>")
    assert safe_note("  hjälpt upp,\n inga skador ") == "hjälpt upp, inga skador"
    assert safe_note("   ") is None
    assert len(safe_note("a" * 500) or "") == 200
    with pytest.raises(ValueError, match="identity number"):
        safe_note("pnr 19121212-1212 vid besöket")
