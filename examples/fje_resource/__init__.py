"""flask-jwt-extended verifying tokenpair access tokens: the recipe and FJE's defaults."""
