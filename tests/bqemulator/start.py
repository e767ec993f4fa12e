"""Start bqemulator (PyPI) for cohort's BigQuery tests, offline.

bqemulator loads DuckDB's `spatial` extension at start-up and fails when it
cannot download it (no network here, and cohort uses no GEOGRAPHY), so this
launcher turns that step into a no-op, then runs `bqemulator start` with the
arguments given, e.g. `python3 start.py --rest-port 0 --grpc-port 0`.
"""

import sys

from bqemulator.cli import main
from bqemulator.storage import engine

engine.DuckDBEngine._load_spatial = lambda self: None

if __name__ == "__main__":
    sys.argv = ["bqemulator", "start", *sys.argv[1:]]
    main()
