"""Rule overrides with NaN, infinities, negative or absurd hold times are refused, through the
API (422 naming the rule and the parameter) and in the settings (a start-up error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

BAD = [
    ('{"hold_s": NaN}', "NaN"),  # not standard JSON: refused before the rule is looked at
    ('{"hold_s": Infinity}', "Infinity"),
    ('{"hold_s": -60}', "hold_s"),
    ('{"hold_s": 1e308}', "hold_s"),
    ('{"hold_s": "NaN"}', "hold_s"),
    ('{"hysteresis": -1}', "hysteresis"),
    ('{"levels": [["warning", NaN]]}', "NaN"),
    ('{"levels": [["warning", "-Infinity"]]}', "levels"),
    ('{"levels": [["critical", 1e308]]}', "levels"),
]


@pytest.mark.parametrize(("params", "named"), BAD)
def test_api_refuses_non_finite_and_out_of_range_parameters(
    client: TestClient, params: str, named: str
) -> None:
    body = f'{{"scope": "*", "rule": "shed_too_hot", "params": {params}}}'
    r = client.put(
        "/api/v1/rules/overrides", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert named in r.text, r.text
    if named not in ("NaN", "Infinity"):
        assert "shed_too_hot" in r.text, r.text
    assert client.get("/api/v1/rules/overrides").json() == []


def test_api_accepts_a_sane_override(client: TestClient) -> None:
    body = {"scope": "*", "rule": "shed_too_hot", "params": {"hold_s": 300, "hysteresis": 0.5}}
    assert client.put("/api/v1/rules/overrides", json=body).status_code == 200


@pytest.mark.parametrize("params", [params for params, _named in BAD])
def test_settings_refuse_them_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: str
) -> None:
    from gateway.settings import load_settings

    # the environment variable is JSON, read by Python: NaN and Infinity get through it
    monkeypatch.setenv(
        "KOMMUNVAKT_RULE_OVERRIDES", json.dumps({"shed_too_hot": json.loads(params)})
    )
    with pytest.raises(ValueError, match="shed_too_hot"):
        load_settings(data_dir=tmp_path)
