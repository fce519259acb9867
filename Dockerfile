# Gradelab: one image for the web app (gunicorn), the grading workers and the one-off `prepare`.
FROM python:3.11-slim-bookworm

# bubblewrap and libseccomp: the grading sandbox; Node.js and npm: the browser libraries, at build time.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap libseccomp2 nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The CPU build of torch first, from PyTorch's own index: PyPI's default is a multi-GB CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY grader grader
COPY platform platform
COPY migrations migrations
COPY exercises exercises
RUN pip install --no-cache-dir -e . \
 && npm ci --prefix platform --no-audit --no-fund --loglevel=error \
 && pybabel compile -d platform/gradelab/translations

ENV GRADELAB_EXERCISES_DIR=/app/exercises \
    GRADELAB_CACHE_DIR=/var/cache/gradelab
RUN useradd --system --create-home gradelab && mkdir -p /var/cache/gradelab && chown gradelab /var/cache/gradelab
USER gradelab
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "gradelab:create_app()"]
