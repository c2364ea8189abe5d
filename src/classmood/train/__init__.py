"""Training of emotion models (needs the optional ``train`` extra: torch).

Data set -> ``data`` (uint8 tensors) -> ``augment`` (batched, on the training device)
-> ``trainer`` (loop, schedule, evaluation, checkpoints, resume, logs), fed soft targets by ``targets``
(one source per kind of teacher) and ended by ``finishers`` (weight averaging, batch norm re-measured,
the QAT checkpoint, summary and curves) -> ``export`` (ONNX + metadata). ``checkpoint`` owns the file
format, ``inference`` rebuilds and runs trained models. Architectures live in the ``architectures``
registry: ``create_model(name)``.
"""
