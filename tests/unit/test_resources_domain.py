"""Resources rules (library entries, experts, engagements), given / when / then, each rule on
both sides of its boundary; command arguments as a request delivers them (``received``)."""

from __future__ import annotations

import json

import pytest

from eventstore.errors import Conflict, Forbidden, NotFound, ValidationError
from eventstore.testing import given, received
from services.resources.domain import (
    REFUSALS,
    Engagement,
    Expert,
    LibraryEntry,
    SessionRequest,
    check_link,
)
from services.resources.domain.split import HubCost

# -- library entries ------------------------------------------------------------------------------

CONTENT = {"title": "Number Talks", "summary": "Daily mental math routines.",
           "link": "https://example.org/number-talks", "tags": ["math", "routines"],
           "subject": "math", "grade_band": "3-5", "problems": ["pop-math"],
           "visibility": "consortium"}
PUBLISHED = ("ResourcePublished", {"hub_id": "el-dorado", "kind": "toolkit",
                                   "by_member": False, "revision": 1, **CONTENT})
RETIRED = ("ResourceRetired", {"reason": "outdated"})


def publish(kind="toolkit", by_member=False, **changes):
    content = received({**CONTENT, **changes})
    return lambda e: e.publish("el-dorado", received(kind), by_member=by_member, **content)


def rated(rater, stars, previous=None):
    return ("ResourceRated", {"rater_id": rater, "stars": stars, "previous": previous})


def test_a_facilitator_publishes_an_entry_into_the_hub_library():
    entry = given(LibraryEntry, "r-1").when(publish()).then([PUBLISHED])
    assert (entry.hub_id, entry.kind, entry.revision, entry.retired) == (
        "el-dorado", "toolkit", 1, False)
    assert entry.tags == ["math", "routines"] and entry.problems == ["pop-math"]
    assert entry.rating_count == 0 and entry.rating_average is None


def test_text_is_trimmed_and_tags_are_lower_case_each_once_sorted():
    entry = given(LibraryEntry, "r-1").when(publish(
        title="  Number Talks ", summary=" x ", link=" https://example.org/a ",
        tags=["Routines", " math", "MATH", "", "  "], subject=" math ", grade_band=" 3-5 ")) \
        .then([("ResourcePublished", {**PUBLISHED[1], "title": "Number Talks", "summary": "x",
                                      "link": "https://example.org/a",
                                      "tags": ["math", "routines"], "subject": "math",
                                      "grade_band": "3-5"})])
    assert entry.title == "Number Talks"


def test_subject_and_grade_band_may_be_left_out():
    given(LibraryEntry, "r-1").when(publish(subject=None, grade_band=None)).then([
        ("ResourcePublished", {**PUBLISHED[1], "subject": None, "grade_band": None})])


@pytest.mark.parametrize("kind", ["research", "toolkit", "literature_review",
                                  "meeting_material", "video", "member_share"])
def test_every_kind_may_be_published_by_a_facilitator(kind):
    given(LibraryEntry, "r-1").when(publish(kind)).then([
        ("ResourcePublished", {**PUBLISHED[1], "kind": kind})])


@pytest.mark.parametrize("visibility", ["hub", "consortium", "public"])
def test_every_visibility(visibility):
    given(LibraryEntry, "r-1").when(publish(visibility=visibility)).then([
        ("ResourcePublished", {**PUBLISHED[1], "visibility": visibility})])


def test_a_member_shares_into_its_hub_library_only_as_member_share():
    given(LibraryEntry, "r-1").when(publish("member_share", by_member=True)).then([
        ("ResourcePublished", {**PUBLISHED[1], "kind": "member_share", "by_member": True})])
    error = given(LibraryEntry, "r-1").when(publish("research", by_member=True)) \
        .then_raises(ValidationError, "member_share")
    assert list(error.errors) == ["kind"]


@pytest.mark.parametrize("changes, field", [
    ({"kind": "podcast"}, "kind"),
    ({"kind": ""}, "kind"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": None}, "title"),
    ({"summary": None}, "summary"),
    ({"summary": 3}, "summary"),
    ({"link": "javascript:alert(1)"}, "link"),
    ({"link": "ftp://example.org/a"}, "link"),
    ({"link": "mailto:a@example.org"}, "link"),
    ({"link": "example.org/a"}, "link"),
    ({"link": "https://"}, "link"),
    ({"link": "http:///path"}, "link"),
    ({"link": "http://[::1"}, "link"),
    ({"link": None}, "link"),
    ({"tags": "math"}, "tags"),
    ({"tags": ["math", 3]}, "tags"),
    ({"subject": 7}, "subject"),
    ({"grade_band": 5}, "grade_band"),
    ({"problems": "pop-math"}, "problems"),
    ({"problems": ["pop-math", ""]}, "problems"),
    ({"problems": ["pop-math", "pop-math"]}, "problems"),
    ({"visibility": "private"}, "visibility"),
])
def test_bad_content_is_refused_naming_the_field(changes, field):
    kind = changes.pop("kind", "toolkit")
    error = given(LibraryEntry, "r-1").when(publish(kind, **changes)) \
        .then_raises(ValidationError, field)
    assert list(error.errors) == [field]


@pytest.mark.parametrize("link", ["http://example.org", "https://example.org/a?b=c#d",
                                  "HTTPS://Example.org/x", "http://localhost:8080/a"])
def test_http_and_https_links_are_taken(link):
    assert check_link(received(link)) == link


def test_an_entry_is_published_once():
    given(LibraryEntry, "r-1", [PUBLISHED]).when(publish()).then_raises(Conflict, "exists")


def test_a_revision_replaces_the_fields_given_and_counts_up():
    entry = given(LibraryEntry, "r-1", [PUBLISHED]).when(lambda e: e.revise(
        note=received("newer edition"), title=received("Number Talks, 2nd ed."),
        tags=received(["Math", "fluency"]))).then([
            ("ResourceRevised", {**CONTENT, "revision": 2, "note": "newer edition",
                                 "title": "Number Talks, 2nd ed.",
                                 "tags": ["fluency", "math"]})])
    assert entry.revision == 2 and entry.title == "Number Talks, 2nd ed."
    assert entry.kind == "toolkit" and entry.hub_id == "el-dorado"
    revised = ("ResourceRevised", {**CONTENT, "revision": 2, "note": None,
                                   "visibility": "hub"})
    entry = given(LibraryEntry, "r-1", [PUBLISHED, revised]).when(
        lambda e: e.revise(visibility=received("public"))).then([
            ("ResourceRevised", {**CONTENT, "revision": 3, "note": None,
                                 "visibility": "public"})])
    assert entry.visibility == "public"


def test_every_field_of_the_content_may_be_revised():
    changes = {"title": "T", "summary": "S", "link": "http://example.org/b", "tags": ["t"],
               "subject": "ela", "grade_band": "K-2", "problems": ["pop-2"],
               "visibility": "hub"}
    entry = given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.revise(**received(changes))).then([
            ("ResourceRevised", {**changes, "revision": 2, "note": None})])
    assert {name: getattr(entry, name) for name in changes} == changes


