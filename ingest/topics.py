"""MQTT topic filters as small value objects with a pure ``matches``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TopicFilter"]


@dataclass(frozen=True, slots=True)
class TopicFilter:
    value: str

    def matches(self, topic: str) -> bool:
        """MQTT 3.1.1 §4.7 matching; ``$``-topics only match filters that name them."""
        if topic.startswith("$") and not self.value.startswith("$"):
            return False
        f_parts = self.value.split("/")
        t_parts = topic.split("/")
        for i, part in enumerate(f_parts):
            if part == "#":
                return True
            if i >= len(t_parts):
                return False
            if part != "+" and part != t_parts[i]:
                return False
        return len(f_parts) == len(t_parts)
