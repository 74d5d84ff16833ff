# The kommunvakt platform: gateway, API, web pages (docker-compose.yml runs it beside Mosquitto,
# InfluxDB 2 and Grafana). Build: docker build -t kommunvakt:0.1.0 .
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . /src
# PostgreSQL driver included: KOMMUNVAKT_DATABASE_URL may point at a PostgreSQL server
RUN pip install '.[postgres]' \
    && useradd --system --uid 10001 --home-dir /var/lib/kommunvakt kommunvakt \
    && mkdir -p /var/lib/kommunvakt/grafana-dashboards \
    && chown -R kommunvakt /var/lib/kommunvakt

USER kommunvakt
WORKDIR /var/lib/kommunvakt
ENV KOMMUNVAKT_DATA_DIR=/var/lib/kommunvakt \
    KOMMUNVAKT_API_HOST=0.0.0.0 \
    KOMMUNVAKT_API_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"
CMD ["kommunvakt", "run"]
