"""The seven FER-2013 emotion classes, in the order every classmood model uses."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

#: Emotions a teacher may want to act on when they persist (see the monitoring alerts).
NEGATIVE_EMOTIONS: frozenset[str] = frozenset({"angry", "disgust", "fear", "sad"})
