"""The alerts package's exceptions, rooted in one class.

``AlertError``
  ├─ ``AlertNotFound``     an alert, silence or override id that does not exist (HTTP 404)
  ├─ ``AlertStateError``   a transition the alert's state does not allow (HTTP 409)
  ├─ ``AckLinkError``      an acknowledge link that is forged, expired or used (HTTP 410/400)
  └─ ``RuleConfigError``   a rule spec or override a technician must fix (HTTP 422)
"""

from __future__ import annotations

__all__ = ["AckLinkError", "AlertError", "AlertNotFound", "AlertStateError", "RuleConfigError"]


class AlertError(Exception):
    pass


class AlertNotFound(AlertError, LookupError):
    pass


class AlertStateError(AlertError, ValueError):
    pass


class AckLinkError(AlertError):
    pass


class RuleConfigError(AlertError, ValueError):
    pass
