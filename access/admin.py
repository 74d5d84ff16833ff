"""User and token administration with its audit record: one place for the API and the CLI."""

from __future__ import annotations

from datetime import datetime

from access.audit import AuditLog
from access.users import TokenInfo, UserInfo, UserStore

__all__ = [
    "add_user",
    "change_user",
    "create_token",
    "link_oidc",
    "revoke_token",
    "set_password",
    "unlink_oidc",
]


def add_user(
    users: UserStore,
    audit: AuditLog,
    actor: str,
    now: datetime,
    username: str,
    role: str,
    *,
    password: str | None = None,
    sites: list[str] | None = None,
    care_units: list[str] | None = None,
    display_name: str | None = None,
    source_ip: str | None = None,
) -> UserInfo:
    info = users.add(
        username,
        role,
        now,
        password=password,
        sites=sites,
        care_units=care_units,
        display_name=display_name,
    )
    audit.record(
        now,
        actor,
        "user.create",
        "user",
        info.username,
        source_ip=source_ip,
        details={"role": role, "sites": list(info.sites), "care_units": list(info.care_units)},
    )
    return info


def change_user(
    users: UserStore,
    audit: AuditLog,
    actor: str,
    now: datetime,
    username: str,
    *,
    role: str | None = None,
    sites: list[str] | None = None,
    care_units: list[str] | None = None,
    disabled: bool | None = None,
    display_name: str | None = None,
    source_ip: str | None = None,
) -> UserInfo:
    before, after = users.update(
        username,
        role=role,
        sites=sites,
        care_units=care_units,
        disabled=disabled,
        display_name=display_name,
    )
    if before.role != after.role:
        audit.record(
            now,
            actor,
            "user.role_change",
            "user",
            after.username,
            source_ip=source_ip,
            details={"from": before.role, "to": after.role},
        )
    if (before.sites, before.care_units) != (after.sites, after.care_units):
        audit.record(
            now,
            actor,
            "user.scope_change",
            "user",
            after.username,
            source_ip=source_ip,
            details={
                "sites": [list(before.sites), list(after.sites)],
                "care_units": [list(before.care_units), list(after.care_units)],
            },
        )
    if before.disabled != after.disabled:
        action = "user.disable" if after.disabled else "user.enable"
        audit.record(now, actor, action, "user", after.username, source_ip=source_ip)
    return after


def set_password(
    users: UserStore, audit: AuditLog, actor: str, now: datetime, username: str, password: str
) -> None:
    users.set_password(username, password)
    audit.record(now, actor, "user.password_set", "user", username.strip().lower())


def link_oidc(
    users: UserStore,
    audit: AuditLog,
    actor: str,
    now: datetime,
    username: str,
    issuer: str,
    subject: str,
    *,
    source_ip: str | None = None,
) -> None:
    users.link_oidc(username, issuer, subject, now)
    # the subject stays out of the log: at a Swedish e-ID provider it may be a personnummer
    audit.record(
        now, actor, "user.oidc_link", "user", username.strip().lower(), source_ip=source_ip,
        details={"issuer": issuer.strip().rstrip("/")},
    )  # fmt: skip


def unlink_oidc(
    users: UserStore,
    audit: AuditLog,
    actor: str,
    now: datetime,
    username: str,
    *,
    source_ip: str | None = None,
) -> None:
    users.unlink_oidc(username)
    audit.record(
        now, actor, "user.oidc_unlink", "user", username.strip().lower(), source_ip=source_ip
    )


def create_token(
    users: UserStore,
    audit: AuditLog,
    actor: str,
    now: datetime,
    username: str,
    name: str,
    *,
    expires_at: datetime | None = None,
    source_ip: str | None = None,
) -> tuple[str, TokenInfo]:
    token, info = users.create_token(username, name, now, expires_at=expires_at)
    audit.record(
        now,
        actor,
        "token.create",
        "token",
        str(info.id),
        source_ip=source_ip,
        details={
            "user": info.username,
            "name": info.name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, info


def revoke_token(
    users: UserStore,
    audit: AuditLog,
    actor: str,
    now: datetime,
    token_id: int,
    *,
    owner: str | None = None,
    source_ip: str | None = None,
) -> TokenInfo:
    info = users.revoke_token(token_id, now, username=owner)
    audit.record(
        now,
        actor,
        "token.revoke",
        "token",
        str(token_id),
        source_ip=source_ip,
        details={"user": info.username, "name": info.name},
    )
    return info
