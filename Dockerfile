# Build stage: compile wheels once so the runtime image carries no compiler.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY matcher ./matcher
COPY adapters ./adapters
COPY benchmarks ./benchmarks
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

# Runtime stage: slim base, non-root user, one uvicorn process per container.
FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 satupintu
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
USER satupintu
WORKDIR /home/satupintu
ENV SATUPINTU_HOST=0.0.0.0 \
    SATUPINTU_PORT=8000 \
    SATUPINTU_DATA_DIR=/home/satupintu/var
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["satupintu", "serve"]
