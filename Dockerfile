# The WuffChat gRPC server (`make image` builds it; README "Container image").
# Build context: the repository after `make setup` and `make web` (generated code and the web client are
# built on the host, never in here) and build/image/ (the wheelhouse `make image` fills from
# requirements.lock: a build inside the engine reaches no package index).
# BASE_IMAGE: any Debian bookworm with python3.11 and its venv module; `make image` uses the official
# image when it can be had and a debootstrap base otherwise.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# The pip `make setup` pins (scripts/image.py passes the Makefile's).
ARG PIP_VERSION=26.3
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY build/image/wheels/ /wheels/
COPY requirements.lock build/image/requirements.txt /wheels/
# Only the server's own dependencies, each at the version requirements.lock pins, from the wheelhouse.
RUN python3.11 -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --quiet --no-index --find-links /wheels "pip==${PIP_VERSION}" \
 && /opt/venv/bin/python -m pip install --quiet --no-index --find-links /wheels \
      -c /wheels/requirements.lock -r /wheels/requirements.txt \
 && /opt/venv/bin/python -m pip uninstall --quiet --yes pip \
 && echo "/app" > /opt/venv/lib/python3.11/site-packages/wuffchat-app.pth \
 && echo "/app/gen/python" >> /opt/venv/lib/python3.11/site-packages/wuffchat-app.pth

WORKDIR /app
COPY server/ server/
COPY interceptors/ interceptors/
COPY rpc/ rpc/
COPY gen/python/ gen/python/
COPY data/ data/
COPY clients/web/dist/ clients/web/dist/
COPY envoy.yaml ./
COPY scripts/render_envoy.py scripts/envoy_tls.py scripts/envoy_stats.py scripts/envoy_fleet.py scripts/envoy_tracing.py \
     scripts/healthcheck.py scripts/
# Byte code now: the root filesystem is read-only at run time.
RUN python3.11 -m compileall -q server interceptors rpc gen scripts

FROM ${BASE_IMAGE}
# 10001: a fixed id outside any distribution's range; deploy/k8s sets the same runAsUser (a test checks).
RUN groupadd --gid 10001 wuffchat \
 && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin wuffchat
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# var/ is the one writable path (SQLite, dev data keys, knowledge overlay, embedding cache): a volume, or
# a tmpfs with `--read-only`; /tmp too.
RUN mkdir /app/var && chown 10001:10001 /app/var
VOLUME ["/app/var"]
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GRPC_ADDR=0.0.0.0:50051 \
    METRICS_ADDR=0.0.0.0:9464
USER 10001:10001
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "scripts/healthcheck.py"]
# Exec form: the server is PID 1 and gets SIGTERM itself (health NOT_SERVING, in-flight calls finish).
ENTRYPOINT ["python", "-m", "server"]
