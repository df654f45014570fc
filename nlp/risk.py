"""Crisis-risk decision for one message: lexicon rules first, embedding signals second.

Why this order: the lexicon is precise, reviewable and understands negation, idiom and tense;
the embedding signals (similarity to crisis exemplars, and a classifier trained on reddit_cssrs)
catch paraphrases without keywords but cannot see "not", "used to" or "killing me" jokes. So the
embedding signals are ignored when the lexicon has explained a risk word away (negation or idiom
and no remaining hit), and they are capped at ``elevated`` when the lexicon put the message in
the past. A miss is worse than a false alarm: when a signal is uncertain, the level is elevated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nlp.crisis_lexicon import LexiconResult
from nlp.types import Risk

_ORDER = {"none": 0, "elevated": 1, "crisis": 2}


@dataclass(frozen=True)
class RiskThresholds:
    """Cut-offs for the embedding signals (fitted by nlp.training.train on training/dev data
    only)."""

    sim_crisis: float = 0.72  # cosine to the nearest crisis exemplar for level crisis
    sim_elevated: float = 0.58  # ... for level elevated
    sim_margin: float = 0.03  # crisis exemplar must beat the nearest benign look-alike by this
    clf_elevated: float = 0.5  # reddit_cssrs classifier probability for level elevated


@dataclass(frozen=True)
class SemanticSignals:
    crisis_sim: float
    crisis_exemplar: str
    benign_sim: float
    clf_prob: float


def assess(lex: LexiconResult, sem: SemanticSignals | None, th: RiskThresholds) -> Risk:
    """Combine the signals into one level, with reasons in plain words and model evidence apart.

    A reason quotes only the participant's own words; the crisis statement a message was found
    close to, similarities and classifier scores go to ``evidence`` (staff must never read a
    reference sentence as something the person said).
    """
    level = lex.level
    reasons = list(lex.reasons)
    evidence: list[dict[str, Any]] = [
        {"source": "lexicon", "category": h.category, "past": h.past} for h in lex.hits
    ]
    if sem is not None and (lex.hits or not (lex.idioms or lex.negated)):
        only_past = any(h.past for h in lex.hits) and not any(
            h.level == "crisis" and not h.past for h in lex.hits
        )
        cap = "elevated" if only_past else "crisis"
        sem_level = "none"
        if sem.crisis_sim >= th.sim_crisis and sem.crisis_sim >= sem.benign_sim + th.sim_margin:
            sem_level = "crisis"
        elif sem.crisis_sim >= th.sim_elevated and sem.crisis_sim > sem.benign_sim:
            sem_level = "elevated"
        if sem_level != "none":
            if _ORDER[sem_level] > _ORDER[cap]:
                sem_level = cap
            level = max(level, sem_level, key=_ORDER.__getitem__)
            reasons.append("wording close in meaning to known crisis statements")
            evidence.append(
                {
                    "source": "reference_sentence",
                    "text": sem.crisis_exemplar,
                    "similarity": round(sem.crisis_sim, 3),
                    "benign_similarity": round(sem.benign_sim, 3),
                }
            )
        if sem.clf_prob >= th.clf_elevated:
            level = max(level, "elevated", key=_ORDER.__getitem__)
            reasons.append("wording resembles forum posts about suicidal thoughts")
            evidence.append(
                {"source": "forum_post_classifier", "probability": round(sem.clf_prob, 3)}
            )
    if level == "none":
        reasons, evidence = [], []
    return Risk(level, tuple(reasons), tuple(evidence))
