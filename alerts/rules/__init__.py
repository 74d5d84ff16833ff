"""Rules: the one rule model (``model``), its kinds, and how a device's rules are made from
plain data (``specs``) and compiled for the hot path (``book``). Everything here is pure
except ``book``, which asks the device registry which devices and opening hours there are."""

from alerts.rules.kinds import AfterClosingRule, EventRule, StateHeldRule, last_closing
from alerts.rules.model import Env, Rule, RuleState, Transition
from alerts.rules.no_data import NoDataRule
from alerts.rules.threshold import ThresholdRule

__all__ = [
    "AfterClosingRule",
    "Env",
    "EventRule",
    "NoDataRule",
    "Rule",
    "RuleState",
    "StateHeldRule",
    "ThresholdRule",
    "Transition",
    "last_closing",
]