def test_a_revision_is_checked_as_a_publication_is():
    error = given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.revise(link=received("file:///etc/passwd"))).then_raises(ValidationError)
    assert list(error.errors) == ["link"]
    error = given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.revise(kind=received("video"))).then_raises(ValidationError, "kind")
    assert list(error.errors) == ["kind"]


def test_a_revision_that_changes_nothing_is_refused():
    given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.revise(title=received(" Number Talks "))).then_raises(
        Conflict, "revision 1 of resource r-1 says that already")
    given(LibraryEntry, "r-1", [PUBLISHED]).when(lambda e: e.revise()).then_raises(Conflict)


def test_retire_once_and_a_retired_entry_is_neither_revised_nor_rated():
    entry = given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.retire(received("outdated"))).then([RETIRED])
    assert entry.retired
    given(LibraryEntry, "r-1", [PUBLISHED, RETIRED]).when(lambda e: e.retire()) \
        .then_raises(Conflict, "resource r-1 is retired")
    given(LibraryEntry, "r-1", [PUBLISHED, RETIRED]).when(
        lambda e: e.revise(title=received("x"))).then_raises(Conflict, "retired")
    given(LibraryEntry, "r-1", [PUBLISHED, RETIRED]).when(
        lambda e: e.rate(*received("p-1", 4))).then_raises(Conflict, "retired")


@pytest.mark.parametrize("stars", [1, 2, 3, 4, 5])
def test_a_rating_is_1_to_5_stars(stars):
    entry = given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.rate(*received("p-1", stars))).then([rated("p-1", stars)])
    assert entry.rating_count == 1 and entry.rating_average == stars


@pytest.mark.parametrize("stars", [0, 6, -1, 4.5, 4.0, True, False, "4", None])
def test_a_rating_that_is_not_a_whole_1_to_5_is_refused_naming_stars(stars):
    error = given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.rate(*received("p-1", stars))).then_raises(ValidationError, "stars")
    assert error.errors == {"stars": ["a whole number from 1 to 5"]}


def test_one_rating_per_rater_a_second_replaces_the_first():
    entry = given(LibraryEntry, "r-1", [PUBLISHED, rated("p-1", 2), rated("p-2", 5)]).when(
        lambda e: e.rate(*received("p-1", 4))).then([rated("p-1", 4, previous=2)])
    assert entry.ratings == {"p-1": 4, "p-2": 5}
    assert entry.rating_count == 2 and entry.rating_average == 4.5
    entry = given(LibraryEntry, "r-1", [PUBLISHED, rated("p-1", 2)]).when(
        lambda e: e.rate(*received("p-3", 3))).then([rated("p-3", 3)])
    assert entry.rating_count == 2 and entry.rating_average == 2.5


# -- experts ------------------------------------------------------------------------------------

PROFILE = {"organisation": "Math Coaching Collaborative", "bio": "Twenty years of number talks.",
           "expertise": ["fractions", "math"], "rate_cents": 125000, "languages": ["en", "es"],
           "travels": True, "travel_cost_cents": 30000}
ADDED = ("ExpertAdded", {"hub_id": "el-dorado", **PROFILE, "sharing": "consortium",
                         "hubs": []})
SHARED_WITH_ALPINE = ("ExpertAdded", {**ADDED[1], "sharing": "hubs", "hubs": ["alpine"]})
EXPERT_RETIRED = ("ExpertRetired", {"reason": "moved on"})
ERASED = ("ExpertErased", {})


def add(**changes):
    args = received({**PROFILE, **changes})
    return lambda x: x.add("el-dorado", **args)


def expert(*history):
    return given(Expert, "x-1", [*history]).instance


def test_a_hub_adds_an_expert_shared_with_the_consortium():
    added = given(Expert, "x-1").when(add()).then([ADDED])
    assert added.hub_id == "el-dorado" and added.rate_cents == 125000
    assert added.may_serve("el-dorado") and added.may_serve("alpine")


