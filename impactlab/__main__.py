"""``python -m impactlab`` runs the command line."""

from impactlab.cli.main import main

raise SystemExit(main())
