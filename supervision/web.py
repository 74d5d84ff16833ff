"""The night board ``/supervision``: per care unit, tonight's checks, live, on a phone.

Live without reload through Server-Sent Events: one long request per open board, so the audit
trail gets one entry per look at the board, not one per poll; the server re-renders the rows
only when a check changed (``SupervisionService.version``; on PostgreSQL it also moves with a
change made through another instance, ``gateway.board_notify``) or the minute turned (a check
becomes "due now"). Every round (``board_poll_s``, at most 1 s) asks again who is asking: the
stream ends when the session is gone (signed out, or ended by a password, role or scope
change), the token revoked, the role no longer reads care data or the unit left the scope; it
also ends after ``STREAM_MAX``, and the browser's ``EventSource`` reconnects by itself
(checking access again).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from access.auth import AccessDenied, Principal, web_principal
from access.scope import visible_care_units
from core.bounds import DbId
from supervision.api import now_of
from supervision.errors import Invalid, StateError
from supervision.service import SupervisionService
from supervision.texts import board_texts

__all__ = ["router"]

STREAM_MAX = 300.0  # seconds; the browser reconnects and access is checked again
_HERE = Path(__file__).parent
_templates = Jinja2Templates(
    directory=[str(_HERE / "templates"), str(_HERE.parent / "dashboards" / "templates")]
)
try:
    from access.sessions import install_template_globals

    install_template_globals(_templates.env)
except ImportError:  # pragma: no cover - an access package without sessions
    _templates.env.globals["csrf_field"] = lambda: ""
    _templates.env.globals["csp_nonce"] = lambda: ""

_templates.env.filters["local_iso"] = lambda text: (
    datetime.fromisoformat(text).astimezone(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M")
)

router = APIRouter(include_in_schema=False)

#: a button on the board → the outcome it records and the words it puts in the note
_BOARD_ACTIONS: dict[str, tuple[str, str | None]] = {
    "ok": ("ok", None),
    "not_seen": ("not_seen", None),
    "abnormal": ("abnormal", None),
    "skipped": ("skipped", None),
    "visit": ("visit", None),
    "phoned": ("ok", "ringt"),
    "undo_skip": ("resume", "avböjning ångrad"),
}


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("kv_lang") or "sv"
    return lang if lang in ("sv", "en") else "sv"


def _user(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None) or web_principal(request)


def _svc(request: Request) -> SupervisionService:
    svc: SupervisionService = request.app.state.supervision
    return svc


def _unit_names(request: Request) -> dict[str, str]:
    """Care unit id → the name staff know it by ("Björkgården, nattpatrull"); ids as fallback."""
    registry = getattr(request.app.state, "registry", None)
    try:
        return {u.id: u.name for u in registry.list_care_units()} if registry else {}
    except Exception:  # a registry without care units: show the ids
        return {}


def _context(request: Request, user: Principal | None, **ctx: Any) -> dict[str, Any]:
    lang = _lang(request)
    return {
        "request": request,
        "t": board_texts(lang),
        "lang": lang,
        "user": user,
        "unit_names": _unit_names(request),
        **ctx,
    }


def _rows_html(request: Request, user: Principal, unit: str) -> tuple[str, list[str]]:
    svc = _svc(request)
    rows = svc.board(unit, now_of(request))
    html = _templates.get_template("supervision_rows.html").render(
        _context(request, user, rows=rows, unit=unit)
    )
    return html, [r.resident_id for r in rows]


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def _require_unit(request: Request, user: Principal, unit: str, action: str) -> None:
    _svc(request).gate.require(
        request,
        user,
        action=action,
        role_action="care.read",
        unit=unit,
        target_type="care_unit",
        target_id=unit,
        now=now_of(request),
    )


@router.get("/supervision", response_class=HTMLResponse, response_model=None)
def board_page(request: Request, unit: str | None = None) -> Response:
    user = _user(request)
    if user is None:
        return _login(request)
    svc = _svc(request)
    allowed = visible_care_units(user)
    units = [u for u in svc.residents.care_units() if allowed is None or u in allowed]
    if allowed is not None:
        units = sorted(set(units) | set(allowed) - {"*"})
    if unit is None and len(units) == 1:
        unit = units[0]
    if unit is None:
        return _templates.TemplateResponse(
            request, "supervision_units.html", _context(request, user, units=units)
        )
    _require_unit(request, user, unit, "supervision.board.view")
    html, residents = _rows_html(request, user, unit)
    svc.gate.view(request, user, unit, residents, now_of(request), force=True)
    return _templates.TemplateResponse(
        request,
        "supervision_board.html",
        _context(
            request,
            user,
            unit=unit,
            rows_html=html,
            night=svc.tonight(now_of(request)),
            units=units,
        ),
    )


@router.get("/supervision/units/{unit_id}/rows", response_class=HTMLResponse, response_model=None)
def board_rows(unit_id: str, request: Request) -> Response:
    """The rows alone (a fallback for a browser without EventSource)."""
    user = _user(request)
    if user is None:
        return _login(request)
    _require_unit(request, user, unit_id, "supervision.board.view")
    html, residents = _rows_html(request, user, unit_id)
    _svc(request).gate.view(request, user, unit_id, residents, now_of(request))
    return HTMLResponse(html)


def _still_allowed(request: Request, unit: str) -> bool:
    """Ask again on every round: a long stream must end when its sign-in or scope does."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        principal = request.app.state.token_verifier(token.strip())
    else:
        principal = web_principal(request)
    return (
        principal is not None
        and principal.may("care.read")
        and bool(principal.may_see_care_unit(unit))
    )