def test_expertise_and_languages_are_lower_case_each_once_sorted_text_trimmed():
    given(Expert, "x-1").when(add(expertise=["Math", "fractions", "math "],
                                  languages=["ES", "en"], organisation=" MCC ", bio=" b ")) \
        .then([("ExpertAdded", {**ADDED[1], "organisation": "MCC", "bio": "b"})])


def test_an_expert_shared_with_named_hubs_serves_them_and_its_owner_only():
    added = given(Expert, "x-1").when(
        lambda x: x.add("el-dorado", **received(PROFILE), sharing=received("hubs"),
                        hubs=received(["alpine", "amador"]))).then([
            ("ExpertAdded", {**ADDED[1], "sharing": "hubs", "hubs": ["alpine", "amador"]})])
    assert added.may_serve("alpine") and added.may_serve("amador")
    assert added.may_serve("el-dorado") and not added.may_serve("placer")


def test_a_missing_expert_serves_nobody():
    assert not Expert("x-1").may_serve("el-dorado")
    assert not Expert("x-1").may_serve("")


def test_an_expert_who_does_not_travel_costs_no_travel():
    given(Expert, "x-1").when(add(travels=False, travel_cost_cents=0)).then([
        ("ExpertAdded", {**ADDED[1], "travels": False, "travel_cost_cents": 0})])
    given(Expert, "x-1").when(add(travels=True, travel_cost_cents=0, rate_cents=0)).then([
        ("ExpertAdded", {**ADDED[1], "travel_cost_cents": 0, "rate_cents": 0})])
    error = given(Expert, "x-1").when(add(travels=False, travel_cost_cents=1)) \
        .then_raises(ValidationError, "travel")
    assert list(error.errors) == ["travel_cost_cents"]


def test_travel_and_sharing_have_defaults():
    given(Expert, "x-1").when(lambda x: x.add("el-dorado", "O", "B", ["math"], 100, ["en"])) \
        .then([("ExpertAdded", {"hub_id": "el-dorado", "organisation": "O", "bio": "B",
                                "expertise": ["math"], "rate_cents": 100,
                                "languages": ["en"], "travels": False,
                                "travel_cost_cents": 0, "sharing": "consortium",
                                "hubs": []})])


@pytest.mark.parametrize("changes, field", [
    ({"rate_cents": -1}, "rate_cents"),
    ({"rate_cents": 1250.5}, "rate_cents"),
    ({"rate_cents": 1250.0}, "rate_cents"),
    ({"rate_cents": "1250"}, "rate_cents"),
    ({"rate_cents": True}, "rate_cents"),
    ({"travel_cost_cents": -1}, "travel_cost_cents"),
    ({"travel_cost_cents": 10.5}, "travel_cost_cents"),
    ({"travels": "yes"}, "travels"),
    ({"travels": 1}, "travels"),
    ({"organisation": None}, "organisation"),
    ({"bio": 5}, "bio"),
    ({"expertise": "math"}, "expertise"),
    ({"languages": [1]}, "languages"),
    ({"sharing": "world"}, "sharing"),
    ({"sharing": "hubs", "hubs": []}, "hubs"),
    ({"sharing": "consortium", "hubs": ["alpine"]}, "hubs"),
    ({"sharing": "hubs", "hubs": ["alpine", "alpine"]}, "hubs"),
    ({"sharing": "hubs", "hubs": "alpine"}, "hubs"),
])
def test_a_bad_profile_or_sharing_is_refused_naming_the_field(changes, field):
    args = received({**PROFILE, **changes})
    error = given(Expert, "x-1").when(lambda x: x.add("el-dorado", **args)) \
        .then_raises(ValidationError, field)
    assert list(error.errors) == [field]


def test_an_expert_is_added_once():
    given(Expert, "x-1", [ADDED]).when(add()).then_raises(Conflict, "expert x-1 exists")


def test_revise_the_profile_keeps_what_is_not_given():
    revised = given(Expert, "x-1", [ADDED]).when(lambda x: x.revise(
        rate_cents=received(130000), expertise=received(["Persistence"]))).then([
            ("ExpertProfileRevised", {**PROFILE, "rate_cents": 130000,
                                      "expertise": ["persistence"]})])
    assert revised.rate_cents == 130000 and revised.expertise == ["persistence"]
    revised = given(Expert, "x-1", [ADDED]).when(lambda x: x.revise(
        travels=received(False), travel_cost_cents=received(0))).then([
            ("ExpertProfileRevised", {**PROFILE, "travels": False, "travel_cost_cents": 0})])
    assert not revised.travels and revised.sharing == "consortium"


def test_a_revision_is_checked_as_a_profile_is():
    error = given(Expert, "x-1", [ADDED]).when(lambda x: x.revise(
        travels=received(False))).then_raises(ValidationError)
    assert list(error.errors) == ["travel_cost_cents"]
    error = given(Expert, "x-1", [ADDED]).when(lambda x: x.revise(
        email=received("a@b.org"))).then_raises(ValidationError, "email")
    assert list(error.errors) == ["email"]
    error = given(Expert, "x-1", [ADDED]).when(lambda x: x.revise(
        rate_cents=received(-5))).then_raises(ValidationError, "rate_cents")
    assert list(error.errors) == ["rate_cents"]


