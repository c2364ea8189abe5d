"""From tracked per-frame emotions to per-student and class state, per-second rows and alerts."""

from classmood.aggregate.aggregator import (
    STATES, AggregateUpdate, AggregatorConfig, ClassAggregator, ClassMood, StudentCard, StudentSecond,
)
from classmood.aggregate.alerts import Alert, AlertConfig
from classmood.aggregate.engagement import CONCENTRATION_WEIGHTS, engagement_band, engagement_index

__all__ = [
    "AggregateUpdate", "AggregatorConfig", "Alert", "AlertConfig", "CONCENTRATION_WEIGHTS", "ClassAggregator",
    "ClassMood", "STATES", "StudentCard", "StudentSecond", "engagement_band", "engagement_index",
]
