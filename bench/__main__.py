"""Entry point of `python -m bench` (the `make bench` benchmark, bench/run.py) and of
`python -m bench load` (the load run, bench/load.py) and of `python -m bench relevance` (the
judged query set, bench/relevance.py) and of `python -m bench threads` (story threads on the
real corpora, bench/threads.py)."""

import sys

if sys.argv[1:2] == ["load"]:
    from bench.load import main

    sys.exit(main(sys.argv[2:]))
if sys.argv[1:2] == ["threads"]:
    from bench.threads import main

    sys.exit(main(sys.argv[2:]))
if sys.argv[1:2] == ["relevance"]:
    from bench.relevance import main

    sys.exit(main(sys.argv[2:]))

from bench.run import main

sys.exit(main())
