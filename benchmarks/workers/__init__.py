"""Worker scripts run in a subprocess, each in its system's own virtual environment.

They must import nothing from ``benchmarks`` or ``classmood`` at module level except
``protocol`` (the peer venvs have neither installed): they are run as plain scripts,
``<venv>/bin/python benchmarks/workers/<system>_worker.py JOB.json RESULT.json``.
"""
