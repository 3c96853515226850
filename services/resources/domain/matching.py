"""Matching experts, library entries and shared prototypes to a problem of practice (issue 17).

Pure: the service passes in what it knows (the problem, the candidates a hub may see, past
engagements, prototypes shared elsewhere) as small frozen records, and ``rank_matches``
answers the candidates that fit, best first, each with its score and its reasons in words.

The score adds up the evidence of fit:

- ``TAG_POINTS`` per tag shared with the problem;
- ``WORD_POINTS`` per word shared between the problem's title and statement and the
  candidate's text (lower case, split on what is not a letter or digit, words of three
  letters or more minus ``STOP_WORDS``; no stemming);
- ``SERVES_POINTS`` for a library entry that names the problem among the problems it serves;
- ``HUB_POINTS`` per hub that engaged the expert on a problem sharing a tag with this one;
- ``WORKED_POINTS`` per prototype shared elsewhere, on a problem sharing a tag with this one
  and adopted or adapted, whose change ideas drew on the candidate;
- ratings, as a Bayesian average (``PRIOR_RATERS`` imaginary raters giving ``PRIOR_STARS``,
  so 5.0 from one rater counts less than 4.6 from twenty): ``RATING_POINTS`` per star above
  or below the prior;
- for a prototype shared elsewhere, its outcome: ``WORKED_POINTS`` when its last test cycle
  decided to adopt or adapt it, with the reason "adopted by Buckeye Union (El Dorado) after
  2 test cycles".

A candidate with no evidence of fit at all (ratings and outcomes alone are not fit) is not a
match.

Problems of practice have no tags (cycles drafts them as a title and a statement):
``problem_tags`` derives them from the tags in use, a tag being the problem's when its words
appear, in order, in the problem's text (lower case, plurals folded: ``stem``).
``shareable_results`` is what a shared prototype's results show other hubs: counts of a group
under ``SMALL_COUNT`` suppressed.
Order: score descending, then kind (expert, prototype, resource), then id: deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

TAG_POINTS = 3.0
WORD_POINTS = 1.0
SERVES_POINTS = 5.0
HUB_POINTS = 2.0
WORKED_POINTS = 2.0
RATING_POINTS = 2.0
PRIOR_STARS = 3.0
PRIOR_RATERS = 5
WORKED = ("adopt", "adapt")
# What a test cycle's decision says of a prototype, in a reason.
DECIDED = {"adopt": "adopted", "adapt": "adapted", "abandon": "abandoned"}
# A count of people (students, teachers) under this is not shown to other hubs: suppressed.
SMALL_COUNT = 11
COUNT_KEYS = frozenset({"n", "count"})
# Tags of up to this many words are found in a problem's text.
TAG_WORDS = 3
KINDS = ("expert", "prototype", "resource")
STOP_WORDS = frozenset({
    "the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "had", "her", "was",
    "one", "our", "out", "has", "him", "his", "how", "its", "may", "new", "now", "see", "who",
    "did", "get", "let", "say", "she", "too", "use", "with", "that", "this", "they", "from",
    "have", "what", "when", "will", "your", "into", "than", "them", "then", "there", "their",
    "these", "those", "been", "were", "which", "while", "about", "after", "also", "more", "most",
    "some", "such", "only", "over", "very", "each", "other", "could", "would", "should", "does",
    "doing", "being", "students", "student", "school", "schools", "district", "districts"})
WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> frozenset[str]:
    """The words of ``text`` that say something: lower case, three letters or more, minus
    ``STOP_WORDS`` (which include the words every problem of practice has: students, school,
    district)."""
    return frozenset(w for w in WORD.findall(text.lower())
                     if len(w) > 2 and w not in STOP_WORDS)


def stem(word: str) -> str:
    """A word with its plural folded ("strategies" is "strategy", "problems" "problem"), not
    "ss", "us" or "is" (class, focus, analysis), nor in words of three letters or fewer."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s"):
        return word[:-1]
    return word


def _stems(text: str) -> list[str]:
    return [stem(w) for w in WORD.findall(text.lower())]


def problem_tags(text: str, vocabulary: Iterable[str]) -> frozenset[str]:
    """The tags of ``vocabulary`` (those in use) whose words appear, in order and next to each
    other, in ``text`` (a problem's title and statement), plurals folded: "math",
    "number talks", "early-literacy" ("early literacy" in the text); tags of more than
    ``TAG_WORDS`` words are never found."""
    stems = _stems(text)
    spans = {" ".join(stems[i:i + n]) for n in range(1, TAG_WORDS + 1)
             for i in range(len(stems) - n + 1)}
    return frozenset(tag for tag in vocabulary if " ".join(_stems(tag)) in spans)


def _suppressed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: None if key in COUNT_KEYS and isinstance(item, int)
                and not isinstance(item, bool) and item < SMALL_COUNT else _suppressed(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_suppressed(item) for item in value]
    return value


