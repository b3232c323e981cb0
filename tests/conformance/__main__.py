"""`python -m tests.conformance ...`: see tests/conformance/cli.py."""

import sys

from tests.conformance.cli import main

sys.exit(main(sys.argv[1:]))
