FROM python:3.11-slim
WORKDIR /app
# The packages are imported from /app, beside templates/, config/ and kb/ (the project root
# the code reads them from), not from the copy pip puts in site-packages.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app
COPY pyproject.toml README.md ./
COPY priemnaya priemnaya
COPY handlers handlers
COPY faq faq
COPY bots bots
COPY analytics analytics
COPY storage storage
# Extras to install: "neural" (faq.neural, x86-64 only), or empty: --build-arg EXTRAS=
ARG EXTRAS=neural
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"
COPY templates templates
COPY config config
COPY kb kb
# The defaults; docker-compose.yml mounts the institution's own settings.yaml over it.
COPY settings.yaml ./
# kb/ too: accepted FAQ suggestions are written into it (from_specialists.yaml). A bind
# mount over it keeps the host's owner: `chown -R 10001` that folder (README, Deployment).
# data/ (faq.last_good, faq.neural_cache; SQLite without PostgreSQL) belongs in a volume:
# a new named volume takes this folder's owner, so the app can write into it.
RUN useradd --system --uid 10001 priemnaya && mkdir -p data && chown -R priemnaya data kb
USER priemnaya
EXPOSE 8080
CMD ["priemnaya", "run", "--settings", "settings.yaml"]
