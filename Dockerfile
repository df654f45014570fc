# peerchat: one node. Run several behind a load balancer with PostgreSQL and Redis
# (see docker-compose.yml). CPU-only torch keeps the image small.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    PEERCHAT_FRONTEND_DIR=/srv/peerchat/frontend \
    PEERCHAT_NLP_CACHE_DIR=/srv/peerchat/var/nlp-cache

WORKDIR /srv/peerchat

# torch first, from the CPU wheel index: the default index would bring CUDA libraries.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY app ./app
COPY nlp ./nlp
COPY migrations ./migrations
COPY frontend ./frontend
RUN pip install . && useradd --system --uid 10001 --home-dir /srv/peerchat peerchat \
    && mkdir -p /srv/peerchat/var && chown peerchat /srv/peerchat/var

USER peerchat
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["peerchat", "serve", "--host", "0.0.0.0", "--port", "8000"]
