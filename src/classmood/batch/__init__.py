"""Many recorded classes as one Ray job (``classmood batch``, the ``cluster`` extra).

``inputs`` turns files, folders and globs into recordings, ``job`` runs them on Ray actors that
each hold one loaded pipeline, ``result`` is what each recording gave. Ray is imported only
inside ``job``'s functions: the core package runs without it.
"""

from classmood.batch.inputs import Recording, expand_inputs, plan_recordings
from classmood.batch.result import RecordingResult

__all__ = ["Recording", "RecordingResult", "expand_inputs", "plan_recordings"]
