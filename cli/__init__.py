"""impactlab's command line: a thin front end over the library (installed as ``impactlab.cli``)."""