def test_change_sharing():
    changed = given(Expert, "x-1", [ADDED]).when(lambda x: x.change_sharing(
        *received("hubs", ["placer", "alpine"]))).then([
            ("ExpertSharingChanged", {"sharing": "hubs", "hubs": ["alpine", "placer"]})])
    assert changed.may_serve("placer") and not changed.may_serve("amador")
    changed = given(Expert, "x-1", [SHARED_WITH_ALPINE]).when(
        lambda x: x.change_sharing(received("consortium"))).then([
            ("ExpertSharingChanged", {"sharing": "consortium", "hubs": []})])
    assert changed.may_serve("amador")
    given(Expert, "x-1", [ADDED]).when(lambda x: x.change_sharing(received("hubs"))) \
        .then_raises(ValidationError, "hubs")


def test_retire_once_and_a_retired_expert_serves_nobody_and_changes_no_more():
    retired = given(Expert, "x-1", [ADDED]).when(lambda x: x.retire(received("moved on"))) \
        .then([EXPERT_RETIRED])
    assert not retired.may_serve("el-dorado") and not retired.may_serve("alpine")
    for command in (lambda x: x.retire(), lambda x: x.revise(bio="b"),
                    lambda x: x.change_sharing("consortium")):
        given(Expert, "x-1", [ADDED, EXPERT_RETIRED]).when(command) \
            .then_raises(Conflict, "expert x-1 is retired")


def test_erase_keeps_ids_and_numbers_only_and_happens_once():
    erased = given(Expert, "x-1", [ADDED]).when(lambda x: x.erase()).then([ERASED])
    assert (erased.organisation, erased.bio, erased.expertise, erased.languages) == (
        "", "", [], [])
    assert erased.rate_cents == 125000 and erased.travel_cost_cents == 30000
    assert erased.retired and erased.erased and not erased.may_serve("el-dorado")
    given(Expert, "x-1", [ADDED, EXPERT_RETIRED]).when(lambda x: x.erase()).then([ERASED])
    given(Expert, "x-1", [ADDED, ERASED]).when(lambda x: x.erase()) \
        .then_raises(Conflict, "expert x-1 has been erased already")
    given(Expert, "x-1", [ADDED, ERASED]).when(lambda x: x.revise(bio="b")) \
        .then_raises(Conflict, "expert x-1 is erased")


# -- engagements ----------------------------------------------------------------------------------

DIRECTORY = {"m-camino": ("el-dorado", 503), "m-gold": ("el-dorado", 44),
             "m-pollock": ("el-dorado", 4131), "m-alpine": ("alpine", 71),
             "m-bear": ("alpine", 110), "m-placer": ("placer", 900)}


def members(*ids):
    return [{"member_id": m, "hub_id": DIRECTORY[m][0], "enrollment": DIRECTORY[m][1]}
            for m in ids]


PROPOSED = ("EngagementProposed", {"hub_id": "el-dorado", "expert_id": "x-1", "sessions": 4,
                                   "split": "enrollment", "rate_cents": 125000,
                                   "travel_cost_cents": 30000,
                                   "members": members("m-camino", "m-gold")})
JOINED = ("EngagementJoined", {"by_hub_id": "alpine", "members": members("m-alpine")})
CONFIRMED = ("EngagementConfirmed", {"total_cents": 530000, "shares": {
    "m-camino": 431375, "m-gold": 37735, "m-alpine": 60890}})
CLOSED = ("EngagementClosed", {"reason": None, "sessions_used": 0})


AT = "2027-02-03T17:00:00+00:00"


def session(request, hub="el-dorado", number=1, left=3):
    return ("ExpertSessionRecorded", {"request_id": request, "by_hub_id": hub,
                                      "engagement_id": "e-1", "expert_id": "x-1",
                                      "starts_at": AT, "number": number,
                                      "sessions_left": left})


def refused(request, reason, hub="el-dorado", expert_id="x-1", engagement="e-1"):
    return ("ExpertSessionRefused", {"request_id": request, "by_hub_id": hub,
                                     "engagement_id": engagement, "expert_id": expert_id,
                                     "reason": reason, "explanation": REFUSALS[reason]})


def returned(request, used, hub="el-dorado", reason="snow day"):
    return ("ExpertSessionReturned", {"request_id": request, "by_hub_id": hub,
                                      "reason": reason, "sessions_used": used})


def propose(hub="el-dorado", who=("m-camino", "m-gold"), sessions=4, split="enrollment",
            of=(ADDED,)):
    args = received(hub, list(who), sessions, split)
    return lambda e: e.propose(args[0], expert(*of), args[1], DIRECTORY, args[2], args[3])


def join(hub="alpine", who=("m-alpine",), of=(ADDED,)):
    args = received(hub, list(who))
    return lambda e: e.join(args[0], expert(*of), args[1], DIRECTORY)


def test_a_hub_proposes_an_engagement_for_its_members_copying_the_rate_in():
    engagement = given(Engagement, "e-1").when(propose()).then([PROPOSED])
    assert engagement.hub_id == "el-dorado" and engagement.status == "proposed"
    assert engagement.hubs == ["el-dorado"] and engagement.sessions_left == 4
    assert engagement.costs().members == {"m-camino": 487367, "m-gold": 42633}


@pytest.mark.parametrize("sessions", [1, 100])
def test_sessions_are_1_to_100(sessions):
    given(Engagement, "e-1").when(propose(sessions=sessions)).then([
        ("EngagementProposed", {**PROPOSED[1], "sessions": sessions})])


@pytest.mark.parametrize("sessions", [0, 101, -1, 2.5, 4.0, True, "4"])
def test_other_session_counts_are_refused_naming_sessions(sessions):
    error = given(Engagement, "e-1").when(propose(sessions=sessions)) \
        .then_raises(ValidationError, "sessions")
    assert error.errors == {"sessions": ["a whole number from 1 to 100"]}


