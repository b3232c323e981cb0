"""Benchmarks of tokenpair: ``python -m bench`` prints a markdown table (``--help`` for options).

Both services run under gunicorn exactly as in production (``-c python:shared.gunicorn_conf``);
wrk, in a separate process, drives them over loopback. The table of figures is
``bench/figures.py``: each row names side A, side B, the statistic and the goal.
Each figure compares two sides measured in turns, A B, B A, ..., and reports the median of the
runs with min-max, and the ratio computed run pair by run pair.

This package is a tool beside the product: the services never import it.
"""
