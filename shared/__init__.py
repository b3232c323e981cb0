"""Code both tokenpair services share: errors, configuration, keys, bearer checks, storage helpers.

This package never imports either service.
"""
