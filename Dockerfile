# classmood web app in a container: `docker build -t classmood .` then (Linux)
#   docker run --rm --network host -v classmood-data:/data classmood
# and open http://127.0.0.1:8501 (see docs/app.md). Everything runs offline once built.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLASSMOOD_APP_HOME=/data/app \
    CLASSMOOD_DATABASE_URL=sqlite:////data/classmood.db \
    CLASSMOOD_APP_HOST=127.0.0.1 \
    CLASSMOOD_APP_PORT=8501

# Tesseract reads student names on gallery tiles (optional at run time, small)
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/classmood
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[app]' && rm -rf /root/.cache

RUN useradd --create-home --uid 1000 teacher && mkdir -p /data && chown teacher /data
USER teacher
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"CLASSMOOD_APP_PORT\"]}/health', timeout=4)"

CMD ["classmood", "app"]
