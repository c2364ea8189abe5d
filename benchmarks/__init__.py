"""classmood benchmarks against its peers (the ``fer`` package and others).

Entry point: ``python -m benchmarks run [--quick]``. Each system runs in its own
subprocess (each peer in its own virtual environment under ``.bench/venvs``) on the
same inputs; results land in ``docs/benchmarks.md``, ``docs/benchmarks/*.png`` and
``docs/benchmarks/results.json``.
"""