def shareable_results(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A shared prototype's results as other hubs see them: every count of a group (a key
    ``n`` or ``count``, at any depth) under ``SMALL_COUNT`` is None (suppressed), all else as
    shared."""
    return [_suppressed(result) for result in results]


@dataclass(frozen=True)
class Outcome:
    """What became of a prototype shared elsewhere: its last test cycle's decision (adopt,
    adapt, abandon), how many test cycles it had, and who shared it, in words."""

    decision: str
    cycles: int
    by: str

    def __post_init__(self) -> None:
        if self.cycles < 1:
            raise ValueError("a prototype is shared after one test cycle or more")


@dataclass(frozen=True)
class Problem:
    id: str
    title: str
    statement: str
    tags: frozenset[str]


@dataclass(frozen=True)
class Candidate:
    """An expert (kind "expert": text its organisation, bio and expertise), a library entry
    (kind "resource": title, summary, subject) or a prototype shared elsewhere (kind
    "prototype": its change idea, revisions and findings), with its ratings if it has any and,
    for an entry, the problems it serves."""

    kind: str
    id: str
    tags: frozenset[str]
    text: str
    rating_average: float = 0.0
    rating_count: int = 0
    problems: frozenset[str] = frozenset()
    outcome: Outcome | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a candidate is one of {', '.join(KINDS)}, not {self.kind!r}")


@dataclass(frozen=True)
class PastEngagement:
    """A hub engaged an expert on a problem with these tags."""

    expert_id: str
    hub_id: str
    problem_tags: frozenset[str]


@dataclass(frozen=True)
class SharedPrototype:
    """A prototype shared elsewhere: the tags of its problem, its last decision (adopt, adapt,
    abandon; None before one) and the experts and resources its change ideas drew on."""

    id: str
    problem_tags: frozenset[str]
    decision: str | None
    sources: frozenset[str]


@dataclass(frozen=True)
class Match:
    kind: str
    id: str
    score: float
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def bayesian_average(average: float, count: int) -> float:
    """The average pulled towards ``PRIOR_STARS`` by ``PRIOR_RATERS`` imaginary raters."""
    return (PRIOR_STARS * PRIOR_RATERS + average * count) / (PRIOR_RATERS + count)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _match(problem: Problem, problem_words: frozenset[str], candidate: Candidate,
           engagements: Sequence[PastEngagement],
           prototypes: Sequence[SharedPrototype]) -> Match | None:
    tags = sorted(candidate.tags & problem.tags)
    shared_words = sorted(words(candidate.text) & problem_words)
    serves = problem.id in candidate.problems
    hubs = {e.hub_id for e in engagements
            if e.expert_id == candidate.id and e.problem_tags & problem.tags} \
        if candidate.kind == "expert" else set()
    worked = [p for p in prototypes if candidate.id in p.sources
              and p.decision in WORKED and p.problem_tags & problem.tags]
    score = (TAG_POINTS * len(tags) + WORD_POINTS * len(shared_words)
             + SERVES_POINTS * serves + HUB_POINTS * len(hubs) + WORKED_POINTS * len(worked))
    if not score:
        return None
    reasons = []
    if serves:
        reasons.append("serves this problem of practice")
    if tags:
        reasons.append(f"shares tags: {', '.join(tags)}")
    if shared_words:
        reasons.append(f"shares words: {', '.join(shared_words)}")
    if candidate.rating_count:
        score += RATING_POINTS * (bayesian_average(
            candidate.rating_average, candidate.rating_count) - PRIOR_STARS)
        reasons.append(f"rated {candidate.rating_average:.1f} by "
                       f"{_plural(candidate.rating_count, 'rater')}")
    if hubs:
        reasons.append(f"engaged by {_plural(len(hubs), 'hub')} on similar problems")
    if worked:
        reasons.append(f"drawn on by {_plural(len(worked), 'prototype')} that worked "
                       "elsewhere")
    outcome = candidate.outcome
    if outcome is not None and outcome.decision in DECIDED:
        score += WORKED_POINTS * (outcome.decision in WORKED)
        reasons.append(f"{DECIDED[outcome.decision]} by {outcome.by} after "
                       f"{_plural(outcome.cycles, 'test cycle')}")
    return Match(candidate.kind, candidate.id, round(score, 3), tuple(reasons))


def rank_matches(problem: Problem, experts: Sequence[Candidate], entries: Sequence[Candidate],
                 prototypes: Sequence[Candidate] = (),
                 engagements: Sequence[PastEngagement] = (),
                 worked: Sequence[SharedPrototype] = (),
                 limit: int | None = None) -> list[Match]:
    """The experts, library entries and shared prototypes that fit ``problem``, best first
    (score descending, then kind, then id), at most ``limit`` of them.

    ``engagements``: past engagements of experts, by hub and the tags of their problem;
    ``worked``: prototypes shared elsewhere with the experts and resources they drew on. The
    caller passes only candidates the asking hub may see (retired ones left out)."""
    problem_words = words(f"{problem.title} {problem.statement}")
    found = [match for candidate in [*experts, *entries, *prototypes]
             if (match := _match(problem, problem_words, candidate, engagements, worked))]
    found.sort(key=lambda m: (-m.score, m.kind, m.id))
    return found[:limit]
