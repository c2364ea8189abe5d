# classmood web app in a container: `docker build -t classmood .` then (Linux)
#   docker run --rm --network host -v classmood-data:/data classmood
# and open http://127.0.0.1:8501 (see docs/app.md). Everything runs offline once built.
# BASE may be any Debian-like image: the official Python image (default), or a bare Debian made by
# debootstrap (.ci/container.sh), in which case Python comes from Debian's packages.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLASSMOOD_APP_HOME=/data/app \
    CLASSMOOD_DATABASE_URL=sqlite:////data/classmood.db \
    CLASSMOOD_APP_HOST=127.0.0.1 \
    CLASSMOOD_APP_PORT=8501

# Tesseract reads student names on gallery tiles (optional at run time, small); python3 + venv
# only where the base image has no Python of its own. Everything is installed into /opt/venv.
RUN set -e; packages="tesseract-ocr tesseract-ocr-eng"; \
    if ! python3 -c "import ensurepip, venv" 2>/dev/null; then packages="$packages python3 python3-venv"; fi; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages; \
    rm -rf /var/lib/apt/lists/*; \
    python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /opt/classmood
# the dependencies first, from pyproject.toml alone: a change to src/ reuses this layer.
# PIP_CERT: a build may mount the host's CA bundle there (a registry reached through a proxy)
COPY pyproject.toml README.md ./
RUN set -e; [ ! -f /run/host-ca.crt ] || export PIP_CERT=/run/host-ca.crt; \
    python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['app'] + p['optional-dependencies']['ocr']))" > /tmp/requirements.txt; \
    pip install -r /tmp/requirements.txt; rm /tmp/requirements.txt
COPY src ./src
RUN set -e; [ ! -f /run/host-ca.crt ] || export PIP_CERT=/run/host-ca.crt; \
    pip install --no-deps . && rm -rf /root/.cache build

RUN useradd --create-home --uid 1000 teacher && mkdir -p /data && chown teacher /data
USER teacher
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"CLASSMOOD_APP_PORT\"]}/health', timeout=4)"

CMD ["classmood", "app"]