@pytest.mark.parametrize("split", ["equal", "enrollment"])
def test_split_modes(split):
    given(Engagement, "e-1").when(propose(split=split)).then([
        ("EngagementProposed", {**PROPOSED[1], "split": split})])


@pytest.mark.parametrize("who, split, field", [
    ((), "equal", "members"),
    (("m-camino", "m-camino"), "equal", "members"),
    (("m-camino", "m-alpine"), "equal", "members"),
    (("m-nowhere",), "equal", "members"),
    (("m-camino",), "by-size", "split"),
])
def test_bad_members_or_split_are_refused_naming_the_field(who, split, field):
    error = given(Engagement, "e-1").when(propose(who=who, split=split)) \
        .then_raises(ValidationError, field)
    assert list(error.errors) == [field]


def test_a_member_of_another_hub_reads_as_a_missing_one():
    stranger = given(Engagement, "e-1").when(propose(who=("m-camino", "m-alpine"))) \
        .then_raises(ValidationError)
    missing = given(Engagement, "e-1").when(propose(who=("m-camino", "m-nowhere"))) \
        .then_raises(ValidationError)
    assert str(stranger) == str(missing).replace("m-nowhere", "m-alpine")
    assert stranger.errors == {"members": ["not members of hub el-dorado: m-alpine"]}


def test_the_expert_must_exist_be_current_and_serve_the_hub():
    given(Engagement, "e-1").when(propose(of=())).then_raises(NotFound, "no expert x-1")
    given(Engagement, "e-1").when(propose(of=(ADDED, EXPERT_RETIRED))) \
        .then_raises(Conflict, "expert x-1 is retired")
    error = given(Engagement, "e-1").when(propose(of=(SHARED_WITH_ALPINE,), hub="placer",
                                                  who=("m-placer",))) \
        .then_raises(ValidationError, "not shared with hub placer")
    assert list(error.errors) == ["expert_id"]
    given(Engagement, "e-1").when(propose(of=(SHARED_WITH_ALPINE,), hub="alpine",
                                          who=("m-alpine",))).then([
        ("EngagementProposed", {**PROPOSED[1], "hub_id": "alpine",
                                "members": members("m-alpine")})])


def test_an_engagement_is_proposed_once():
    given(Engagement, "e-1", [PROPOSED]).when(propose()).then_raises(Conflict, "exists")


def test_another_hub_joins_with_its_own_members_and_the_split_is_recomputed():
    engagement = given(Engagement, "e-1", [PROPOSED]).when(join()).then([JOINED])
    assert engagement.hubs == ["el-dorado", "alpine"]
    costs = engagement.costs()
    assert costs.members == CONFIRMED[1]["shares"]
    assert costs.hubs == {"alpine": HubCost(60890, 530000, 469110),
                          "el-dorado": HubCost(469110, 530000, 60890)}
    assert engagement.hub_id == "el-dorado"


def test_a_hub_joins_once_with_members_of_its_own_and_an_expert_that_serves_it():
    given(Engagement, "e-1", [PROPOSED, JOINED]).when(join(who=("m-bear",))) \
        .then_raises(Conflict, "hub alpine is in engagement e-1 already")
    given(Engagement, "e-1", [PROPOSED]).when(join(hub="el-dorado", who=("m-pollock",))) \
        .then_raises(Conflict, "already")
    error = given(Engagement, "e-1", [PROPOSED]).when(join(who=("m-alpine", "m-placer"))) \
        .then_raises(ValidationError, "not members of hub alpine: m-placer")
    assert list(error.errors) == ["members"]
    given(Engagement, "e-1", [PROPOSED]).when(join(who=())).then_raises(
        ValidationError, "members")
    given(Engagement, "e-1", [PROPOSED]).when(join(hub="placer", who=("m-placer",),
                                                   of=(SHARED_WITH_ALPINE,))) \
        .then_raises(ValidationError, "not shared with hub placer")
    given(Engagement, "e-1", [PROPOSED]).when(join(of=(ADDED, EXPERT_RETIRED))) \
        .then_raises(Conflict, "retired")


def test_a_hub_joins_with_the_engagement_s_own_expert():
    other = given(Expert, "x-2", [ADDED]).instance
    error = given(Engagement, "e-1", [PROPOSED]).when(
        lambda e: e.join("alpine", other, ["m-alpine"], DIRECTORY)) \
        .then_raises(ValidationError, "engagement e-1 is of expert x-1")
    assert list(error.errors) == ["expert_id"]


def test_a_hub_that_joined_leaves_with_its_members_but_not_the_proposer():
    joined_twice = [PROPOSED, JOINED, ("EngagementJoined", {"by_hub_id": "placer",
                                                            "members": members("m-placer")})]
    engagement = given(Engagement, "e-1", joined_twice).when(
        lambda e: e.leave(received("alpine"))).then([
            ("EngagementLeft", {"by_hub_id": "alpine", "members": ["m-alpine"]})])
    assert engagement.hubs == ["el-dorado", "placer"]
    assert sorted(engagement.members) == ["m-camino", "m-gold", "m-placer"]
    given(Engagement, "e-1", [PROPOSED, JOINED]).when(lambda e: e.leave(received("el-dorado"))) \
        .then_raises(Conflict, "the proposing hub does not leave")
    given(Engagement, "e-1", [PROPOSED]).when(lambda e: e.leave(received("placer"))) \
        .then_raises(Conflict, "hub placer is not in engagement e-1")
    left = ("EngagementLeft", {"by_hub_id": "alpine", "members": ["m-alpine"]})
    engagement = given(Engagement, "e-1", [PROPOSED, JOINED, left]).when(join(
        who=("m-bear",))).then([("EngagementJoined", {"by_hub_id": "alpine",
                                                      "members": members("m-bear")})])
    assert engagement.hubs == ["el-dorado", "alpine"]


