"""The same service with flask-jwt-extended's defaults: what a team configures first.

``JWT_DECODE_ALGORITHMS=["RS256"]``, the issuer, the audience, ``JWT_IDENTITY_CLAIM="sub"`` and a
``decode_key_loader`` over the JWKS, nothing else. tests/e2e/test_fje_recipe.py runs the
conformance kit's resource-server checks against it and asserts which of them fail; do not
deploy it. ``gunicorn --workers 1 'examples.fje_resource.defaults:create_app()'``
"""

from __future__ import annotations

from collections.abc import Mapping

import jwt
from flask import Flask

from .app import create_app as _create_app


def create_app(
    environ: Mapping[str, str] | None = None, *, jwks: jwt.PyJWKClient | None = None
) -> Flask:
    """The notes API behind flask-jwt-extended configured with its defaults."""
    return _create_app(environ, recipe=False, jwks=jwks)
