# Build stage: the pinned, hashed dependencies of requirements.lock and the gateway's wheel go
# into a virtual environment by deploy/install.sh, the same script the install test runs.
FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY deploy ./deploy
COPY gateway ./gateway
COPY matcher ./matcher
COPY adapters ./adapters
COPY benchmarks ./benchmarks
RUN PYTHON=/usr/local/bin/python3.11 sh deploy/install.sh /opt/satupintu

# Runtime stage: the same base, the environment alone (no uv, no compiler), non-root user,
# one uvicorn process per container.
FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 satupintu
COPY --from=build /opt/satupintu /opt/satupintu
USER satupintu
WORKDIR /home/satupintu
ENV PATH=/opt/satupintu/bin:$PATH \
    SATUPINTU_HOST=0.0.0.0 \
    SATUPINTU_PORT=8000 \
    SATUPINTU_DATA_DIR=/home/satupintu/var
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["satupintu", "serve"]
