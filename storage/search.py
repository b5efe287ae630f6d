"""`/recall WORDS`: search one person's own paragraphs, answers, captures and situation cues.

One portable way for SQLite and PostgreSQL alike, chosen because with ENCRYPTION_KEY the text
is Fernet-encrypted at rest and neither SQLite FTS5 nor PostgreSQL full-text search can see
it: load the person's own rows (saved reflections, their triggers' cues and keywords, the
captures of their sessions, what they said about how it went), decrypted by the ORM, and
score them in Python by word-stem overlap. Every query is filtered by `user_id`, so a search
can never return another person's text. A person has a few hundred rows at most; see
bench/search.py for the timing with 1,000 rows.

Scoring: each query stem counts once, with the weight of the best field it appears in
(a situation cue or trigger label 3, the headline 3, the other answers 1.5, paragraph,
captures and outcomes 1); a query word of four letters or more also matches as a prefix
at half weight. Hits are ranked by how many query words matched, then the score, then
recency, so "money" finds the paragraph whose trigger is "when my partner brings up money".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Capture,
    Recall,
    Reflection,
    ReflectionStatus,
    TherapySession,
    Trigger,
)

W_CUE = 3.0
W_HEADLINE = 3.0
W_ANSWER = 1.5
W_TEXT = 1.0
PREFIX_FACTOR = 0.5
MIN_PREFIX = 4

_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)

_STOPWORD_TEXT = """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get gets got had hadn't has
    hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more
    most mustn't my myself no nor not now of off on once only or other ought our ours
    ourselves out over own same shan't she she'd she'll she's should shouldn't so some such
    than that that's the their theirs them themselves then there there's these they they'd
    they'll they're they've this those through to too under until up upon very was wasn't we
    we'd we'll we're we've were weren't what what's when when's whenever where where's which
    while who who's whom why why's will with won't would wouldn't you you'd you'll you're
    you've your yours yourself yourselves time times every also really still even much many
    something thing things
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def words(text: str | None) -> list[str]:
    """Lower-cased words of a text (letters and digits; "don't" stays one word)."""
    if not text:
        return []
    return _WORD_RE.findall(text.casefold().replace("\u2019", "'"))


def _strip(w: str, suffixes: tuple[str, ...]) -> tuple[str, str]:
    """Removes the first of `suffixes` that leaves at least three letters; returns (w, suffix)."""
    for suffix in suffixes:
        if not w.endswith(suffix) or len(w) - len(suffix) < 3:
            continue
        if suffix == "s" and w.endswith(("ss", "us", "is")):
            return w, ""
        if suffix == "es" and not w[:-2].endswith(("s", "x", "z", "ch", "sh")):
            continue
        return w[: -len(suffix)], suffix
    return w, ""


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A small English suffix stemmer, so "walks", "walked", "walking" meet at "walk".

    Handles plurals, -ing/-ed/-ly, -ies/-ied and doubled consonants ("running" -> "run"),
    and drops a final "e" ("argue"/"argued" -> "argu"). Irregular forms stay apart; good
    enough for one person's few hundred sentences.
    """
    w = word.replace("'", "")
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("sses", "ss")):
        if w.endswith(suffix) and len(w) > len(suffix) + 1:
            return w[: -len(suffix)] + repl
    w, _ = _strip(w, ("es", "s"))
    w, verb = _strip(w, ("ingly", "edly", "ing", "ed", "ly"))
    if (
        verb in ("ing", "ed", "ingly", "edly")
        and len(w) >= 4
        and w[-1] == w[-2]
        and w[-1] not in "lsz"
    ):
        w = w[:-1]  # running -> run, stopped -> stop
    return w.removesuffix("e") if len(w) > 3 else w


def content_words(text: str | None) -> list[str]:
    """The words of a text that carry meaning (stopwords dropped), in order."""
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1]


def stems(text: str | None) -> set[str]:
    """The stems of a text's content words."""
    return {stem(w) for w in content_words(text)}


def keywords_of(text: str | None) -> str:
    """The keywords stored with a trigger: content-word stems, space-separated, in order."""
    seen: dict[str, None] = {}
    for w in content_words(text):
        seen.setdefault(stem(w), None)
    return " ".join(seen)


