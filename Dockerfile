# One image for both services; docker-compose.yml picks the factory to run.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared shared
COPY auth_service auth_service
COPY resource_service resource_service
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WEB_CONCURRENCY=2
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --create-home --home-dir /srv/tokenpair tokenpair \
    && install -d -o tokenpair -g tokenpair -m 0700 /srv/tokenpair/keys
USER tokenpair
WORKDIR /srv/tokenpair
EXPOSE 8001 8002
# docker-compose.yml gives each service its own command; alone, the image serves the auth service
# over plain HTTP on 0.0.0.0 and warns about it at start-up: put a TLS proxy in front.
CMD ["python", "-m", "shared.serve", "auth_service", "--bind", "0.0.0.0:8001"]

# The conformance kit (tests/conformance) on top: `docker compose --profile conformance run
# --rm conformance` checks the stack over HTTPS with it. pytest is the test extra's pin.
FROM runtime AS conformance
USER root
RUN pip install --no-cache-dir "pytest>=8.3,<10"
COPY tests/__init__.py tests/conftest.py tests/support.py /srv/kit/tests/
COPY tests/conformance /srv/kit/tests/conformance
USER tokenpair
WORKDIR /srv/kit
CMD ["python", "-m", "tests.conformance", "--help"]

# The default target, and what the services run: the image without the kit.
FROM runtime
