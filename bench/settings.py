"""The settings of ``bench.apps:create_auth_app()``: the auth service's, unchanged.

``shared.gunicorn_conf`` checks ``<package>.settings`` once in the master before any worker
starts; for the bench's factory that package is ``bench``, and this is what it finds.
"""

from auth_service.settings import Settings

__all__ = ["Settings"]
