"""The seven FER-2013 emotion classes, in the order every classmood model uses, and what each one means to classmood."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

#: Emotions a teacher may want to act on when they persist (see the monitoring alerts).
NEGATIVE_EMOTIONS: frozenset[str] = frozenset({"angry", "disgust", "fear", "sad"})

# The engagement index (aggregate/engagement.py) and the report both read these.
#: Emotion weights of the concentration index (Sharma et al. 2019, Table 1).
CONCENTRATION_WEIGHTS: dict[str, float] = {
    "angry": 0.25,
    "disgust": 0.2,
    "fear": 0.3,
    "happy": 0.6,
    "neutral": 0.9,
    "sad": 0.3,
    "surprise": 0.6,
}

#: Bands of the index used by the paper: highly engaged, nominally engaged, not engaged.
HIGH_ENGAGEMENT = 0.65
LOW_ENGAGEMENT = 0.25
