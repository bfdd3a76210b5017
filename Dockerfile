# claimrisk scoring service. Build from the repository root:
#   docker build -t claimrisk .
#   docker run -p 8000:8000 -e CLAIMRISK_API_KEYS=change-me \
#     -v $PWD/models:/app/models -e CLAIMRISK_MODEL=/app/models/demo claimrisk
# or point CLAIMRISK_MODEL at models:/claimrisk@champion with CLAIMRISK_TRACKING_URI set.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CLAIMRISK_MODEL=/app/models/demo

# LightGBM needs the OpenMP runtime
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY features ./features
COPY training ./training
COPY serving ./serving
RUN pip install . && useradd --create-home --uid 10001 claimrisk
USER claimrisk

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["claimrisk", "serve", "--host", "0.0.0.0", "--port", "8000"]
