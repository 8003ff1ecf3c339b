# syntax=docker/dockerfile:1
# The career-advisor bot in one image: CPU-only PyTorch, the bundled embedding model, the knowledge base and the
# prompts. Everything the bot writes (the Chroma index, the SQLite database) goes to the /data volume.
# Build and run with `docker compose up -d --build` (README, "Deployment").

# One exact Python release for both stages: the virtualenv made in the first runs in the second.
FROM python:3.11.14-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv

# PyPI's Linux wheels of torch pull in the CUDA libraries, gigabytes that a CPU-only container never uses.
# PyTorch's own CPU index serves the same release without them, and a Docker build can reach it, so the image
# takes torch from there (the version the Makefile pins). The constraint stops the project install below from
# replacing it with PyPI's build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && echo "torch==2.13.0" > /tmp/torch-constraint.txt

WORKDIR /src
# Dependencies first, from pyproject.toml alone (empty package folders, an empty README), so that an edit to the
# code or the README reuses this layer.
COPY pyproject.toml ./
RUN mkdir bot ingest \
    && touch README.md \
    && pip install --constraint /tmp/torch-constraint.txt ".[openai]" \
    && pip uninstall --yes career-advisor-bot
# The project itself, as a regular (non-editable) install into the virtualenv.
COPY README.md ./
COPY bot ./bot
COPY ingest ./ingest
RUN pip install --no-deps .


FROM python:3.11.14-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DATA_DIR=/data \
    KNOWLEDGE_DIR=/app/knowledge \
    PROMPTS_DIR=/app/prompts \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

# An unprivileged user; /data belongs to it, so a named volume mounted there starts out writable.
RUN groupadd --system --gid 10001 advisor \
    && useradd --system --uid 10001 --gid advisor --create-home --home-dir /home/advisor advisor \
    && mkdir /data \
    && chown advisor:advisor /data

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# A regular install leaves no prompts/ beside the bot package: PROMPTS_DIR (above) points here.
COPY prompts ./prompts
COPY knowledge ./knowledge
COPY docker/entrypoint.sh ./docker/entrypoint.sh

# By number, so that a runtime that insists on a non-root user (runAsNonRoot) can tell.
USER 10001:10001

# Fail the build rather than the first start: the packaged embedding model passes its sha256 check and embeds
# offline as this user, the knowledge base validates, and every prompt file has its placeholders.
RUN python -c "from ingest.embeddings import SentenceTransformerEmbeddings, bundled_model_path; \
print('embedding model:', bundled_model_path()); \
assert len(SentenceTransformerEmbeddings().embed_query('cloud certification')) == 384" \
    && python -m ingest --check \
    && python -c "from bot.config import load_settings; from bot.prompts import Texts; \
from bot.llm.prompts import LLMPrompts; settings = load_settings(); \
Texts.load(settings.prompts_dir); LLMPrompts.from_prompts_dir(settings.prompts_dir)"

VOLUME ["/data"]
# /healthz on HTTP_PORT; in webhook mode Telegram's updates arrive on the same port.
EXPOSE 8080
# Ready means the model and the index are loaded and the database answers. The first start builds the
# index before the bot starts, hence the long start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 CMD ["python", "-c", \
    "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["bash", "/app/docker/entrypoint.sh"]
