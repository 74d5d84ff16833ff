#!/usr/bin/env bash
# Installs the Debian packages the tests talk to, when they are missing: a real Mosquitto and
# its clients, nats-server (a clustered broker), Chromium for the browser tests, PostgreSQL, VictoriaMetrics (speaks InfluxDB's
# /api/v2/write), poppler's pdftoppm, and Node.js with npm (the Flux language server that checks
# every Flux query runs under Node; `make flux-deps` installs it with npm). As root it uses
# apt-get; otherwise it says what to run.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# DejaVu Sans for the daily temperature record PDF (å ä ö, −, °); fpdf2 falls back to Helvetica
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# the Flux check (tests/test_flux_check.py): flux-lsp as WebAssembly under Node, from npm
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# validates docker-compose.yml offline (tests/test_compose.py); no Docker daemon needed
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# a clustered MQTT broker (three nodes, JetStream) for the broker failover test
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "kommunvakt tests need these Debian packages: ${need[*]}" >&2
    echo "install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
fi
echo "installing Debian packages for the tests: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start their own services; the tests start their own on free ports instead.
for svc in mosquitto postgresql victoria-metrics nats-server; do
    (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) || service "$svc" stop >/dev/null 2>&1 || true
done
