"""Matching experts, library entries and prototypes shared elsewhere to a problem of practice:
what counts as fit, the reasons in words, and a deterministic order."""

from __future__ import annotations

import dataclasses
import json

import pytest

from services.resources.domain.matching import (
    Candidate,
    Match,
    Outcome,
    PastEngagement,
    Problem,
    SharedPrototype,
    bayesian_average,
    problem_tags,
    rank_matches,
    shareable_results,
    stem,
    words,
)

PROBLEM = Problem("pop-math", "Math persistence in grades 3-5",
                  "Students in grades 3 to 5 give up on multi-step fraction problems.",
                  frozenset({"math", "persistence"}))
NO_FIT = frozenset({"attendance"})


def expert(id_, tags=NO_FIT, text="", **kw):
    return Candidate("expert", id_, frozenset(tags), text, **kw)


def entry(id_, tags=NO_FIT, text="", **kw):
    return Candidate("resource", id_, frozenset(tags), text, **kw)


def prototype(id_, tags=NO_FIT, text="", **kw):
    return Candidate("prototype", id_, frozenset(tags), text, **kw)


def only(found):
    assert len(found) == 1, found
    return found[0]


def test_words_are_lower_case_without_short_and_stop_words():
    assert words("The Students' FRACTION problems, and multi-step 3-5 persistence!") == {
        "fraction", "problems", "multi", "step", "persistence"}
    assert words("Add fun: use the ABC.") == {"add", "fun", "abc"}
    assert words("") == frozenset()


def test_shared_tags_count_three_points_each_and_are_named():
    match = only(rank_matches(PROBLEM, [expert("x-1", {"math", "persistence", "ela"})], []))
    assert match == Match("expert", "x-1", 6.0, ("shares tags: math, persistence",))
    assert match.reason == "shares tags: math, persistence"


def test_shared_words_count_one_point_each_and_are_named():
    match = only(rank_matches(PROBLEM, [], [entry("r-1", text="Fraction problems: a guide")]))
    assert match == Match("resource", "r-1", 2.0, ("shares words: fraction, problems",))


def test_words_of_the_title_count_too():
    match = only(rank_matches(PROBLEM, [], [entry("r-1", text="Grades and more")]))
    assert match.reasons == ("shares words: grades",)


def test_an_entry_that_serves_the_problem():
    match = only(rank_matches(PROBLEM, [], [entry("r-1", problems=frozenset({"pop-math"}))]))
    assert match == Match("resource", "r-1", 5.0, ("serves this problem of practice",))
    assert rank_matches(PROBLEM, [], [entry("r-2", problems=frozenset({"pop-ela"}))]) == []


def test_no_evidence_of_fit_no_match_whatever_the_ratings():
    assert rank_matches(PROBLEM, [expert("x-1", text="attendance nudges")],
                        [entry("r-1", rating_average=5.0, rating_count=40)]) == []


def test_ratings_count_as_a_bayesian_average():
    assert bayesian_average(5.0, 1) == pytest.approx(20 / 6)
    assert bayesian_average(4.6, 20) == pytest.approx(107 / 25)
    assert bayesian_average(2.0, 0) == 3.0
    one = entry("r-one", {"math"}, rating_average=5.0, rating_count=1)
    many = entry("r-many", {"math"}, rating_average=4.6, rating_count=20)
    found = rank_matches(PROBLEM, [], [one, many])
    assert [m.id for m in found] == ["r-many", "r-one"]
    assert found[0] == Match("resource", "r-many", round(3 + 2 * (107 / 25 - 3), 3), (
        "shares tags: math", "rated 4.6 by 20 raters"))
    assert found[1].score == round(3 + 2 * (20 / 6 - 3), 3)
    assert found[1].reasons[-1] == "rated 5.0 by 1 rater"


def test_a_poor_rating_lowers_the_score():
    poor = only(rank_matches(PROBLEM, [], [entry("r-1", {"math"}, rating_average=1.0,
                                                 rating_count=5)]))
    assert poor.score == 1.0 and poor.reasons == ("shares tags: math", "rated 1.0 by 5 raters")
    unrated = only(rank_matches(PROBLEM, [], [entry("r-1", {"math"}, rating_average=4.0)]))
    assert unrated.score == 3.0 and unrated.reasons == ("shares tags: math",)


def test_hubs_that_engaged_the_expert_on_similar_problems():
    engagements = [PastEngagement("x-1", "alpine", frozenset({"math"})),
                   PastEngagement("x-1", "alpine", frozenset({"persistence"})),
                   PastEngagement("x-1", "amador", frozenset({"math", "ela"})),
                   PastEngagement("x-1", "placer", frozenset({"attendance"})),
                   PastEngagement("x-2", "placer", frozenset({"math"}))]
    match = only(rank_matches(PROBLEM, [expert("x-1")], [], engagements=engagements))
    assert match == Match("expert", "x-1", 4.0, ("engaged by 2 hubs on similar problems",))
    one = only(rank_matches(PROBLEM, [expert("x-2")], [], engagements=engagements))
    assert one == Match("expert", "x-2", 2.0, ("engaged by 1 hub on similar problems",))
    # an entry with the id of an engaged expert is not that expert
    assert rank_matches(PROBLEM, [], [entry("x-1")], engagements=engagements) == []


