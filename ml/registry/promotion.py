"""Champion vs challenger on one holdout: which way a metric points, and the decision with a margin."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ml.compile.evaluation import LOWER_IS_BETTER


@dataclass(frozen=True)
class Decision:
    """The outcome of one promotion: `gain` is in the metric's units, positive when the challenger is
    better (whichever way the metric points); None when there was no champion to beat."""

    champion_score: float | None
    challenger_score: float
    gain: float | None
    promoted: bool

    @property
    def label(self) -> str:
        return "promoted" if self.promoted else "kept"


def decide(metric: str, champion: float | None, challenger: float, min_gain: float) -> Decision:
    """Promote when the challenger beats the champion by more than `min_gain`; a tie within the
    margin keeps the champion. With no champion yet, a challenger with a real score wins."""
    if challenger is None or math.isnan(challenger):
        return Decision(champion, challenger, None, False)
    if champion is None or math.isnan(champion):
        return Decision(champion, challenger, None, True)
    gain = champion - challenger if metric in LOWER_IS_BETTER else challenger - champion
    return Decision(champion, challenger, gain, gain > min_gain)
