"""``kommunvakt users …`` and ``kommunvakt tokens …``: administration on the machine itself.

They work on the platform's database directly (the operator's shell is trusted like the
admin role); every change is on record with the actor ``cli:<os user>``.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from access.policy import ROLES
from core.private_files import private_dir

if TYPE_CHECKING:
    from access.audit import AuditLog
    from access.users import UserStore

__all__ = ["settings_error", "tokens_app", "users_app"]

users_app = typer.Typer(help="Users, roles and scopes.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)

Config = Annotated[Path | None, typer.Option("--config", help="TOML settings file")]
Sites = Annotated[list[str] | None, typer.Option("--site", help="site in scope (repeat; * = all)")]
Units = Annotated[
    list[str] | None, typer.Option("--care-unit", help="care unit in scope (repeat; * = all)")
]


def _open(config: Path | None) -> tuple[UserStore, AuditLog]:
    from access.audit import AuditLog
    from access.users import UserStore
    from core.db import make_engine, make_sessionmaker
    from devices.migrate import prepare_database
    from gateway.settings import load_settings

    try:
        settings = load_settings(config)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"kommunvakt: bad settings: {settings_error(exc)}", err=True)
        raise typer.Exit(1) from exc
    private_dir(settings.data_dir)
    engine = make_engine(settings.db_url)
    prepare_database(engine)
    AuditLog.install_guards(engine)
    sessions = make_sessionmaker(engine)
    return UserStore(sessions), AuditLog(sessions)


def settings_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic: never echo the input, it may hold a secret
        return "; ".join(str(e["msg"]) for e in errors(include_input=False))
    return str(exc).replace("\n", " ")


class _LazyAdmin:
    def __getattr__(self, name: str) -> Any:
        from access import admin as module

        return getattr(module, name)


admin = _LazyAdmin()


def _user_error() -> type[Exception]:
    from access.users import UserError

    return UserError


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"kommunvakt: {exc}", err=True)
    return typer.Exit(1)


def _check_role(role: str) -> None:
    if role not in ROLES:
        typer.echo(f"kommunvakt: unknown role {role!r}; roles: {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option("--role", help=", ".join(ROLES))],
    site: Sites = None,
    care_unit: Units = None,
    name: Annotated[str | None, typer.Option("--name", help="display name")] = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="an integration user: tokens only")
    ] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    config: Config = None,
) -> None:
    """Add a user (asks for the password unless --no-password or --password-stdin)."""
    _check_role(role)
    users, audit = _open(config)
    password = None if no_password else _password(password_stdin)
    try:
        info = admin.add_user(
            users, audit, _actor(), datetime.now(UTC), username, role, password=password,
            sites=site, care_units=care_unit, display_name=name,
        )  # fmt: skip
    except _user_error() as exc:
        raise _fail(exc) from exc
    typer.echo(f"added {info.username} ({info.role})")


@users_app.command("list")
def users_list(config: Config = None) -> None:
    """List users: name, role, scopes, state."""
    users, _audit = _open(config)
    for u in users.all():
        state = "disabled" if u.disabled else "active"
        scopes = ",".join(u.sites) or "-", ",".join(u.care_units) or "-"
        typer.echo(f"{u.username}\t{u.role}\tsites={scopes[0]}\tcare_units={scopes[1]}\t{state}")


@users_app.command("set-role")
def users_set_role(
    username: str, role: str, site: Sites = None, care_unit: Units = None, config: Config = None
) -> None:
    """Change a user's role (and, when given, its site / care-unit scope)."""
    _check_role(role)
    users, audit = _open(config)
    try:
        info = admin.change_user(
            users, audit, _actor(), datetime.now(UTC), username, role=role, sites=site,
            care_units=care_unit,
        )  # fmt: skip
    except _user_error() as exc:
        raise _fail(exc) from exc
    typer.echo(f"{info.username} is now {info.role}")