def test_what_worked_elsewhere_counts_for_what_it_drew_on():
    worked = [SharedPrototype("p-1", frozenset({"math"}), "adopt", frozenset({"x-1", "r-1"})),
              SharedPrototype("p-2", frozenset({"persistence"}), "adapt", frozenset({"x-1"})),
              SharedPrototype("p-3", frozenset({"math"}), "abandon", frozenset({"x-1"})),
              SharedPrototype("p-4", frozenset({"math"}), None, frozenset({"x-1"})),
              SharedPrototype("p-5", frozenset({"attendance"}), "adopt", frozenset({"x-1"}))]
    found = rank_matches(PROBLEM, [expert("x-1")], [entry("r-1")], worked=worked)
    assert found == [
        Match("expert", "x-1", 4.0, ("drawn on by 2 prototypes that worked elsewhere",)),
        Match("resource", "r-1", 2.0, ("drawn on by 1 prototype that worked elsewhere",))]


def test_prototypes_shared_elsewhere_are_matches_too():
    shared = prototype("p-9", {"persistence"}, "Number talks: persistence on fraction tasks")
    assert rank_matches(PROBLEM, [], [], prototypes=[shared]) == [
        Match("prototype", "p-9", 5.0, ("shares tags: persistence",
                                        "shares words: fraction, persistence"))]


def test_all_reasons_in_their_order():
    candidate = entry("r-1", {"math", "persistence"}, "Persistence toolkit",
                      rating_average=4.6, rating_count=5, problems=frozenset({"pop-math"}))
    worked = [SharedPrototype("p-1", frozenset({"math"}), "adopt", frozenset({"r-1"}))]
    match = only(rank_matches(PROBLEM, [], [candidate], worked=worked))
    assert match.reason == ("serves this problem of practice; shares tags: math, persistence; "
                            "shares words: persistence; rated 4.6 by 5 raters; drawn on by 1 "
                            "prototype that worked elsewhere")
    assert match.score == round(5 + 6 + 1 + 2 * (bayesian_average(4.6, 5) - 3) + 2, 3)
    engaged = only(rank_matches(PROBLEM, [expert("x-1", {"math"}, rating_average=4.6,
                                                 rating_count=5)], [],
                                engagements=[PastEngagement("x-1", "alpine",
                                                            frozenset({"math"}))],
                                worked=[SharedPrototype("p-1", frozenset({"math"}), "adapt",
                                                        frozenset({"x-1"}))]))
    assert engaged.reason == ("shares tags: math; rated 4.6 by 5 raters; engaged by 1 hub on "
                              "similar problems; drawn on by 1 prototype that worked elsewhere")


def test_order_is_score_then_kind_then_id_whatever_the_input_order():
    tied = [expert("x-b", {"math"}), expert("x-a", {"math"}), entry("r-a", {"math"}),
            prototype("p-a", {"math"})]
    best = entry("r-z", {"math", "persistence"})
    worst = expert("x-0", text="fraction")
    expected = [("resource", "r-z"), ("expert", "x-a"), ("expert", "x-b"),
                ("prototype", "p-a"), ("resource", "r-a"), ("expert", "x-0")]
    for experts, entries, prototypes in [
            ([tied[0], tied[1], worst], [tied[2], best], [tied[3]]),
            ([worst, tied[1], tied[0]], [best, tied[2]], [tied[3]])]:
        found = rank_matches(PROBLEM, experts, entries, prototypes=prototypes)
        assert [(m.kind, m.id) for m in found] == expected


def test_limit():
    many = [entry(f"r-{n}", {"math"}) for n in range(5)]
    assert [m.id for m in rank_matches(PROBLEM, [], many, limit=2)] == ["r-0", "r-1"]
    assert len(rank_matches(PROBLEM, [], many)) == 5


def test_two_letter_words_do_not_count():
    assert words("go on up to it") == frozenset()


def decoded(kind, id_, tags, text=""):
    """A candidate as the service builds it from rows: strings decoded, not interned."""
    kind, id_, *tags = json.loads(json.dumps([kind, id_, *tags]))
    return Candidate(kind, id_, frozenset(tags), text)


def test_candidates_built_from_decoded_rows_match_alike():
    engagements = [PastEngagement("x-1", "alpine", frozenset({"math"}))]
    assert rank_matches(PROBLEM, [decoded("expert", "x-1", ["ela"])], [],
                        engagements=engagements) == [
        Match("expert", "x-1", 2.0, ("engaged by 1 hub on similar problems",))]


def test_records_are_frozen_values():
    records = [PROBLEM, expert("x-1"), PastEngagement("x-1", "h", frozenset()),
               SharedPrototype("p-1", frozenset(), None, frozenset()),
               Match("expert", "x-1", 1.0, ())]
    for record in records:
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.id = "other"  # type: ignore[misc]
        assert hash(record) == hash(dataclasses.replace(record))


