"""REST routes of access under ``/api/v1``: who am I, users, API tokens, the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from access import admin
from access.auth import RequireUser
from access.deps import AccessConfig, Audit, Clock, Users
from access.users import TokenInfo, UserError, UserExists, UserInfo
from core.bounds import DbId, Moment
from core.identity_numbers import FreeText

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["access"])

Names = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=500)]
RoleName = Literal["admin", "technician", "facility_staff", "night_staff", "viewer", "auditor"]


class UserPublic(BaseModel):
    username: str
    display_name: str | None
    role: str
    sites: list[str]
    care_units: list[str]
    disabled: bool
    has_password: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    oidc_linked: bool = Field(description="may sign in through the identity provider")

    @classmethod
    def of(cls, u: UserInfo) -> UserPublic:
        return cls(**{f: getattr(u, f) for f in cls.model_fields})


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: FreeText = Field(min_length=2, max_length=64)
    role: RoleName
    password: str | None = Field(None, min_length=10, max_length=1000)
    sites: Names = Field(default_factory=list)
    care_units: Names = Field(default_factory=list)
    display_name: FreeText | None = Field(None, max_length=200)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: RoleName | None = None
    sites: Names | None = None
    care_units: Names | None = None
    disabled: bool | None = None
    display_name: FreeText | None = Field(None, max_length=200)


class OidcLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=255, description="the provider's `sub` claim")
    issuer: str | None = Field(
        None, min_length=1, max_length=500, description="default: the configured oidc_issuer"
    )


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: FreeText = Field(min_length=1, max_length=100)
    expires_at: AwareDatetime | None = None


class TokenPublic(BaseModel):
    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, t: TokenInfo) -> TokenPublic:
        return cls(**{f: getattr(t, f) for f in cls.model_fields})


class TokenCreated(TokenPublic):
    token: str = Field(description="the token itself: shown this once, stored only hashed")


class Me(BaseModel):
    name: str
    role: str
    sites: list[str]
    care_units: list[str]
    actions: list[str]
    via: str


def _ctx(clock: Callable[[], datetime], request: Request) -> tuple[datetime, str | None]:
    return clock(), request.client.host if request.client else None


@router.get("/me", response_model=Me)
def me(user: RequireUser) -> Me:
    from access.policy import actions_of

    return Me(
        name=user.name,
        role=user.role,
        sites=sorted(user.sites),
        care_units=sorted(user.care_units),
        actions=sorted(actions_of(user.role)),
        via=user.via.split(":")[0],
    )


@router.get("/me/tokens", response_model=list[TokenPublic])
def my_tokens(user: RequireUser, users: Users) -> list[TokenPublic]:
    return [TokenPublic.of(t) for t in users.tokens(user.name)]


@router.post("/me/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_my_token(
    request: Request, body: TokenCreate, user: RequireUser, users: Users, audit: Audit, clock: Clock
) -> TokenCreated:
    now, ip = _ctx(clock, request)
    token, info = admin.create_token(
        users, audit, user.name, now, user.name,
        body.name, expires_at=body.expires_at, source_ip=ip,
    )  # fmt: skip
    return TokenCreated(token=token, **TokenPublic.of(info).model_dump())


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_token(
    request: Request, token_id: DbId, user: RequireUser, users: Users, audit: Audit, clock: Clock
) -> Response:
    now, ip = _ctx(clock, request)
    admin.revoke_token(
        users, audit, user.name, now, token_id,
        owner=user.name, source_ip=ip,
    )  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users", response_model=list[UserPublic])
def list_users(_user: RequireUser, users: Users) -> list[UserPublic]:
    return [UserPublic.of(u) for u in users.all()]


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(
    request: Request, body: UserCreate, user: RequireUser, users: Users, audit: Audit, clock: Clock
) -> UserPublic:
    now, ip = _ctx(clock, request)
    info = admin.add_user(
        users, audit, user.name, now, body.username,
        body.role, password=body.password, sites=body.sites, care_units=body.care_units,
        display_name=body.display_name, source_ip=ip,
    )  # fmt: skip
    return UserPublic.of(info)


@router.get("/users/{username}", response_model=UserPublic)
def get_user(username: str, _user: RequireUser, users: Users) -> UserPublic:
    return UserPublic.of(users.get(username))


@router.patch("/users/{username}", response_model=UserPublic)
def update_user(
    request: Request,
    username: str,
    body: UserUpdate,
    user: RequireUser,
    users: Users,
    audit: Audit,
    clock: Clock,
) -> UserPublic:
    now, ip = _ctx(clock, request)
    info = admin.change_user(
        users, audit, user.name, now, username,
        role=body.role, sites=body.sites, care_units=body.care_units, disabled=body.disabled,
        display_name=body.display_name, source_ip=ip,
    )  # fmt: skip
    return UserPublic.of(info)


@router.put("/users/{username}/oidc", response_model=UserPublic)
def link_user_oidc(
    request: Request,
    username: str,
    body: OidcLink,
    user: RequireUser,
    users: Users,
    audit: Audit,
    clock: Clock,
    settings: AccessConfig,
) -> UserPublic:
    """Let the identity provider's subject sign in as this user (never an admin account)."""
    issuer = body.issuer or settings.oidc_issuer
    if not issuer:
        raise UserError("no issuer given and oidc_issuer is not configured")
    now, ip = _ctx(clock, request)
    admin.link_oidc(
        users, audit, user.name, now, username,
        issuer, body.subject, source_ip=ip,
    )  # fmt: skip
    return UserPublic.of(users.get(username))