def test_the_proposing_hub_confirms_with_the_split_as_it_stands():
    engagement = given(Engagement, "e-1", [PROPOSED, JOINED]).when(
        lambda e: e.confirm(received("el-dorado"))).then([CONFIRMED])
    assert engagement.status == "confirmed"
    given(Engagement, "e-1", [PROPOSED, JOINED]).when(lambda e: e.confirm(received("alpine"))) \
        .then_raises(Forbidden, "only the proposing hub confirms engagement e-1")
    given(Engagement, "e-1", [PROPOSED, JOINED, CONFIRMED]).when(
        lambda e: e.confirm(received("el-dorado"))).then_raises(
        Conflict, "engagement e-1 is confirmed")


def test_after_confirmation_no_hub_joins_or_leaves():
    given(Engagement, "e-1", [PROPOSED, CONFIRMED]).when(join()).then_raises(
        Conflict, "only while it is proposed")
    given(Engagement, "e-1", [PROPOSED, JOINED, CONFIRMED]).when(
        lambda e: e.leave(received("alpine"))).then_raises(Conflict, "is confirmed")
    given(Engagement, "e-1", [PROPOSED, CLOSED]).when(join()).then_raises(Conflict, "closed")


def test_the_proposing_hub_closes_once():
    used = [PROPOSED, CONFIRMED, session("q-1")]
    engagement = given(Engagement, "e-1", used).when(
        lambda e: e.close(*received("el-dorado", "done"))).then([
            ("EngagementClosed", {"reason": "done", "sessions_used": 1})])
    assert engagement.status == "closed"
    given(Engagement, "e-1", [PROPOSED]).when(lambda e: e.close(received("el-dorado"))) \
        .then([CLOSED])
    given(Engagement, "e-1", [PROPOSED, JOINED]).when(lambda e: e.close(received("alpine"))) \
        .then_raises(Forbidden, "only the proposing hub closes")
    given(Engagement, "e-1", [PROPOSED, CLOSED]).when(lambda e: e.close(received("el-dorado"))) \
        .then_raises(Conflict, "engagement e-1 is closed already")


def decide(request="q-1", hub="el-dorado", of=(ADDED,), asked="x-1"):
    args = received(request, hub, asked, AT)
    return lambda e: e.decide_session(*args, expert(*of))


def test_a_session_is_recorded_against_a_confirmed_engagement_for_a_hub_in_it():
    engagement = given(Engagement, "e-1", [PROPOSED, JOINED, CONFIRMED]).when(decide()) \
        .then([session("q-1")])
    assert engagement.sessions_used == 1 and engagement.sessions_left == 3
    engagement = given(Engagement, "e-1", [PROPOSED, JOINED, CONFIRMED, session("q-1")]) \
        .when(decide("q-2", "alpine")).then([session("q-2", "alpine", 2, 2)])
    assert engagement.sessions_used == 2 and engagement.requests == {
        "q-1": "recorded", "q-2": "recorded"}


def test_the_last_session_and_then_used_up():
    history = [PROPOSED, CONFIRMED, *(session(f"q-{n}", number=n, left=4 - n)
                                      for n in range(1, 4))]
    engagement = given(Engagement, "e-1", history).when(decide("q-4")).then([
        session("q-4", number=4, left=0)])
    assert engagement.sessions_left == 0
    engagement = given(Engagement, "e-1", [*history, session("q-4", number=4, left=0)]) \
        .when(decide("q-5")).then([refused("q-5", "used_up")])
    assert engagement.sessions_used == 4 and engagement.requests["q-5"] == "used_up"


@pytest.mark.parametrize("history, request_hub, of, reason", [
    ([PROPOSED], "el-dorado", (ADDED,), "not_confirmed"),
    ([PROPOSED, CLOSED], "el-dorado", (ADDED,), "closed"),
    ([PROPOSED, CONFIRMED, CLOSED], "el-dorado", (ADDED,), "closed"),
    ([PROPOSED, CONFIRMED], "alpine", (ADDED,), "hub_not_in_engagement"),
    ([PROPOSED, CONFIRMED], "el-dorado", (ADDED, EXPERT_RETIRED), "expert_retired"),
    ([PROPOSED, JOINED, CONFIRMED], "alpine",
     (ADDED, ("ExpertSharingChanged", {"sharing": "hubs", "hubs": ["placer"]})),
     "expert_not_shared"),
])
def test_a_session_is_refused_with_its_reason(history, request_hub, of, reason):
    engagement = given(Engagement, "e-1", history).when(decide(hub=request_hub, of=of)) \
        .then([refused("q-1", reason, request_hub)])
    assert engagement.sessions_used == 0 and engagement.requests == {"q-1": reason}
    assert engagement.decide_session("q-1", request_hub, "x-1", AT, expert(ADDED)) == reason


def test_a_session_of_another_expert_is_refused_though_everything_else_holds():
    given(Engagement, "e-1", [PROPOSED, CONFIRMED]).when(decide(asked="x-2")).then([
        refused("q-1", "other_expert", expert_id="x-2")])
    # Its own expert, the same hub and state: counted (the check is the expert alone).
    given(Engagement, "e-1", [PROPOSED, CONFIRMED]).when(decide(asked="x-1")).then([
        session("q-1")])


