# claimrisk scoring service. Build from the repository root:
#   docker build -t claimrisk .
#   docker run -p 8000:8000 -e CLAIMRISK_API_KEYS=score-key \
#     -e CLAIMRISK_ADMIN_KEYS=a-different-admin-key \
#     -v $PWD/models:/app/models:ro -e CLAIMRISK_MODEL=/app/models/demo claimrisk
# or point CLAIMRISK_MODEL at models:/claimrisk@champion with CLAIMRISK_TRACKING_URI set.
# Without CLAIMRISK_ADMIN_KEYS the reload endpoint does not exist; admin keys must differ from
# scoring keys. Mount models read-only: bundles are pickles, i.e. code (docs/serving.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CLAIMRISK_MODEL=/app/models/demo \
    CLAIMRISK_MODELS_DIR=/app/models

# LightGBM needs the OpenMP runtime
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
# the pinned runtime first (a bundle refuses library versions other than it was trained with;
# `make install` trains with the same pins), then claimrisk itself without resolving again
RUN pip install -r requirements.lock
COPY features ./features
COPY training ./training
COPY store ./store
COPY web ./web
COPY serving ./serving
RUN pip install --no-deps . && useradd --create-home --uid 10001 claimrisk
USER claimrisk

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["uvicorn", "--factory", "serving.app:create_app", "--host", "0.0.0.0", "--port", "8000", \
     "--timeout-keep-alive", "5", "--limit-concurrency", "256", \
     "--h11-max-incomplete-event-size", "16384", "--no-access-log"]
