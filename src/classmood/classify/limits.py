"""What the emotion models cannot do, said once for the model cards and every HTML report."""

from __future__ import annotations

#: Bullet points, in the order a reader needs them (plain text, no markup).
LIMITATIONS = (
    "Every figure is a probability read from a facial expression, not what a student feels.",
    "Known failure modes (FER-2013 publictest confusion, docs/models): fear is often read as sad, neutral or "
    "surprise, sad as neutral, disgust as angry; the models learned from posed and spontaneous web photos, so "
    "the subtle expressions of a class read weaker; faces under about 40 pixels, turned away, half lit or "
    "partly covered are read less reliably.",
    "The engagement index is an aggregate signal of expressions, smoothed over seconds: a prompt to look at the "
    "class, not a measure of attention, learning or effort, and never a grade.",
    "No age, gender or ethnicity is inferred or stored: the analysis has no use for them, and such inferences "
    "from faces are unreliable and discriminatory.",
    "The EU AI Act (Regulation 2024/1689, Article 5(1)(f)) prohibits emotion recognition in workplaces and "
    "education institutions in the EU except for medical or safety reasons.",
)
