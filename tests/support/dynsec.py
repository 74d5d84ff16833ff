"""A real Mosquitto with the dynamic security plugin, its admin account made by mosquitto_ctrl."""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

from tests.support.mosquitto import Mosquitto

__all__ = ["ADMIN_PASSWORD", "dynsec_mosquitto", "dynsec_plugin"]

ADMIN_PASSWORD = "dynsec-admin-0123456789"


def dynsec_plugin() -> str | None:
    found = glob.glob("/usr/lib/*/mosquitto_dynamic_security.so") + glob.glob(
        "/usr/lib/mosquitto*/mosquitto_dynamic_security.so"
    )
    return found[0] if found else None


def dynsec_mosquitto(workdir: Path) -> Mosquitto:
    plugin = dynsec_plugin()
    ctrl = shutil.which("mosquitto_ctrl")
    assert plugin, "mosquitto's dynamic security plugin is not installed"
    assert ctrl, "mosquitto_ctrl is not installed (Debian package mosquitto-clients)"
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "dynsec.json"
    subprocess.run(
        [ctrl, "dynsec", "init", str(config), "admin", ADMIN_PASSWORD],
        check=True,
        capture_output=True,
    )
    # `user root`: as root, mosquitto would switch to the mosquitto user, which may not write
    # the plugin's file in a pytest tmp dir
    extra = f"allow_anonymous false\nplugin {plugin}\nplugin_opt_config_file {config}\nuser root\n"
    return Mosquitto(workdir, extra_conf=extra).start()
