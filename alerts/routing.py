"""Who gets a notification: recipients are apprise URLs with apprise tags; pure matching.

A tag is ``dimension:value`` (``site:vattenverket``, ``severity:critical``, ``role:facility``,
``role:oncall``, ``care_unit:natt-1``, ``device:frys-3``, ``rule:shed_too_hot``). An alert
carries one or more tags per dimension; a recipient **matches** when, for every dimension the
recipient names, the alert has at least one of the recipient's values (``care_unit:*``: any
value of that dimension). A dimension the
recipient does not name is "any". So ``["site:vattenverket", "role:facility"]`` gets every
severity of the facility messages of that site, ``["role:oncall"]`` gets every escalation to the
on-call list, and a recipient with no tags gets everything. A bare tag without ``:`` must be
present on the alert as it is (``all`` matches everything).

Why not apprise's own ``notify(tag=...)``: its filter means "the recipient has all these tags",
which cannot say "any site" without listing every site; the tags stay apprise tags (they are
set on each apprise service and readable in an apprise config), only the matching is ours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Recipient", "alert_tags", "matches"]


@dataclass(frozen=True, slots=True)
class Recipient:
    url: str = field(repr=False)  # may hold a password: never logged
    tags: frozenset[str] = frozenset()
    name: str = ""


def matches(recipient_tags: Iterable[str], alert_tags: Iterable[str]) -> bool:
    have = {t.strip().lower() for t in alert_tags}
    wanted: dict[str, set[str]] = defaultdict(set)
    for tag in recipient_tags:
        tag = tag.strip().lower()
        if not tag or tag == "all":
            continue
        if ":" not in tag:
            if tag not in have:
                return False
            continue
        dimension, _, _value = tag.partition(":")
        wanted[dimension].add(tag)
    for dimension, values in wanted.items():
        if f"{dimension}:*" in values and any(t.startswith(f"{dimension}:") for t in have):
            continue
        if not values & have:
            return False
    return True


def alert_tags(
    *,
    severity: str,
    roles: Iterable[str],
    site_id: str | None = None,
    device_id: str | None = None,
    rule: str | None = None,
    extra: Iterable[str] = (),
) -> frozenset[str]:
    """The routing tags of one message about an alert."""
    tags = {f"severity:{severity}"}
    tags.update(f"role:{r}" for r in roles)
    if site_id:
        tags.add(f"site:{site_id}")
    if device_id:
        tags.add(f"device:{device_id}")
    if rule:
        tags.add(f"rule:{rule}")
    tags.update(t for t in extra if t)
    return frozenset(t.lower() for t in tags)
