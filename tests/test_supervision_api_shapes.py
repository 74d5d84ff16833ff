"""Every JSON answer of the supervision API has a declared shape, so ``/docs`` shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.app import create_app
from gateway.platform import Platform
from gateway.settings import load_settings
from tests.support.platform import TOKEN


def _untyped(schema: Any) -> bool:
    """An object whose fields nobody declared (what ``dict[str, Any]`` becomes)."""
    if isinstance(schema, list):
        return any(_untyped(v) for v in schema)
    if not isinstance(schema, dict):
        return False
    free = schema.get("additionalProperties", True) in (True, {})
    if schema.get("type") == "object" and free and "properties" not in schema:
        return True
    return any(_untyped(v) for v in schema.values())


def test_every_supervision_answer_has_a_declared_shape(tmp_path: Path) -> None:
    platform = Platform(load_settings(data_dir=tmp_path / "d", admin_token=TOKEN))
    try:
        spec = create_app(platform).openapi()
    finally:
        platform.stop()
    answers = {}
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/supervision"):
            continue
        for method, op in operations.items():
            for code, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("2") and schema is not None:
                    answers[f"{method.upper()} {path}"] = schema
    assert len(answers) >= 17  # the routes that answer JSON (not the 204s, not the audit file)
    untyped = sorted(route for route, schema in answers.items() if _untyped(schema))
    assert untyped == []
    shapes = spec["components"]["schemas"]
    assert {"ResidentPublic", "CheckPublic", "HistoryPublic", "BoardPublic"} <= set(shapes)
    assert "from" in shapes["TransitionPublic"]["properties"]  # the name the JSON carries
