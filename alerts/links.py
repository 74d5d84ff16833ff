"""Acknowledge links: signed, expiring, single-use; no sign-in needed from a phone.

A token is ``base64url(json{a: alert id, r: recipient, e: expiry, n: nonce}) "." base64url(mac)``
with an HMAC-SHA256 over the payload (key: ``alerting.link_secret`` or a random key kept in
``<data_dir>/alert_link_secret``, mode 0600). GET on the link only shows a confirm page; the
POST from that page acknowledges: mail scanners and link previews that fetch every URL in a
message therefore never acknowledge an alert. A used nonce is stored, so a link works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.errors import AckLinkError
from alerts.models import UsedAckLinkRow

__all__ = ["AckLinks", "LinkClaim", "load_or_create_secret"]


@dataclass(frozen=True, slots=True)
class LinkClaim:
    alert_id: int
    recipient: str
    expires: datetime
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_secret(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


class AckLinks:
    def __init__(
        self,
        secret: bytes,
        sessions: sessionmaker[Session],
        base_url: str,
        ttl_s: float = 24 * 3600.0,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the acknowledge-link secret must be at least 16 bytes")
        self._secret = secret
        self._sessions = sessions
        self.base_url = base_url.rstrip("/")
        self.ttl = timedelta(seconds=ttl_s)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:20]

    def token(self, alert_id: int, recipient: str, now: datetime) -> str:
        exp = int((now + self.ttl).timestamp())
        body = {"a": alert_id, "r": recipient, "e": exp, "n": secrets.token_hex(8)}
        payload = json.dumps(body, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def url(self, alert_id: int, recipient: str, now: datetime) -> str:
        return f"{self.base_url}/ack/{self.token(alert_id, recipient, now)}"

    def verify(self, token: str, now: datetime) -> LinkClaim:
        """The claim of a genuine, unexpired token (used or not); ``AckLinkError`` otherwise."""
        try:
            payload_b64, mac_b64 = token.split(".", 1)
            payload = _unb64(payload_b64)
            mac = _unb64(mac_b64)
        except ValueError as exc:
            raise AckLinkError("länken är ogiltig") from exc
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise AckLinkError("länken är ogiltig")
        body = json.loads(payload)
        expires = datetime.fromtimestamp(int(body["e"]), UTC)
        if now >= expires:
            raise AckLinkError("länken har gått ut")
        return LinkClaim(int(body["a"]), str(body["r"]), expires, str(body["n"]))

    def is_used(self, claim: LinkClaim) -> bool:
        with self._sessions() as s:
            return s.get(UsedAckLinkRow, claim.nonce) is not None

    def use(self, claim: LinkClaim, at: datetime) -> None:
        """Spend the link; a second use raises ``AckLinkError`` (also under a race)."""
        with self._sessions() as s:
            s.add(UsedAckLinkRow(nonce=claim.nonce, alert_id=claim.alert_id, used_at=at))
            try:
                s.commit()
            except IntegrityError as exc:
                raise AckLinkError("länken har redan använts") from exc
