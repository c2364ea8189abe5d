"""Training of emotion models (needs the optional ``train`` extra: torch).

Data set -> ``data`` (uint8 tensors) -> ``augment`` (batched, on the training device)
-> ``trainer`` (loop, schedule, checkpoints, logs, curves) -> ``export`` (ONNX + metadata).
Architectures live in the ``architectures`` registry: ``create_model(name)``.
"""