def query_stems(query: str) -> list[str]:
    """The distinct stems to look for; stopwords too if the query is only stopwords."""
    found = content_words(query) or words(query)
    unique: dict[str, None] = {}
    for w in found:
        unique.setdefault(stem(w), None)
    return list(unique)[:12]


@dataclass
class _Doc:
    reflection_id: int | None
    capture_id: int | None
    written_at: datetime
    fields: list[tuple[float, set[str]]] = field(default_factory=list)

    def add(self, weight: float, text: str | None) -> None:
        found = stems(text)
        if found:
            self.fields.append((weight, found))


@dataclass(frozen=True)
class SearchHit:
    """One match: a saved reflection (or a capture of a session without one)."""

    reflection_id: int | None
    capture_id: int | None
    score: float
    matched: int  # how many distinct query words matched
    written_at: datetime


def _score(doc: _Doc, terms: Iterable[str]) -> tuple[int, float]:
    matched, score = 0, 0.0
    for term in terms:
        best = 0.0
        for weight, bag in doc.fields:
            if term in bag:
                best = max(best, weight)
            elif len(term) >= MIN_PREFIX and any(s.startswith(term) for s in bag):
                best = max(best, weight * PREFIX_FACTOR)
        if best:
            matched += 1
            score += best
    return matched, score


async def _documents(session: AsyncSession, user_id: int) -> list[_Doc]:
    """Every searchable thing the person wrote, grouped by the paragraph it belongs to."""
    reflections = list(
        await session.scalars(
            select(Reflection).where(
                Reflection.user_id == user_id, Reflection.status == ReflectionStatus.SAVED
            )
        )
    )
    by_reflection: dict[int, _Doc] = {}
    by_session: dict[int, _Doc] = {}
    for r in reflections:
        doc = _Doc(r.id, None, r.saved_at or r.created_at)
        doc.add(W_HEADLINE, r.answer_what)
        doc.add(W_ANSWER, r.answer_why)
        doc.add(W_ANSWER, r.answer_do)
        doc.add(W_TEXT, r.paragraph)
        by_reflection[r.id] = doc
        by_session.setdefault(r.session_id, doc)
    triggers = await session.scalars(select(Trigger).where(Trigger.user_id == user_id))
    for t in triggers:
        found = by_reflection.get(t.reflection_id or -1)
        if found is not None:
            found.add(W_CUE, t.cue)
            if t.keywords:
                found.fields.append((W_CUE, set(t.keywords.split())))
    outcomes = await session.scalars(
        select(Recall).where(Recall.user_id == user_id, Recall.outcome.is_not(None))
    )
    for recall in outcomes:
        found = by_reflection.get(recall.reflection_id or -1)
        if found is not None:
            found.add(W_TEXT, recall.outcome)
    loose: list[_Doc] = []
    captures = await session.execute(
        select(Capture, TherapySession.id)
        .join(TherapySession, TherapySession.id == Capture.session_id)
        .where(
            Capture.user_id == user_id,
            TherapySession.user_id == user_id,
            Capture.text.is_not(None),
        )
    )
    for capture, session_id in captures:
        found = by_session.get(session_id)
        if found is None:
            found = _Doc(None, capture.id, capture.created_at)
            loose.append(found)
        found.add(W_TEXT, capture.text)
    return [*by_reflection.values(), *loose]


async def search(
    session: AsyncSession, user_id: int, query: str, limit: int = 5
) -> list[SearchHit]:
    """Finds the person's own paragraphs (and loose captures) that match `query`, best first.

    Args:
        session: an open AsyncSession (read only).
        user_id: the person; nothing of anyone else is loaded.
        query: the words after /recall.
        limit: how many hits to return at most.

    Returns:
        Hits ranked by matched words, score, then recency; empty when nothing matches.
    """
    terms = query_stems(query)
    if not terms:
        return []
    hits: list[SearchHit] = []
    for doc in await _documents(session, user_id):
        matched, score = _score(doc, terms)
        if matched:
            hits.append(
                SearchHit(doc.reflection_id, doc.capture_id, score, matched, doc.written_at)
            )
    hits.sort(key=lambda h: (h.matched, h.score, h.written_at), reverse=True)
    return hits[:limit]
