# API image. Tarantool runs in its own container (see docker-compose.yml).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# gcc compiles the write path's C extension (setup.py); the image ships Python's headers.
# asynctnt and argon2-cffi ship manylinux wheels.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml setup.py README.md ./
COPY src ./src
COPY migrations ./migrations
# The extensions are optional for pip (a machine without a compiler still installs): here a
# missing one fails the build instead of shipping an image without the fast path.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install . \
    && /opt/venv/bin/python -c "import kv_api.infrastructure._jsonbatch"

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KV_HOST=0.0.0.0 \
    KV_PORT=8080 \
    KV_DATA_DIR=/var/lib/kv-api
RUN useradd --system --uid 10001 --home /var/lib/kv-api kvapi \
    && mkdir -p /var/lib/kv-api && chown kvapi /var/lib/kv-api
COPY --from=build /opt/venv /opt/venv
USER kvapi
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2).status == 200 else 1)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["kv-api"]
CMD ["serve"]
