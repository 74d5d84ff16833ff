"""Notification delivery through apprise: routed by tags, queued durably, retried, recorded.

Each recipient (an apprise URL with tags) is one channel with its own worker thread, so a mail
server that hangs does not hold back the webhook. A notification is first written to the
outbox (one row per matching channel), then handed to apprise; every attempt is recorded in the
delivery log, and a failed one is retried with exponential backoff until it is delivered or is
older than ``give_up_after_s``. A channel delivers in order (the head of its queue first), so a
recovery message never overtakes the alert it clears.

apprise is told two things on purpose: no throttle (``request_rate_per_sec = 0``; by default
it waits ~5.5 s between two e-mails to the same service, which would hold a critical alert back
behind a reminder), and no retries of its own (``retry = 0``): our outbox retries, durably, and
records each attempt. ``optional`` is forced off so apprise never reports a failure as success.

Delivery is at least once: a crash after the service took a message and before the outbox
marked it sent sends it again. Every message therefore carries its outbox row's stable id
(``OutboxItem.message_id``), the same on every attempt and different for every transition:
as the last line of an e-mail's text (staff see it, and that a repeat can happen), as
``X-Kommunvakt-Message-Id`` with ``References``/``In-Reply-To`` naming the alert's thread for
e-mail, and as ``Idempotency-Key`` for HTTP services with headers (json, xml, form). The
e-mail's own ``Message-ID`` cannot be ours: apprise's mailto always adds its own after the
custom headers, and a second ``Message-ID`` would break RFC 5322 (at most one).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import apprise

from alerts.outbox import DeliveryRecord, LeaseFence, Outbox, OutboxItem, thread_id
from alerts.routing import Recipient, matches

__all__ = ["Notifier", "RetryPolicy"]

log = logging.getLogger(__name__)

_MAIL_SCHEMES = ("mailto", "mailtos")
_HEADER_SCHEMES = ("json", "jsons", "xml", "xmls", "form", "forms")
#: the last line of every message (Swedish: staff read it)
DUPLICATE_NOTE = (
    "Meddelande-id {id}. I sällsynta fall (efter ett avbrott) kan samma meddelande komma två "
    "gånger; då har båda samma id."
)


def delivery_headers(scheme: str, item: OutboxItem) -> dict[str, str]:
    """What marks a message as this outbox row's, per kind of service (none: no headers)."""
    if scheme in _MAIL_SCHEMES:
        thread = thread_id(item.alert_id)
        return {
            "X-Kommunvakt-Message-Id": item.message_id,
            "In-Reply-To": thread,
            "References": thread,
        }
    if scheme in _HEADER_SCHEMES:
        return {"Idempotency-Key": item.message_id}
    return {}


