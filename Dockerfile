# Mirrors `make run`: a venv, the project installed from pyproject.toml, ./data for the database.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH

# ffmpeg only matters for the optional openai-whisper engine; faster-whisper decodes with PyAV.
# EXTRAS=postgres adds asyncpg, and procrastinate + psycopg for TRANSCRIBE_BACKEND=queue
# (docker compose build --build-arg EXTRAS=postgres); `python -m bot worker` runs the same image
ARG EXTRAS=
RUN useradd --create-home --uid 10001 between
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN python -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir -q ".${EXTRAS:+[$EXTRAS]}" \
    && mkdir -p /app/data \
    && chown -R between:between /app/data

USER between
VOLUME ["/app/data"]
ENV DATABASE_URL=sqlite+aiosqlite:////app/data/between.db
# webhook mode listens here when WEBHOOK_URL is set
EXPOSE 8443
# the queue worker (TRANSCRIBE_BACKEND=queue) is this image with: python -m bot worker
CMD ["python", "-m", "bot"]
