"""Roles and the one policy table: which route needs which action, which role grants it.

Every request is authorised centrally (``access.guard.authorize`` is a dependency of the whole
app): its route (method + path template, e.g. ``POST /api/v1/alerts/{alert_id}/ack``) is looked
up in ``RULES`` (first match wins); a route without a rule is refused with 403 and fails
``tests/test_access_policy.py``. A rule names an *action*; ``ROLE_ACTIONS`` says which roles
grant it. Object scopes (sites, care units) and "is this care data" have one owner,
``access.scope``: the object on the path is checked centrally, lists filter in the query.

How to add a rule: see /work/notes/issue-7.md (short form: add a ``Rule`` line above the
broader rule that would otherwise match, and give the action to the roles that need it).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

__all__ = [
    "AUDITED",
    "PUBLIC",
    "ROLES",
    "ROLE_ACTIONS",
    "RULES",
    "SIGNED_IN",
    "Rule",
    "actions_of",
    "rule_for",
]

ADMIN = "admin"
TECHNICIAN = "technician"
FACILITY_STAFF = "facility_staff"
NIGHT_STAFF = "night_staff"
VIEWER = "viewer"
AUDITOR = "auditor"

#: every role, in the order the CLI and the docs show them
ROLES: tuple[str, ...] = (ADMIN, TECHNICIAN, FACILITY_STAFF, NIGHT_STAFF, VIEWER, AUDITOR)

#: no sign-in needed (health checks, the sign-in pages themselves)
PUBLIC = "public"
#: any signed-in user, whatever the role (own profile, start page, sign-out)
SIGNED_IN = "signed_in"

#: actions whose every use is written to the audit log by the access middleware (besides every
#: write made with a token, and every refusal). Care data (care.*) is recorded, with ids and a
#: throttle for polling boards, by supervision.access.Gate instead, so it is not listed here.
AUDITED: frozenset[str] = frozenset(
    {
        "alerts.ack",
        "devices.credentials",
        "audit.read",
    }
)

_READ_BUILDINGS = {"devices.read", "sites.read", "alerts.read", "units.read"}

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    # admin gets every action (computed below) except nothing: the audit log has no delete
    TECHNICIAN: frozenset(
        _READ_BUILDINGS
        | {
            "devices.write",
            "devices.credentials",
            "sites.write",
            "alerts.ack",
            "alerts.deliveries",
            "alerts.silence",
            "rules.read",
            "ingest.read",
            "ingest.decode",
            "tokens.own",
        }
    ),
    FACILITY_STAFF: frozenset(
        _READ_BUILDINGS | {"alerts.ack", "alerts.silence", "rules.read", "tokens.own"}
    ),
    NIGHT_STAFF: frozenset({"care.read", "care.write", "units.read", "tokens.own"}),
    # viewer also serves integrations that only read: Grafana, a Prometheus scraper (/metrics)
    VIEWER: frozenset(_READ_BUILDINGS | {"ops.metrics", "tokens.own"}),
    # log review (enhetschef, dataskyddsombud): reads the audit log and who has which role
    AUDITOR: frozenset({"audit.read", "users.read", "tokens.own"}),
}


@dataclass(frozen=True, slots=True)
class Rule:
    """``methods``: "GET" (also HEAD), "WRITE" (POST/PUT/PATCH/DELETE), "*" or a method name.

    ``path``: an fnmatch pattern over the route's path template, e.g. ``/api/v1/devices*``.
    """

    methods: str
    path: str
    action: str

    def matches(self, method: str, path: str) -> bool:
        m = "GET" if method == "HEAD" else method
        if self.methods == "*":
            ok = True
        elif self.methods == "WRITE":
            ok = m in {"POST", "PUT", "PATCH", "DELETE"}
        else:
            ok = m in self.methods.split(",")
        return ok and fnmatchcase(path, self.path)


# First match wins: specific rules above the broad ones.
RULES: tuple[Rule, ...] = (
    # --- ops, docs, sign-in -------------------------------------------------------------
    Rule("GET", "/healthz", PUBLIC),
    Rule("GET", "/livez", PUBLIC),  # for orchestrators: no token in a probe
    Rule("GET", "/readyz", PUBLIC),
    Rule("GET", "/metrics", "ops.metrics"),
    Rule("GET", "/login", PUBLIC),
    Rule("POST", "/login", PUBLIC),
    Rule("GET", "/login/oidc*", PUBLIC),
    Rule("POST", "/logout", SIGNED_IN),
    Rule("GET", "/static/*", PUBLIC),
    # the API's description (every route, every field) is for users, not for the network
    Rule("GET", "/openapi.json", SIGNED_IN),
    Rule("GET", "/docs", SIGNED_IN),
    # --- access: users, tokens, audit ---------------------------------------------------
    Rule("GET", "/api/v1/me", SIGNED_IN),
    Rule("GET", "/api/v1/me/tokens", "tokens.own"),
    Rule("WRITE", "/api/v1/me/tokens*", "tokens.own"),
    Rule("GET", "/api/v1/users*", "users.read"),
    Rule("WRITE", "/api/v1/users*", "users.admin"),
    Rule("*", "/api/v1/tokens*", "tokens.admin"),
    Rule("GET", "/api/v1/audit*", "audit.read"),
    # --- devices, sites, registry ------------------------------------------------------
    Rule("*", "/api/v1/devices/{device_id}/mqtt-credentials*", "devices.credentials"),
    Rule("*", "/api/v1/devices/*credentials*", "devices.credentials"),
    Rule("*", "/api/v1/mqtt*", "devices.credentials"),
    Rule("GET", "/api/v1/devices*", "devices.read"),
    Rule("WRITE", "/api/v1/devices*", "devices.write"),
    Rule("GET", "/api/v1/device-types*", "devices.read"),
    Rule("GET", "/api/v1/unknown-devices*", "devices.read"),
    Rule("WRITE", "/api/v1/unknown-devices*", "devices.write"),
    Rule("GET", "/api/v1/sites*", "sites.read"),
    Rule("WRITE", "/api/v1/sites*", "sites.write"),
    Rule("GET", "/api/v1/places*", "sites.read"),
    Rule("WRITE", "/api/v1/places*", "sites.write"),
    Rule("GET", "/api/v1/rooms*", "sites.read"),
    Rule("WRITE", "/api/v1/rooms*", "sites.write"),
    Rule("GET", "/api/v1/care-units*", "units.read"),
    Rule("WRITE", "/api/v1/care-units*", "care.admin"),
    # --- alerts, rules, notifications ---------------------------------------------------
    Rule("POST", "/api/v1/alerts/{alert_id}/ack", "alerts.ack"),
    Rule("POST", "/api/v1/alerts/{alert_id}/resolve", "alerts.ack"),  # issue 5
    Rule("GET", "/api/v1/silences*", "alerts.read"),  # issue 5: maintenance windows
    Rule("WRITE", "/api/v1/silences*", "alerts.silence"),
    Rule("GET", "/api/v1/alerts*", "alerts.read"),
    Rule("GET", "/api/v1/deliveries*", "alerts.deliveries"),
    Rule("GET", "/api/v1/rules*", "rules.read"),
    Rule("WRITE", "/api/v1/rules*", "rules.write"),
    Rule("*", "/api/v1/notif*", "rules.write"),
    # --- ingest -------------------------------------------------------------------------
    Rule("GET", "/api/v1/dead-letters*", "ingest.read"),
    Rule("*", "/api/v1/decode*", "ingest.decode"),
    Rule("GET", "/api/v1/readings*", "devices.read"),
    Rule("GET", "/api/v1/history*", "devices.read"),
    # --- e-supervision: care data (supervision.access.Gate records every look and act) ---
    Rule("GET", "/api/v1/supervision/audit*", "audit.read"),
    Rule("POST", "/api/v1/supervision/checks/*", "care.write"),
    Rule("POST", "/api/v1/supervision/residents/{resident_id}/absences*", "care.write"),
    Rule("POST", "/api/v1/supervision/residents/{resident_id}/skip-night", "care.write"),
    # a withdrawal of consent must take effect at once, whoever on the night shift hears it
    Rule(
        "POST",
        "/api/v1/supervision/residents/{resident_id}/consents/{consent_id}/withdraw",
        "care.write",
    ),
    Rule("GET", "/api/v1/supervision/residents/{resident_id}/export", "care.admin"),
    Rule("GET", "/api/v1/supervision*", "care.read"),
    Rule("WRITE", "/api/v1/supervision*", "care.admin"),
    Rule("GET", "/api/v1/residents*", "care.read"),
    Rule("WRITE", "/api/v1/residents*", "care.admin"),
    # --- dashboards (Grafana provisioning) ----------------------------------------------
    Rule("*", "/api/v1/dashboards*", "dashboards.admin"),
    # --- web pages ----------------------------------------------------------------------
    Rule("GET", "/", SIGNED_IN),
    Rule("POST", "/alerts/{alert_id}/ack", "alerts.ack"),
    Rule("POST", "/alerts/{alert_id}/resolve", "alerts.ack"),  # issue 5
    Rule("*", "/ack/{token}", PUBLIC),  # issue 5: signed single-use link; POST acknowledges
    Rule("GET", "/alerts*", "alerts.read"),
    Rule("GET", "/devices*", "devices.read"),
    Rule("POST", "/devices/{device_id}/silence", "alerts.silence"),  # issue 5, from the page
    Rule("POST", "/devices/{device_id}/silences/{silence_id}/end", "alerts.silence"),
    Rule("WRITE", "/devices*", "devices.write"),
    Rule("GET", "/sites*", "sites.read"),
    Rule("POST", "/sites/{site_id}/silence", "alerts.silence"),  # issue 5, from the page
    Rule("POST", "/sites/{site_id}/silences/{silence_id}/end", "alerts.silence"),
    Rule("WRITE", "/sites*", "sites.write"),
    Rule("GET", "/supervision*", "care.read"),
    Rule("WRITE", "/supervision*", "care.write"),
    Rule("GET", "/audit*", "audit.read"),
    Rule("*", "/users*", "users.admin"),
)

_ALL_ACTIONS = frozenset(
    r.action for r in RULES if r.action not in (PUBLIC, SIGNED_IN)
) | frozenset().union(*ROLE_ACTIONS.values())
ROLE_ACTIONS[ADMIN] = _ALL_ACTIONS


def rule_for(method: str, path_template: str) -> Rule | None:
    """The first rule for this route, or None (the route is then refused)."""
    for rule in RULES:
        if rule.matches(method, path_template):
            return rule
    return None


def actions_of(role: str) -> frozenset[str]:
    return ROLE_ACTIONS.get(role, frozenset())