_NOTIFY_TYPE = {
    "critical": apprise.NotifyType.FAILURE,
    "warning": apprise.NotifyType.WARNING,
    "resolve": apprise.NotifyType.SUCCESS,
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_s: float = 5.0
    max_s: float = 300.0
    give_up_after_s: float = 24 * 3600.0

    def delay(self, attempts: int) -> float:
        return float(min(self.first_s * (2 ** max(attempts - 1, 0)), self.max_s))


class _Channel:
    def __init__(self, recipient: Recipient, index: int) -> None:
        app = apprise.Apprise()
        if not app.add(recipient.url, tag=sorted(recipient.tags) or None):
            raise ValueError(f"recipient {index}: not a valid apprise URL (not logged)")
        self.server = app[0]
        self.server.request_rate_per_sec = 0
        self.server.retry = 0
        self.server.optional = False
        self.tags = frozenset(str(t).lower() for t in recipient.tags)
        self.name = str(self.server.url(privacy=True))[:200]  # type: ignore[no-untyped-call]
        self.recipient = recipient.name or f"mottagare-{index + 1}"
        self.scheme = recipient.url.split(":", 1)[0].lower()
        # apprise keeps a service's extra headers in a dict of its own (mailto, json, xml,
        # form); we put this message's ids there before each send (one thread per channel)
        headers = getattr(self.server, "headers", None)
        self._headers: dict[str, str] | None = headers if isinstance(headers, dict) else None
        self._fixed_headers = dict(self._headers or {})
        digest = hashlib.sha256(f"{recipient.url}|{sorted(self.tags)}".encode()).hexdigest()
        self.key = digest[:32]
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def send(self, item: OutboxItem) -> tuple[bool, str | None]:
        kind = "resolve" if item.kind == "resolve" else (item.severity or "")
        if self._headers is not None:
            self._headers.clear()
            self._headers.update(self._fixed_headers)
            self._headers.update(delivery_headers(self.scheme, item))
        body = item.body
        if self.scheme in _MAIL_SCHEMES:  # not on an SMS, where every character costs
            body = f"{body}\n\n{DUPLICATE_NOTE.format(id=item.message_id)}"
        try:
            ok = bool(
                self.server.notify(
                    body=body,
                    title=item.title,
                    notify_type=_NOTIFY_TYPE.get(kind, apprise.NotifyType.INFO),
                    body_format=apprise.NotifyFormat.TEXT,
                )
            )
        except Exception as exc:  # one channel's bug must not stop the others
            return False, f"{type(exc).__name__}: {exc}"[:500]
        return ok, None if ok else "the service refused or could not be reached (see the log)"


class Notifier:
    def __init__(
        self,
        recipients: Sequence[Recipient],
        outbox: Outbox,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy | None = None,
        fence: Callable[[], LeaseFence | None] | None = None,
    ) -> None:
        """``fence``: with several gateway instances, the lease this one holds now (None while
        it holds none): only the holder sends, checked in SQL and again just before sending."""
        self._fence = fence
        self._channels = [_Channel(r, i) for i, r in enumerate(recipients)]
        self.outbox = outbox
        self._clock = clock
        self.retry = retry or RetryPolicy()
        self._stop = threading.Event()
        self.sent_ok = 0
        self.sent_failed = 0
        #: called as (outbox item, monotonic-free wall time) when apprise accepted a message
        self.on_sent: Callable[[OutboxItem, datetime], None] | None = None

    @property
    def channels(self) -> list[tuple[str, str, frozenset[str]]]:
        return [(c.recipient, c.name, c.tags) for c in self._channels]

    def start(self) -> None:
        if self._fence is None:  # with a lease: the instance that becomes active does it
            self.drop_unconfigured()
        for channel in self._channels:
            channel.thread = threading.Thread(
                target=self._run, args=(channel,), name=f"notify-{channel.recipient}", daemon=True
            )
            channel.thread.start()

    def drop_unconfigured(self) -> int:
        """Give up on queued messages for channels this configuration no longer has."""
        return self.outbox.drop_channels_except({c.key for c in self._channels}, self._clock())

    def stop(self) -> None:
        self._stop.set()
        for channel in self._channels:
            channel.wake.set()
        for channel in self._channels:
            if channel.thread is not None:
                channel.thread.join(timeout=20)

    def dispatch(
        self,
        alert_id: int,
        kind: str,
        title: str,
        body: Callable[[str], str] | str,
        severity: str | None,
        tags: frozenset[str],
        at: datetime,
    ) -> list[str]:
        """Queue a message for every channel whose tags match; returns the recipients' names.

        ``body`` may be a function of the recipient's name (each gets its own ack link).
        """
        if not self._channels:
            # No recipient configured (a demo): the log is the channel, and it is recorded.
            text = body("logg") if callable(body) else body
            log.warning("ALERT %s (%s) alert %s", title, kind, alert_id)
            log.debug("%s", text)
            self.outbox.record(DeliveryRecord(alert_id, at, kind, "log", True, None))
            self.sent_ok += 1
            return ["logg"]
        names = []
        for channel in self._channels:
            if not matches(channel.tags, tags):
                continue
            try:
                text = body(channel.recipient) if callable(body) else body
                self.outbox.enqueue(
                    alert_id,
                    kind,
                    channel.key,
                    channel.name,
                    channel.recipient,
                    title,
                    text,
                    severity,
                    at,
                )
            except Exception as exc:
                # one recipient's message that cannot be made or queued must not keep the
                # alert from the others; the failure is recorded where deliveries are shown
                self.sent_failed += 1
                log.exception("alert %s (%s) for %s not queued", alert_id, kind, channel.recipient)
                error = f"internal error, not queued ({type(exc).__name__})"
                self.outbox.record(
                    DeliveryRecord(
                        alert_id, at, kind, channel.name, False, error, "failed", channel.recipient
                    )
                )
                continue
            channel.wake.set()
            names.append(channel.recipient)
        if not names:
            # Never fail silently: an alert nobody is routed to is a configuration error.
            log.warning("alert %s (%s): no recipient matches %s", alert_id, kind, sorted(tags))
            self.outbox.record(
                DeliveryRecord(
                    alert_id,
                    at,
                    kind,
                    "-",
                    False,
                    f"no recipient matches {sorted(tags)}",
                    outcome="unrouted",
                )
            )
        return names

    def _run(self, channel: _Channel) -> None:
        while not self._stop.is_set():
            channel.wake.clear()
            try:
                fence = self._fence() if self._fence is not None else None
                if self._fence is not None and fence is None:
                    channel.wake.wait(1.0)  # a standby: the active instance sends
                    continue
                item = self.outbox.head(channel.key, fence)
                if item is None:
                    channel.wake.wait(1.0)
                    continue
                wait = (item.next_attempt_at - self._clock()).total_seconds()
                if wait > 0:
                    channel.wake.wait(min(wait, 1.0))
                    continue
                self._attempt(channel, item)
            except Exception:
                log.exception("notifier for %s failed; continuing", channel.recipient)
                self._stop.wait(1.0)

    def _attempt(self, channel: _Channel, item: OutboxItem) -> None:
        if self._fence is not None and self._fence() is None:
            return  # the lease ran out since the head was read: not ours to send any more
        ok, error = channel.send(item)
        now = self._clock()
        attempt = item.attempts + 1
        if ok:
            self.outbox.mark_sent(item.id, now)
            self.sent_ok += 1
            if self.on_sent is not None:
                self.on_sent(item, now)
            outcome = "sent"
        else:
            self.sent_failed += 1
            give_up = (now - item.created_at).total_seconds() >= self.retry.give_up_after_s
            retry_at = None if give_up else now + timedelta(seconds=self.retry.delay(attempt))
            self.outbox.mark_failed(item.id, error or "failed", retry_at)
            outcome = "dropped" if give_up else "failed"
            log.warning(
                "delivery of alert %s to %s failed (attempt %d)%s",
                item.alert_id,
                channel.name,
                attempt,
                "; giving up" if give_up else f"; retry in {self.retry.delay(attempt):.0f} s",
            )
        self.outbox.record(
            DeliveryRecord(
                item.alert_id,
                now,
                item.kind,
                channel.name,
                ok,
                error,
                outcome,
                channel.recipient,
                attempt,
                item.id,
            )
        )
