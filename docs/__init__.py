"""The user documentation (``cli.md``, ``method.md``, ``batch.md``, ...), installed as ``impactlab.docs``.

``impactlab --help`` and each command's ``--help`` name these files by their installed path, so a
wheel user can open them; in a checkout they are this folder, ``docs/``.
"""