def test_a_candidate_is_unrated_unless_told():
    assert (expert("x-1").rating_average, expert("x-1").rating_count) == (0.0, 0)
    assert expert("x-1").problems == frozenset()


def test_a_candidate_is_an_expert_a_resource_or_a_prototype():
    for kind in ("document", "entry", "Expert", ""):
        with pytest.raises(ValueError, match="expert, prototype, resource"):
            Candidate(kind, "c-1", frozenset(), "")


# -- problems' tags, shared results, what became of a prototype --------------------------------

def test_stem_folds_plurals_only():
    assert [stem(w) for w in ("problems", "strategies", "talks", "math", "class", "focus",
                              "analysis", "gas", "bus", "its", "reading", "persistence")] == [
        "problem", "strategy", "talk", "math", "class", "focus", "analysis", "gas", "bus",
        "its", "reading", "persistence"]
    assert (stem("cats"), stem("ies"), stem("ties"), stem("ss")) == ("cat", "ies", "ty", "ss")
    assert (stem("as"), stem("s")) == ("as", "s")


def test_a_problems_tags_are_the_tags_in_use_its_text_names():
    vocabulary = {"math", "persistence", "number talks", "early-literacy", "fraction",
                  "attendance", "talks number", "multi step word problems", "grade"}
    text = "Math persistence: students give up on Fractions. Number talks; early literacy."
    assert problem_tags(text, vocabulary) == {"math", "persistence", "number talks",
                                              "early-literacy", "fraction"}
    assert problem_tags("multi step word problems here", vocabulary) == frozenset()
    assert problem_tags("multi step word", {"multi step word"}) == {"multi step word"}
    assert problem_tags("Grades 3 to 5", vocabulary) == {"grade"}
    assert problem_tags("", vocabulary) == frozenset()
    assert problem_tags("math", ["", "-"]) == frozenset()
    assert problem_tags("reading math", ["math"]) == {"math"}
    assert problem_tags("math reading", ["math"]) == {"math"}


def test_results_shared_with_small_counts_suppressed():
    results = [{"cycle_id": "c-1", "number": 1, "decision": "adapt", "findings": "rose",
                "n": 10, "indicators": [{"name": "persisting", "n": 11, "count": 3,
                                         "signals": ["shift"], "value": 4}]},
               {"cycle_id": "c-2", "number": 2, "n": True, "count": 0, "other": {"n": 2}}]
    assert shareable_results(results) == [
        {"cycle_id": "c-1", "number": 1, "decision": "adapt", "findings": "rose", "n": None,
         "indicators": [{"name": "persisting", "n": 11, "count": None, "signals": ["shift"],
                         "value": 4}]},
        {"cycle_id": "c-2", "number": 2, "n": True, "count": None, "other": {"n": None}}]
    assert results[0]["n"] == 10   # the input is left as it was
    assert shareable_results([]) == []
    assert shareable_results([{"n": "ten", "count": 4.0}]) == [{"n": "ten", "count": 4.0}]
    assert shareable_results([{"n": 12, "count": 1000}]) == [{"n": 12, "count": 1000}]


def test_what_became_of_a_prototype_shared_elsewhere():
    adopted = prototype("p-1", {"math"}, outcome=Outcome("adopt", 2, "Buckeye Union (El Dorado)"))
    assert only(rank_matches(PROBLEM, [], [], prototypes=[adopted])) == Match(
        "prototype", "p-1", 5.0, ("shares tags: math",
                                  "adopted by Buckeye Union (El Dorado) after 2 test cycles"))
    adapted = prototype("p-2", {"math"}, outcome=Outcome("adapt", 1, "Camino"))
    assert only(rank_matches(PROBLEM, [], [], prototypes=[adapted])) == Match(
        "prototype", "p-2", 5.0, ("shares tags: math", "adapted by Camino after 1 test cycle"))
    abandoned = prototype("p-3", {"math"}, outcome=Outcome("abandon", 3, "Gold Oak"))
    assert only(rank_matches(PROBLEM, [], [], prototypes=[abandoned])) == Match(
        "prototype", "p-3", 3.0, ("shares tags: math", "abandoned by Gold Oak after 3 test "
                                                       "cycles"))
    unknown = prototype("p-4", {"math"}, outcome=Outcome("pause", 1, "Gold Oak"))
    assert only(rank_matches(PROBLEM, [], [], prototypes=[unknown])) == Match(
        "prototype", "p-4", 3.0, ("shares tags: math",))
    # An outcome is not fit: a prototype adopted on another problem is no match.
    assert rank_matches(PROBLEM, [], [], prototypes=[
        prototype("p-5", outcome=Outcome("adopt", 2, "Camino"))]) == []


def test_an_outcome_has_one_test_cycle_or_more():
    assert Outcome("adopt", 1, "x").cycles == 1
    for cycles in (0, -1):
        with pytest.raises(ValueError, match="one test cycle or more"):
            Outcome("adopt", cycles, "x")
