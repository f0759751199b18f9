"""Entry point of `python -m bench` (the `make bench` benchmark); see bench/run.py."""

import sys

from bench.run import main

sys.exit(main())
