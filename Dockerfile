# Production image: multi-stage, non-root; runs migrations, then the server against DATABASE_URL.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt ./
COPY backend ./backend
COPY routing ./routing
COPY notifications ./notifications
COPY schemas ./schemas
RUN /opt/venv/bin/pip install -c constraints.txt .
# Compile the routing kernel into numba's cache inside the installed package (outside /src so the
# installed copy is the one imported), so plans do not pay the compilation out of their time limit.
RUN cd / && /opt/venv/bin/python -m routing.warm

FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --create-home --home-dir /app app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH APP_ENV=production HOST=0.0.0.0 PORT=8000 PYTHONUNBUFFERED=1
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os;urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health')"
# DATABASE_URL (postgresql+asyncpg://...) and SECRET_KEY must be provided; the service refuses defaults.
# `exec`: the server becomes PID 1 and receives `docker stop`'s SIGTERM (a shell would swallow it and be
# SIGKILLed 10 s later). It stops within SHUTDOWN_TIMEOUT_S (default 8 s, under docker stop's 10 s).
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "python -m backend migrate && exec python -m backend serve"]
