"""``python -m impactlab.ble.sim CONFIG``: the simulated sensor's child process (see :mod:`.process`)."""

import sys

from .process import serve

raise SystemExit(serve(sys.argv[1:]))
