"""One module per subcommand, each with ``add_parser(subparsers)`` and ``run(args) -> int``.

Modules here are discovered automatically; ``ORDER`` sets their place in ``--help``.
"""

ORDER = ["analyze", "import_", "plan", "mark", "report", "history", "clients", "batch", "collate",
         "scan", "stream", "sync"]
