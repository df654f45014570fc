"""One emotional-shift detector per participant per room, rebuilt from storage on a miss."""

from __future__ import annotations

from collections import OrderedDict

from app.domain import scores
from app.domain.context import Domain
from nlp.shift import Shift, ShiftDetector


class ShiftTracker:
    """Detector state lives in memory on the node that scores the participant's messages (the
    node they are connected to); after a restart or a move it is replayed from stored scores,
    so storage stays the only source of truth."""

    def __init__(self, domain: Domain, *, capacity: int = 20_000) -> None:
        self._domain = domain
        self._detectors: OrderedDict[tuple[str, str], ShiftDetector] = OrderedDict()
        self._capacity = capacity

    async def update(self, *, room_id: str, sender_id: str, seq: int, score: float) -> Shift:
        key = (room_id, sender_id)
        detector = self._detectors.get(key)
        if detector is None:
            detector = ShiftDetector()
            for earlier in await scores.recent_participant_scores(
                self._domain, room_id=room_id, sender_id=sender_id, before_seq=seq
            ):
                detector.update(earlier)
            self._detectors[key] = detector
            if len(self._detectors) > self._capacity:
                self._detectors.popitem(last=False)
        else:
            self._detectors.move_to_end(key)
        return detector.update(score)