@users_app.command("disable")
def users_disable(username: str, config: Config = None) -> None:
    """Disable a user: sessions and tokens stop working at once."""
    users, audit = _open(config)
    try:
        admin.change_user(users, audit, _actor(), datetime.now(UTC), username, disabled=True)
    except _user_error() as exc:
        raise _fail(exc) from exc
    typer.echo(f"disabled {username}")


@users_app.command("enable")
def users_enable(username: str, config: Config = None) -> None:
    users, audit = _open(config)
    try:
        admin.change_user(users, audit, _actor(), datetime.now(UTC), username, disabled=False)
    except _user_error() as exc:
        raise _fail(exc) from exc
    typer.echo(f"enabled {username}")


@users_app.command("set-password")
def users_set_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    config: Config = None,
) -> None:
    """Set a password (also unlocks a locked account)."""
    users, audit = _open(config)
    try:
        admin.set_password(
            users, audit, _actor(), datetime.now(UTC), username, _password(password_stdin)
        )
    except _user_error() as exc:
        raise _fail(exc) from exc
    if username.strip().lower() == "admin":  # the demo's generated password is void now
        from gateway.settings import load_settings

        (load_settings(config).data_dir / "admin_password").unlink(missing_ok=True)
    typer.echo(f"password set for {username}")


@users_app.command("link-oidc")
def users_link_oidc(
    username: str,
    subject: Annotated[str, typer.Option("--subject", help="the provider's sub for this person")],
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="default: the configured oidc_issuer")
    ] = None,
    config: Config = None,
) -> None:
    """Let one identity-provider account sign in as this user (never an admin account)."""
    from gateway.settings import load_settings

    issuer = issuer or load_settings(config).oidc_issuer
    if not issuer:
        raise _fail(ValueError("no --issuer given and oidc_issuer is not configured"))
    users, audit = _open(config)
    try:
        admin.link_oidc(users, audit, _actor(), datetime.now(UTC), username, issuer, subject)
    except _user_error() as exc:
        raise _fail(exc) from exc
    typer.echo(f"linked {username} to a subject of {issuer}")


@users_app.command("unlink-oidc")
def users_unlink_oidc(username: str, config: Config = None) -> None:
    """End a user's sign-in through the identity provider."""
    users, audit = _open(config)
    try:
        admin.unlink_oidc(users, audit, _actor(), datetime.now(UTC), username)
    except _user_error() as exc:
        raise _fail(exc) from exc
    typer.echo(f"unlinked {username}")


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: Annotated[str, typer.Option("--name", help="what uses it, e.g. grafana")] = "cli",
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="default: no expiry")
    ] = None,
    config: Config = None,
) -> None:
    """Create a token for a user and print it (shown this once)."""
    users, audit = _open(config)
    now = datetime.now(UTC)
    expires = now + timedelta(days=expires_days) if expires_days else None
    try:
        token, info = admin.create_token(
            users, audit, _actor(), now, username, name, expires_at=expires
        )
    except _user_error() as exc:
        raise _fail(exc) from exc
    typer.echo(f"token {info.id} for {info.username} (shown once):", err=True)
    typer.echo(token)


@tokens_app.command("list")
def tokens_list(
    username: Annotated[str | None, typer.Option("--user")] = None, config: Config = None
) -> None:
    users, _audit = _open(config)
    for t in users.tokens(username):
        state = "revoked" if t.revoked_at else "live"
        expires = t.expires_at.isoformat() if t.expires_at else "never"
        typer.echo(f"{t.id}\t{t.username}\t{t.name}\t{state}\texpires={expires}")


@tokens_app.command("revoke")
def tokens_revoke(token_id: int, config: Config = None) -> None:
    """Revoke a token by its id (``tokens list``)."""
    users, audit = _open(config)
    try:
        info = admin.revoke_token(users, audit, _actor(), datetime.now(UTC), token_id)
    except _user_error() as exc:
        raise _fail(exc) from exc
    typer.echo(f"revoked token {info.id} ({info.name}) of {info.username}")