@router.delete("/users/{username}/oidc", status_code=status.HTTP_204_NO_CONTENT)
def unlink_user_oidc(
    request: Request, username: str, user: RequireUser, users: Users, audit: Audit, clock: Clock
) -> Response:
    now, ip = _ctx(clock, request)
    admin.unlink_oidc(users, audit, user.name, now, username, source_ip=ip)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{username}/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED
)
def create_user_token(
    request: Request,
    username: str,
    body: TokenCreate,
    user: RequireUser,
    users: Users,
    audit: Audit,
    clock: Clock,
) -> TokenCreated:
    """A token for a user or an integration user (create one without a password first)."""
    now, ip = _ctx(clock, request)
    token, info = admin.create_token(
        users, audit, user.name, now, username,
        body.name, expires_at=body.expires_at, source_ip=ip,
    )  # fmt: skip
    return TokenCreated(token=token, **TokenPublic.of(info).model_dump())


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(_user: RequireUser, users: Users) -> list[TokenPublic]:
    return [TokenPublic.of(t) for t in users.tokens()]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(
    request: Request, token_id: DbId, user: RequireUser, users: Users, audit: Audit, clock: Clock
) -> Response:
    if user.via == f"token:{token_id}":
        raise UserExists("refused: this is the token of this request; use another credential")
    now, ip = _ctx(clock, request)
    admin.revoke_token(users, audit, user.name, now, token_id, source_ip=ip)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", responses={200: {"content": {"text/csv": {}}}})
def export_audit(
    audit: Audit,
    _user: RequireUser,
    format: Literal["json", "csv"] = "json",
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=100)] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """The audit log, oldest first, as JSON or CSV. (It has no delete: retention prunes it.)"""
    entries = audit.entries(
        actor=actor, action=action, target_type=target_type, target_id=target_id,
        since=since, until=until, limit=limit,
    )  # fmt: skip
    if format == "csv":
        return Response(
            audit.to_csv(entries),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="audit.csv"'},
        )
    return Response(audit.to_json(entries), media_type="application/json")


@router.get("/audit/verify")
def verify_audit(_user: RequireUser, audit: Audit) -> dict[str, bool]:
    """Whether the hash chain is intact (no row edited or removed behind the platform's back)."""
    return {"intact": audit.verify()}