def test_a_counted_session_cancelled_goes_back_to_the_engagement_once():
    history = [PROPOSED, CONFIRMED, session("q-1"), session("q-2", number=2, left=2)]
    engagement = given(Engagement, "e-1", history).when(
        lambda e: e.return_session(*received("q-1", "el-dorado", "snow day"))).then([
            returned("q-1", 1)])
    assert engagement.sessions_used == 1 and engagement.sessions_left == 3
    assert engagement.requests == {"q-1": "returned", "q-2": "recorded"}
    # Cancelled again, or asked for again after: nothing more, and it is not counted again.
    again = [*history, returned("q-1", 1)]
    given(Engagement, "e-1", again).when(
        lambda e: e.return_session("q-1", "el-dorado", "snow day")).then([])
    assert given(Engagement, "e-1", again).when(decide("q-1")).then([]) \
        .requests["q-1"] == "returned"
    # The next session counted after a return is numbered from what is used.
    given(Engagement, "e-1", again).when(decide("q-3")).then([
        session("q-3", number=2, left=2)])


def test_a_return_counts_down_from_what_is_used():
    history = [PROPOSED, CONFIRMED, *(session(f"q-{n}", number=n, left=4 - n)
                                      for n in range(1, 4))]
    engagement = given(Engagement, "e-1", history).when(
        lambda e: e.return_session("q-3", "el-dorado", None)).then([
            returned("q-3", 2, reason=None)])
    assert engagement.sessions_used == 2 and engagement.sessions_left == 2


def test_a_cancellation_before_its_request_refuses_the_request_that_follows():
    engagement = given(Engagement, "e-1", [PROPOSED, CONFIRMED]).when(
        lambda e: e.return_session("q-1", "el-dorado", None)).then([
            refused("q-1", "cancelled")])
    assert engagement.sessions_used == 0
    given(Engagement, "e-1", [PROPOSED, CONFIRMED, refused("q-1", "cancelled")]).when(
        decide("q-1")).then([])


def test_a_refused_session_cancelled_changes_nothing():
    given(Engagement, "e-1", [PROPOSED, CONFIRMED, refused("q-1", "used_up")]).when(
        lambda e: e.return_session("q-1", "el-dorado", None)).then([])


def test_a_request_for_an_engagement_resources_lacks_is_refused_as_not_the_hubs():
    request = given(SessionRequest, "q-9").when(
        lambda r: r.refuse(*received("alpine", "e-nowhere", "x-1"))).then([
            refused("q-9", "hub_not_in_engagement", hub="alpine", engagement="e-nowhere")])
    assert request.hub_id == "alpine"
    # The same words as an engagement the hub is not in: nothing tells the two apart.
    assert REFUSALS["hub_not_in_engagement"] == "your hub is not in this engagement"
    given(SessionRequest, "q-9", [refused("q-9", "hub_not_in_engagement", hub="alpine",
                                          engagement="e-nowhere")]).when(
        lambda r: r.refuse("alpine", "e-nowhere", "x-1")).then([])


def test_a_session_request_is_decided_once():
    answered = []
    given(Engagement, "e-1", [PROPOSED, CONFIRMED, session("q-1")]).when(
        lambda e: answered.append(decide()(e))).then([])
    given(Engagement, "e-1", [PROPOSED, CONFIRMED, refused("q-1", "closed")]).when(
        lambda e: answered.append(decide()(e))).then([])
    given(Engagement, "e-1", [PROPOSED, CONFIRMED]).when(
        lambda e: answered.append(decide()(e))).then([session("q-1")])
    given(Engagement, "e-1", [PROPOSED]).when(
        lambda e: answered.append(decide()(e))).then([refused("q-1", "not_confirmed")])
    assert answered == ["recorded", "closed", "recorded", "not_confirmed"]


def test_equal_split_and_travel_once():
    engagement = given(Engagement, "e-1").when(propose(split="equal", sessions=1)).then([
        ("EngagementProposed", {**PROPOSED[1], "split": "equal", "sessions": 1})])
    assert engagement.costs().total_cents == 155000
    assert engagement.costs().members == {"m-camino": 77500, "m-gold": 77500}


# -- boundaries of comparisons: values as a request or the store gives them back ---------------

def test_may_serve_compares_hubs_by_value_and_on_both_sides_of_the_owner():
    shared = expert(SHARED_WITH_ALPINE)
    assert shared.may_serve(received("el-dorado")) and shared.may_serve(received("alpine"))
    for other in ("amador", "butte", "placer", "el-dorado-2", ""):
        assert not shared.may_serve(received(other)), other


@pytest.mark.parametrize("hub", ["alpine", "placer", "amador"])
def test_only_the_proposer_confirms_or_closes_whatever_its_name_sorts_like(hub):
    given(Engagement, "e-1", [PROPOSED, JOINED]).when(lambda e: e.confirm(received(hub))) \
        .then_raises(Forbidden, "only the proposing hub confirms")
    given(Engagement, "e-1", [PROPOSED, JOINED]).when(lambda e: e.close(received(hub))) \
        .then_raises(Forbidden, "only the proposing hub closes")


def test_a_session_of_an_engagement_never_proposed_is_not_confirmed():
    assert Engagement("e-9").decide_session("q-1", "el-dorado", "x-1", AT, expert(ADDED)) == \
        "not_confirmed"


