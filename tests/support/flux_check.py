"""The Flux language server (flux-lsp, WebAssembly under Node) as a checker for our queries.

``tests/flux/check.js`` drives the server over its LSP messages; this module hands it queries
and returns their diagnostics. ``make test`` installs the pinned npm package
(``tests/flux/package-lock.json``) into ``tests/flux/node_modules``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "CHECK_RANGE",
    "FLUX_DIR",
    "Checked",
    "FluxDoc",
    "check_flux",
    "flux_checker_missing",
    "grafana_v",
]

FLUX_DIR = Path(__file__).resolve().parents[1] / "flux"
_SERVER = FLUX_DIR / "node_modules" / "@influxdata" / "flux-lsp-node" / "package.json"


@dataclass(frozen=True, slots=True)
class FluxDoc:
    name: str
    query: str
    #: the File AST influxdb-client sends as ``extern`` beside the query (its parameters)
    extern: dict[str, Any] | None = None
    #: return the parsed AST too
    ast: bool = False


@dataclass(frozen=True, slots=True)
class Checked:
    name: str
    text: str
    diagnostics: list[dict[str, Any]]
    ast: dict[str, Any] | None = None

    def report(self) -> str:
        lines = self.text.splitlines()
        out = [f"{self.name}:"]
        for d in self.diagnostics:
            where = lines[d["line"]] if d["line"] < len(lines) else ""
            out.append(f"  {d['line'] + 1}:{d['character'] + 1} {d['message']}\n    {where}")
        return "\n".join(out)


def flux_checker_missing() -> str | None:
    """Why the checker cannot run here (a reason a technician can act on), or None."""
    if shutil.which("node") is None:
        return "node is not installed: `make system-deps` installs Debian's nodejs and npm"
    if not _SERVER.exists():
        return "the Flux language server is not installed: run `make flux-deps` (npm ci)"
    return None


def check_flux(docs: Sequence[FluxDoc]) -> list[Checked]:
    payload = [{"name": d.name, "query": d.query, "extern": d.extern, "ast": d.ast} for d in docs]
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "checked.json"
        done = subprocess.run(
            ["node", str(FLUX_DIR / "check.js"), str(result)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the Flux checker failed: {done.stderr[-2000:]}")
        checked = json.loads(result.read_text(encoding="utf-8"))
    return [Checked(c["name"], c["text"], c["diagnostics"], c["ast"]) for c in checked]


#: the dashboard time range the checks use (any will do for a parse and type check)
CHECK_RANGE = (
    datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
    datetime(2026, 11, 22, 8, 0, 0, 123456, tzinfo=UTC),
)


def grafana_v(
    query: str,
    time_range: tuple[datetime, datetime] = CHECK_RANGE,
    window: str = "1m0s",
    variables: dict[str, str] | None = None,
) -> str:
    """A panel's query as Grafana sends it: dashboard variables, then the ``v`` record.

    Grafana's InfluxDB datasource replaces each ``v.`` name in the text before sending: the
    time range as RFC 3339 times, the panel's interval as a Go duration (``1m0s``, which is a
    Flux duration literal). Defining ``v`` in Flux instead draws the language server's
    warning that ``v`` is provided at run time.
    """
    for name, value in (variables or {}).items():
        query = query.replace(f"${{{name}}}", value)
    start, stop = (t.astimezone(UTC).isoformat().replace("+00:00", "Z") for t in time_range)
    filled = {"v.timeRangeStart": start, "v.timeRangeStop": stop, "v.windowPeriod": window}
    for name, value in filled.items():
        query = query.replace(name, value)
    return query
