"""Rule layer of crisis detection: the curated lexicon in nlp/lexicon/crisis_lexicon.json.

The lexicon is data so that clinicians and moderators can review it without reading code. This
module only normalises text the way the patterns expect and applies three modifiers: negation
("im not suicidal"), idioms ("this homework is killing me") and tense ("i used to self-harm").
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

LEXICON_PATH = Path(__file__).resolve().parent / "lexicon" / "crisis_lexicon.json"
_NEGATION_WINDOW = 4  # tokens looked at before a phrase; only filler words may sit in between
_CLAUSE_BREAKS = frozenset({",", ".", ";", ":", "?", "but", "and", "though", "although", "because"})


@dataclass(frozen=True)
class Hit:
    """One lexicon phrase found in a message."""

    category: str
    level: str  # level of the category: "crisis" or "elevated"
    reason: str
    phrase: str
    past: bool = False  # category is tense-sensitive and the message puts it in the past


@dataclass(frozen=True)
class LexiconResult:
    hits: tuple[Hit, ...] = ()
    negated: tuple[str, ...] = ()  # crisis phrases cancelled by a negation
    idioms: tuple[str, ...] = ()  # figures of speech found
    tokens: tuple[str, ...] = field(default=(), repr=False)
    text: str = field(default="", repr=False)  # what the person wrote, for quoting their words

    @property
    def level(self) -> str:
        levels = {("elevated" if h.past else h.level) for h in self.hits}
        return "crisis" if "crisis" in levels else ("elevated" if levels else "none")

    @property
    def reasons(self) -> tuple[str, ...]:
        out: list[str] = []
        for h in self.hits:
            words = quote_original(self.text, h.phrase) if self.text else None
            text = f"{'mentions past: ' if h.past else ''}{h.reason}"
            if words:
                text += f' ("{words}")'
            if text not in out:
                out.append(text)
        return tuple(out)


def quote_original(text: str, phrase: str) -> str | None:
    """The participant's own words that a normalised lexicon phrase matched, or None.

    Reasons shown to staff quote what the person wrote ("don't want to live"), never the
    lexicon's normalised form ("dont want to live"), which reads like something they did not say.
    """
    tokens = phrase.split()
    if not tokens:
        return None
    apos = "['’‘`´]?"
    word = [apos.join(re.escape(c) + "+" for c in tok) for tok in tokens]
    found = re.search(
        r"(?<!\w)" + r"[\W_]+".join(word) + r"(?!\w)", unicodedata.normalize("NFKC", text), re.I
    )
    return found.group(0) if found else None


def normalise(text: str) -> str:
    """Lower-case, drop apostrophes, collapse repeats ('soooo' -> 'so'), split off punctuation."""
    t = unicodedata.normalize("NFKC", text).lower()
    t = re.sub(r"[’‘`´']", "", t)
    t = re.sub(r"(.)\1{2,}", r"\1", t)
    t = re.sub(r"([,.;:?])", r" \1 ", t)
    t = re.sub(r"[\"()\[\]{}<>/\\|~^_=+#&%$@-]", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def _compile(patterns: list[str]) -> re.Pattern[str]:
    # One word-start check outside the alternation: the alternatives are only tried at word
    # starts, which makes scanning several times faster than a lookbehind per alternative.
    body = "|".join(f"(?:{p})(?!\\w)" for p in patterns)
    return re.compile(f"(?<!\\w)(?:{body})")


@dataclass(frozen=True)
class _Category:
    name: str
    level: str
    reason: str
    temporal: bool
    regex: re.Pattern[str]


class CrisisLexicon:
    """Compiled lexicon; ``scan`` is pure and thread-safe."""

    def __init__(self, path: Path = LEXICON_PATH) -> None:
        raw = json.loads(path.read_text(encoding="utf-8"))
        self.version = int(raw.get("version", 0))
        self.categories = [
            _Category(
                name, c["level"], c["reason"], bool(c.get("temporal")), _compile(c["patterns"])
            )
            for name, c in raw["categories"].items()
        ]
        mods = raw["modifiers"]
        self.negators = frozenset(mods["negation"]["negators"])
        self.fillers = frozenset(mods["negation"]["fillers"])
        self.idioms = _compile(mods["idioms"]["patterns"])
        self.past = _compile(mods["past"]["patterns"])
        self.recent = _compile(mods["recent"]["patterns"])

    def _negated(self, norm: str, start: int) -> bool:
        before = norm[:start].split()
        for steps, tok in enumerate(reversed(before)):
            if steps >= _NEGATION_WINDOW or tok in _CLAUSE_BREAKS:
                return False
            if tok in self.negators:
                return True
            if tok not in self.fillers:
                return False
        return False

    def scan(self, text: str) -> LexiconResult:
        norm = normalise(text)
        idiom_spans = [m.span() for m in self.idioms.finditer(norm)]
        past = bool(self.past.search(norm)) and not self.recent.search(norm)
        hits: list[Hit] = []
        negated: list[str] = []
        for cat in self.categories:
            for m in cat.regex.finditer(norm):
                s, e = m.span()
                if any(s < ie and is_ < e for is_, ie in idiom_spans):
                    continue
                if self._negated(norm, s):
                    negated.append(m.group(0))
                    continue
                hits.append(Hit(cat.name, cat.level, cat.reason, m.group(0), cat.temporal and past))
        return LexiconResult(
            hits=tuple(hits),
            negated=tuple(negated),
            idioms=tuple(norm[s:e] for s, e in idiom_spans),
            tokens=tuple(norm.split()),
            text=text,
        )


@lru_cache(maxsize=1)
def default_lexicon() -> CrisisLexicon:
    return CrisisLexicon()
