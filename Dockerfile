# syntax=docker/dockerfile:1
#
# One image for the six Entitle services; the argument picks the service:
#
#   docker build -t entitle .
#   docker run --rm -p 8101:8101 -e ENTITLE_SIGNING_KEY=... -e ENTITLE_DATABASE_URL=... \
#       -e ENTITLE_KAFKA_BOOTSTRAP=... entitle licensing
#
# Settings are ENTITLE_* environment variables (see deploy/README.md).
# It carries the runtime dependencies only (requirements/runtime.txt, hash-checked): the
# embedded infrastructure of `entitle dev` is not in it, and every remaining wheel exists for
# x86_64 and aarch64, so it builds for both:
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/entitle:TAG --push .

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the project and its dependencies in a virtualenv ----------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /src

# Dependencies first, from the lock alone, so that a code change does not reinstall them.
COPY requirements/runtime.txt ./requirements/
RUN pip install --require-hashes --no-deps -r requirements/runtime.txt

# Then the project itself (services/, shared/entitle_events and tools/entitle_cli), not editable.
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY tools ./tools
RUN pip install --no-deps --no-build-isolation . \
    && pip check \
    && entitle --help > /dev/null

# --- runtime -----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="entitle" \
      org.opencontainers.image.description="Entitle services: ingress, licensing, maintenance, ticketing, notification, portal" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    ENTITLE_HTTP_HOST=0.0.0.0

RUN groupadd --system --gid 10001 entitle \
    && useradd --system --uid 10001 --gid entitle --home-dir /home/entitle --create-home \
        --shell /usr/sbin/nologin entitle

COPY --from=builder /opt/venv /opt/venv

WORKDIR /home/entitle
USER 10001:10001

# Default ports: ingress 8100, licensing 8101, maintenance 8102, ticketing 8103,
# notification 8104, portal 8105 (ENTITLE_HTTP_PORT overrides).
EXPOSE 8100 8101 8102 8103 8104 8105

# Liveness of the HTTP server, stdlib only. The port is ENTITLE_HTTP_PORT; when that is unset
# it is the service's default port, the service being the last argument of PID 1.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request\ndefaults = {'ingress': 8100, 'licensing': 8101, 'maintenance': 8102, 'ticketing': 8103, 'notification': 8104, 'portal': 8105}\nport = os.environ.get('ENTITLE_HTTP_PORT') or defaults.get(open('/proc/1/cmdline', 'rb').read().rstrip(b'\\0').split(b'\\0')[-1].decode(), 8100)\nurllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

ENTRYPOINT ["entitle", "serve"]
CMD ["ingress"]
