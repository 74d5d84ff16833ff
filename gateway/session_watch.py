"""Turns a lost MQTT session into a platform alert for the operators.

The broker drops every message published for the gateway while it holds no session for it, and
the publishers were told those messages were delivered: nothing but this alert says that
readings may be missing. The alert stays open until someone resolves it (the loss cannot
clear by itself); a second loss while it is open only updates its message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from alerts.engine import AlertEngine

__all__ = ["SessionWatch"]


class SessionWatch:
    SOURCE = "mqtt-broker"
    RULE = "mqtt_session_lost"

    def __init__(self, sessions_lost: Callable[[], int], engine: AlertEngine) -> None:
        self._sessions_lost = sessions_lost
        self._engine = engine
        self._seen = 0

    def tick(self, now: datetime) -> None:
        lost = self._sessions_lost()
        if lost == self._seen:
            return
        message = (
            f"MQTT-brokern hade tappat gatewayens session ({lost} gång(er) sedan start, senast "
            f"{now:%Y-%m-%d %H:%M} UTC): avläsningar som skickades medan gatewayen var "
            "frånkopplad kan ha gått förlorade. Kontrollera brokerns loggar och persistens."
        )
        self._engine.raise_external(
            self.SOURCE, self.RULE, "warning", message, ["role:operator"], now
        )
        self._seen = lost