def test_leaving_takes_the_leaving_hub_s_members_only_whatever_its_name_sorts_like():
    joined_twice = [PROPOSED, JOINED, ("EngagementJoined", {"by_hub_id": "placer",
                                                            "members": members("m-placer")})]
    engagement = given(Engagement, "e-1", joined_twice).when(
        lambda e: e.leave(received("placer"))).then([
            ("EngagementLeft", {"by_hub_id": "placer", "members": ["m-placer"]})])
    assert engagement.hubs == ["el-dorado", "alpine"]


def test_a_hub_joins_with_no_expert_but_the_engagement_s_whatever_its_id_sorts_like():
    other = given(Expert, "x-0", [ADDED]).instance
    given(Engagement, "e-1", [PROPOSED]).when(
        lambda e: e.join("alpine", other, ["m-alpine"], DIRECTORY)) \
        .then_raises(ValidationError, "engagement e-1 is of expert x-1")


@pytest.mark.parametrize("kind", ["research", "toolkit", "literature_review",
                                  "meeting_material", "video"])
def test_a_member_shares_no_other_kind(kind):
    given(LibraryEntry, "r-1").when(publish(kind, by_member=True)) \
        .then_raises(ValidationError, "member_share")


def test_an_empty_summary_or_bio_is_taken():
    given(LibraryEntry, "r-1").when(publish(summary="")).then([
        ("ResourcePublished", {**PUBLISHED[1], "summary": ""})])
    given(Expert, "x-1").when(add(bio="", organisation="")).then([
        ("ExpertAdded", {**ADDED[1], "bio": "", "organisation": ""})])


def test_a_revision_to_a_smaller_value_is_a_revision():
    given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.revise(title=received("Adding It Up"))).then([
            ("ResourceRevised", {**CONTENT, "revision": 2, "note": None,
                                 "title": "Adding It Up"})])


def test_the_first_unknown_field_is_named():
    error = given(LibraryEntry, "r-1", [PUBLISHED]).when(
        lambda e: e.revise(**received({"kind": "video", "owner": "x"}))) \
        .then_raises(ValidationError)
    assert list(error.errors) == ["kind"]
    error = given(Expert, "x-1", [ADDED]).when(
        lambda x: x.revise(**received({"phone": "555", "email": "a@b.org"}))) \
        .then_raises(ValidationError)
    assert list(error.errors) == ["email"]


def test_many_ids_each_once():
    many = [f"pop-{n}" for n in range(300)]
    given(LibraryEntry, "r-1").when(publish(problems=many)).then([
        ("ResourcePublished", {**PUBLISHED[1], "problems": many})])
    given(LibraryEntry, "r-1").when(publish(problems=[*many, "pop-7"])) \
        .then_raises(ValidationError, "each id once")


def test_blank_aggregates_before_their_first_event():
    entry = LibraryEntry("r-1")
    assert (entry.kind, entry.title, entry.revision, entry.retired, entry.ratings,
            entry.visibility, entry.tags, entry.problems) == ("", "", 0, False, {}, "", [], [])
    blank = Expert("x-1")
    assert (blank.rate_cents, blank.travels, blank.travel_cost_cents, blank.sharing,
            blank.hubs, blank.retired, blank.erased) == (0, False, 0, "", [], False, False)
    engagement = Engagement("e-1")
    assert (engagement.sessions, engagement.rate_cents, engagement.travel_cost_cents,
            engagement.status, engagement.sessions_used, engagement.members,
            engagement.split, engagement.expert_id) == (0, 0, 0, "", 0, {}, "", "")


def from_snapshot(aggregate, history):
    """The aggregate as a snapshot of it gives it back: every value decoded from JSON."""
    instance = given(aggregate, "s-1", history).instance
    restored = aggregate("s-1")
    restored.restore_state(json.loads(json.dumps(instance.snapshot_state())))
    restored.version = instance.version
    return restored


def test_an_engagement_from_its_snapshot_decides_alike():
    proposed = from_snapshot(Engagement, [PROPOSED, JOINED])
    proposed.leave("alpine")
    proposed = from_snapshot(Engagement, [PROPOSED, JOINED])
    proposed.confirm("el-dorado")
    assert proposed.decide_session("q-1", "el-dorado", "x-1", AT, expert(ADDED)) == "recorded"
    assert from_snapshot(Engagement, [PROPOSED]).decide_session(
        "q-1", "el-dorado", "x-1", AT, expert(ADDED)) == "not_confirmed"
    confirmed = from_snapshot(Engagement, [PROPOSED, CONFIRMED])
    with pytest.raises(Conflict, match="is confirmed"):
        confirmed.confirm("el-dorado")
    confirmed.close("el-dorado")
    closed = from_snapshot(Engagement, [PROPOSED, CONFIRMED, CLOSED])
    assert closed.decide_session("q-1", "el-dorado", "x-1", AT, expert(ADDED)) == "closed"
    with pytest.raises(Conflict, match="closed already"):
        closed.close("el-dorado")


def test_an_expert_from_its_snapshot_serves_alike():
    assert from_snapshot(Expert, [ADDED]).may_serve("placer")
    shared = from_snapshot(Expert, [SHARED_WITH_ALPINE])
    assert shared.may_serve("alpine") and not shared.may_serve("placer")


def test_a_confirmed_engagement_from_its_snapshot_records_a_session():
    confirmed = from_snapshot(Engagement, [PROPOSED, CONFIRMED])
    assert confirmed.decide_session("q-1", "el-dorado", "x-1", AT, expert(ADDED)) == "recorded"
