"""Aggregation: smoothing, engagement index, per-second rows and alerts raised once."""

from __future__ import annotations

import numpy as np
import pytest

from classmood.aggregate import (
    AggregatorConfig, AlertConfig, ClassAggregator, engagement_band, engagement_index,
)
from classmood.aggregate.smoothing import TimeEMA
from classmood.emotions import EMOTIONS
from fixtures.detections import seen, tracked


def onehot(emotion: str, p: float = 0.9) -> np.ndarray:
    v = np.full(len(EMOTIONS), (1 - p) / (len(EMOTIONS) - 1))
    v[EMOTIONS.index(emotion)] = p
    return v


def test_engagement_uses_the_published_weights():
    assert engagement_index(onehot("neutral", 1.0)) == pytest.approx(0.9)
    assert engagement_index(onehot("disgust", 1.0)) == pytest.approx(0.2)
    assert engagement_index(onehot("happy", 1.0), gaze=0.0) == 0.0
    half = (onehot("neutral", 1.0) + onehot("angry", 1.0)) / 2
    assert engagement_index(half) == pytest.approx((0.9 + 0.25) / 2)
    assert [engagement_band(x) for x in (0.8, 0.4, 0.1)] == ["high", "nominal", "low"]


def test_ema_removes_flicker_and_follows_a_real_change():
    ema = TimeEMA(tau_s=1.0)
    happy, sad = onehot("happy"), onehot("sad")
    for k in range(30):  # alternating frames at 10 fps: the smoothed winner must not flip
        value = ema.update(sad if k % 7 == 3 else happy, k * 0.1)
        assert EMOTIONS[int(np.argmax(value))] == "happy"
    for k in range(30, 80):  # a real change of 5 s is followed
        value = ema.update(sad, k * 0.1)
    assert EMOTIONS[int(np.argmax(value))] == "sad"


def run(agg: ClassAggregator, seconds: float, fps: float, scene):
    rows, opened, closed = [], [], []
    for k in range(int(seconds * fps)):
        t = k / fps
        update = agg.update(t, tracked(scene(t)))
        rows += update.seconds
        opened += update.opened
        closed += update.closed
    final = agg.finish()
    return rows + final.seconds, opened + final.opened, closed + final.closed


def test_per_second_rows_presence_and_engagement():
    agg = ClassAggregator()
    # student 1 always there and neutral; student 2 seen on half the frames, happy
    rows, _, _ = run(agg, 10, 4, lambda t: [seen(1, onehot("neutral"))]
                     + ([seen(2, onehot("happy"))] if int(t * 4) % 2 == 0 else []))
    by = {(r.student_id, r.second): r for r in rows}
    assert sorted({s for s, _ in by}) == [1, 2] and len(by) == 20
    assert by[(1, 5)].presence == 1.0 and by[(2, 5)].presence == 0.5
    assert by[(1, 5)].emotion == "neutral" and by[(2, 5)].emotion == "happy"
    assert by[(2, 5)].engagement == pytest.approx(0.5 * engagement_index(np.array(by[(2, 5)].probabilities)))
    assert abs(sum(by[(1, 5)].probabilities) - 1) < 1e-6


def test_absent_and_negative_alerts_raised_once_with_start_and_end():
    cfg = AggregatorConfig(alerts=AlertConfig(absent_after_s=10, negative_after_s=8, clear_after_s=3))
    agg = ClassAggregator(cfg)

    def scene(t):
        obs = [seen(1, onehot("sad") if 20 <= t < 50 else onehot("neutral"))]
        if not 30 <= t < 60:  # student 2 leaves for 30 s
            obs.append(seen(2, onehot("happy")))
        return obs

    _, opened, closed = run(agg, 90, 2, scene)
    kinds = sorted((a.kind, a.student_id) for a in opened)
    assert kinds == [("absent", 2), ("negative", 1)]
    absent = next(a for a in closed if a.kind == "absent")
    assert absent.started_at == pytest.approx(29.5) and absent.ended_at == pytest.approx(60.0)
    negative = next(a for a in closed if a.kind == "negative")
    assert 20 <= negative.started_at <= 23 and 50 <= negative.ended_at <= 53
    assert len(closed) == 2 and not agg.alerts.active


def test_short_absence_and_brief_sadness_raise_nothing():
    agg = ClassAggregator(AggregatorConfig(alerts=AlertConfig(absent_after_s=10, negative_after_s=8)))
    _, opened, _ = run(agg, 60, 2, lambda t: [] if 10 <= t < 15 else
                       [seen(1, onehot("sad") if 30 <= t < 35 else onehot("neutral"))])
    assert opened == []


def test_class_mood_drop_alert():
    cfg = AlertConfig(mood_window_s=20, mood_baseline_s=60, mood_drop=0.15, mood_after_s=10)
    agg = ClassAggregator(AggregatorConfig(alerts=cfg))
    def scene(t):
        return [seen(i, onehot("disgust" if t >= 100 else "neutral")) for i in range(1, 6)]

    _, opened, _ = run(agg, 160, 1, scene)
    drops = [a for a in opened if a.kind == "mood_drop"]
    assert len(drops) == 1 and drops[0].student_id is None and 100 <= drops[0].started_at <= 110
    mood = agg.mood()
    assert mood.present == 5 and mood.emotion == "disgust" and mood.engagement < 0.35


def test_cards_show_presence_and_confidence():
    agg = ClassAggregator()
    agg.update(0.0, tracked([seen(1, onehot("happy", 0.8), (1, 2, 3, 4)), seen(2, onehot("sad", 0.7))]))
    agg.update(5.0, tracked([seen(1, onehot("happy", 0.8), (1, 2, 3, 4))]))
    cards = {c.student_id: c for c in agg.cards()}
    assert cards[1].present and cards[1].emotion == "happy" and cards[1].confidence == pytest.approx(0.8)
    assert not cards[2].present and cards[2].emotion is None and cards[2].engagement == 0.0
    assert cards[1].name == "S01"