def _sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


@router.get("/supervision/units/{unit_id}/events", response_model=None)
async def board_events(unit_id: str, request: Request) -> Response:
    user = _user(request)
    if user is None:
        raise AccessDenied("sign in first")
    await run_in_threadpool(_require_unit, request, user, unit_id, "supervision.board.view")
    svc = _svc(request)
    poll = svc.settings.board_poll_s

    async def stream() -> Any:
        last: tuple[int, int] | None = None
        sent = time.monotonic()
        ends = sent + STREAM_MAX
        yield f"retry: {int(poll * 1000)}\n\n"
        while time.monotonic() < ends and not await request.is_disconnected():
            if not await run_in_threadpool(_still_allowed, request, unit_id):
                break  # signed out, token revoked or unit withdrawn: stop showing care data
            minute = int(now_of(request).timestamp() // 60)
            key = (svc.version, minute)
            if key != last:
                html, residents = await run_in_threadpool(_rows_html, request, user, unit_id)
                # a new stream is a new look (logged); re-renders within it are coalesced
                await run_in_threadpool(
                    partial(svc.gate.view, force=last is None),
                    request,
                    user,
                    unit_id,
                    residents,
                    now_of(request),
                )
                yield _sse("board", html)
                last, sent = key, time.monotonic()
            elif time.monotonic() - sent > 15:
                yield ": keepalive\n\n"
                sent = time.monotonic()
            await asyncio.sleep(min(poll, 1.0))

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/supervision/checks/{check_id}/outcome", response_model=None)
def outcome_from_board(
    check_id: DbId,
    request: Request,
    outcome: Annotated[str, Form()],
    note: Annotated[str | None, Form()] = None,
    scope: Annotated[str, Form()] = "check",
) -> Response:
    user = _user(request)
    if user is None:
        return _login(request)
    svc = _svc(request)
    check = svc.checks.get(check_id)
    now = now_of(request)
    svc.gate.require(
        request,
        user,
        action="supervision.check.outcome",
        role_action="care.write",
        unit=check.care_unit_id,
        target_type="resident",
        target_id=check.resident_id,
        now=now,
    )
    if outcome not in _BOARD_ACTIONS or scope not in ("check", "night"):
        return HTMLResponse("unknown outcome or scope", status_code=422)
    kind, said = _BOARD_ACTIONS[outcome]
    if said is not None:
        note = f"{said}: {note.strip()}" if note and note.strip() else said
    try:
        if outcome == "skipped" and scope == "night":
            # the resident declines the rest of the night: every check still planned
            svc.night.skip_night(check.resident_id, check.night, user.name, now)
            saved = svc.checks.get(check_id)
        else:
            saved = svc.night.record_outcome(check_id, kind, actor=user.name, now=now, note=note)
    except Invalid:
        text = board_texts(_lang(request))["bad_note"]
        return HTMLResponse(f"<p>{text}</p>", status_code=422)
    except StateError as exc:
        svc.gate.record(
            request,
            user,
            "supervision.check.outcome",
            "resident",
            check.resident_id,
            now,
            outcome="failed",
            details={"check_id": check_id, "reason": str(exc)},
        )
        return RedirectResponse(f"/supervision?unit={check.care_unit_id}", status_code=303)
    svc.gate.record(
        request,
        user,
        "supervision.check.outcome",
        "resident",
        check.resident_id,
        now,
        details={
            "check_id": check_id,
            "outcome": outcome,
            "scope": scope,
            "status": saved.status,
        },
    )
    return RedirectResponse(
        f"/supervision?unit={check.care_unit_id}#check-{check_id}", status_code=303
    )


@router.get(
    "/supervision/residents/{resident_id}", response_class=HTMLResponse, response_model=None
)
def resident_page(resident_id: str, request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _login(request)
    svc = _svc(request)
    now = now_of(request)
    resident = svc.residents.find(resident_id)
    svc.gate.require(
        request,
        user,
        action="supervision.history.view",
        role_action="care.read",
        unit=resident.care_unit_id if resident else None,
        target_type="resident",
        target_id=resident_id,
        now=now,
    )
    if resident is None:
        return HTMLResponse("not found", status_code=404)
    history = svc.records.history(resident_id)
    svc.gate.record(request, user, "supervision.history.view", "resident", resident_id, now)
    # newest first across all checks (the store keeps them per check), each with its check's
    # planned time, so two checks of one night do not interleave unmarked
    by_time = sorted(history.transitions, key=lambda tr: datetime.fromisoformat(tr.at))
    planned = {c.id: c.planned for c in history.checks}
    return _templates.TemplateResponse(
        request,
        "supervision_resident.html",
        _context(request, user, resident=resident, rows=list(reversed(by_time)), planned=planned),
    )
