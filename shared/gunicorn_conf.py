"""Gunicorn settings both services run with in containers.

    gunicorn -c python:shared.gunicorn_conf --bind 0.0.0.0:8001 'auth_service:create_app()'

Workers and threads come from the environment, so one image scales per deployment.
"""

import os

# Workers are processes: the CPU-bound work (argon2id, RSA signing) scales with them, not threads.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, finish in-flight requests for up to this long before exiting.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = "-"
errorlog = "-"
# Never log request headers or bodies: they carry tokens and passwords.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
