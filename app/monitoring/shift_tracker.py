"""One emotional-shift detector per participant per room, rebuilt from storage on a miss."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from app.core.context import Domain
from app.core.enums import RiskLevel
from app.safety import scores
from app.safety.scores import EarlierScore
from nlp.shift import Shift, ShiftDetector, distress_of

REPLAY = 50
"""Earlier scores replayed into a rebuilt detector: more than its slowest memory needs."""


def _replay(detector: ShiftDetector, earlier: list[EarlierScore]) -> None:
    for e in earlier[-REPLAY:]:
        detector.update(e.sentiment, distress_of(e.risk_level, e.emotions))


class ShiftTracker:
    """Detector state lives in memory on the node that scores the participant's messages (the
    node they are connected to); after a restart or a move it is replayed from stored scores
    (sentiment, risk level and emotions), so storage stays the only source of truth."""

    def __init__(self, domain: Domain, *, capacity: int = 20_000) -> None:
        self._domain = domain
        self._detectors: OrderedDict[tuple[str, str], ShiftDetector] = OrderedDict()
        self._capacity = capacity

    async def prefetch(self, keys: set[tuple[str, str]]) -> None:
        """Rebuild the detectors a batch needs with one query, not one per participant."""
        missing = {key for key in keys if key not in self._detectors}
        if not missing:
            return
        history = await scores.recent_scores_of(self._domain, missing)
        for key in missing:
            detector = ShiftDetector()
            _replay(detector, history.get(key, []))
            self._remember(key, detector)

    def _remember(self, key: tuple[str, str], detector: ShiftDetector) -> None:
        self._detectors[key] = detector
        if len(self._detectors) > self._capacity:
            self._detectors.popitem(last=False)

    async def update(
        self,
        *,
        room_id: str,
        sender_id: str,
        seq: int,
        score: float,
        risk_level: str = RiskLevel.NONE,
        emotions: Mapping[str, float] | None = None,
    ) -> Shift:
        """One scored message: its sentiment score, risk level and emotions (for distress)."""
        key = (room_id, sender_id)
        detector = self._detectors.get(key)
        if detector is None:
            detector = ShiftDetector()
            _replay(
                detector,
                await scores.recent_participant_scores(
                    self._domain, room_id=room_id, sender_id=sender_id, before_seq=seq,
                    limit=REPLAY,
                ),
            )  # fmt: skip
            self._remember(key, detector)
        else:
            self._detectors.move_to_end(key)
        return detector.update(score, distress_of(risk_level, emotions))
