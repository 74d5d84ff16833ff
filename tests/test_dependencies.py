"""The installed dependencies are the ones we name: nothing rewrites another at start-up."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards.grafana.api import GrafanaApi, GrafanaUnreachable
from tests.support.net import free_port


def test_urllib3_is_the_real_urllib3() -> None:
    """urllib3-future (pulled in by niquests, e.g. through grafana-client 5) installs a ``.pth``
    file that copies itself over ``urllib3`` at interpreter start; influxdb-client, requests
    and apprise would then run on a fork they were not tested with."""
    names = {(d.metadata["Name"] or "").lower() for d in importlib.metadata.distributions()}
    assert "urllib3-future" not in names
    assert "niquests" not in names
    dist = importlib.metadata.distribution("urllib3")
    # a fresh interpreter: a .pth acts at start-up, before any test code runs
    done = subprocess.run(
        [sys.executable, "-c", "import urllib3; print(urllib3.__version__, urllib3.__file__)"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    version, module_file = done.stdout.split()
    assert version == dist.version
    site = Path(str(dist.locate_file("")))
    owned = {(site / str(f)).resolve() for f in dist.files or []}
    assert Path(module_file).resolve() in owned, "urllib3/__init__.py belongs to urllib3"


def test_an_unreachable_grafana_is_named_in_the_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    api = GrafanaApi(url, "token", timeout_s=5)
    with pytest.raises(GrafanaUnreachable, match=f"cannot reach Grafana at {url}"):
        api.get_folder("kommunvakt")
    api.close()
