"""The shared library's full-text search (services/resources/library_search.py) on a real
database: the kernel's schema and the resources migration, a fixture library of 230 entries
over three hubs and every visibility, and the read model run as a caller would run it
(``Kernel.reading``'s transaction setting), without a service process.

The expected rankings below (``RANKINGS``) were written down before the ranking was tuned."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventstore.db import Database, connect
from eventstore.errors import ValidationError
from eventstore.identity import Identity
from eventstore.migrate import migrate
from services.resources import library_search
from services.resources.library_search import LibrarySearch

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "resources" / "migrations"
HUBS = ("el-dorado", "alpine", "buckeye")
START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)

FACILITATOR = {hub: Identity(sub=f"fac-{hub}", role="facilitator", hubs=(hub,))
               for hub in HUBS}
MEMBER_OF_BUCKEYE = Identity(sub="mem-b", role="member", hubs=("buckeye",), member="mem-b1")
ADMIN = Identity(sub="admin", role="admin", hubs=("*",))
AGENCY = Identity(sub="agency", role="agency", hubs=("alpine",))

# -- the fixture library --------------------------------------------------------------------
# (id, hub, visibility, kind, title, summary, tags, subject, grade band, problems)
NAMED = [
    ("rr-guide", "el-dorado", "consortium", "toolkit",
     "Running Records: A Guide to Assessing Early Readers",
     "How K-2 teachers take running records of oral reading, score accuracy and "
     "self-correction, and use them to form guided reading groups.",
     ["literacy", "assessment", "early reading"], "literacy", "K-2", ["pop-ed-literacy"]),
    ("rr-miscues", "alpine", "public", "video",
     "Coding Miscues in Running Records",
     "A twenty-minute video: meaning, structure and visual cues, and what a reader's "
     "miscues say about the next lesson.",
     ["literacy", "assessment"], "literacy", "K-2", []),
    ("rr-club", "buckeye", "consortium", "meeting_material",
     "Records of the Student Running Club",
     "Attendance sheets a middle school kept for its after-school running club, used as "
     "a check-and-connect touchpoint for students at risk of missing school.",
     ["attendance", "mentoring"], "attendance", "6-8", []),
    ("rr-reading-records", "buckeye", "public", "research",
     "Reading Fluency Records Across a Rural District",
     "Three years of oral reading fluency data: schools kept running tallies of words "
     "correct per minute and compared records between grades.",
     ["literacy", "fluency", "data"], "literacy", "3-5", []),
    ("absent-research", "buckeye", "public", "research",
     "Chronic Absenteeism in Rural Schools: What the Research Says",
     "A synthesis of studies on chronic absenteeism in rural districts: transportation, "
     "health, weather and family work as causes, and what reduced chronic absence.",
     ["attendance", "chronic absenteeism", "rural"], "attendance", "K-12",
     ["pop-ed-attendance"]),
    ("absent-toolkit", "el-dorado", "consortium", "toolkit",
     "Reducing Chronic Absenteeism: A District Toolkit",
     "Attendance teams, tiered interventions and letters home that cut chronic "
     "absenteeism, with templates a small district can adopt.",
     ["attendance", "chronic absenteeism", "family engagement"], "attendance", "K-12",
     ["pop-ed-attendance"]),
    ("absent-brief", "alpine", "consortium", "literature_review",
     "Chronic Absenteeism and Student Outcomes: A Literature Review",
     "What missing ten percent of the school year does to reading and math "
     "achievement, by grade, and which interventions have evidence.",
     ["attendance", "chronic absenteeism", "research"], "attendance", "K-12", []),
    ("absent-nudge", "alpine", "public", "research",
     "Attendance Nudges by Text Message",
     "A randomized trial of weekly texts to families about absences in elementary school.",
     ["attendance", "family engagement"], "attendance", "K-5", []),
    ("persist-carnegie", "el-dorado", "public", "research",
     "Productive Persistence in Developmental Math",
     "The Carnegie Foundation's driver diagram for productive persistence: students "
     "believe they can succeed and have strategies to persist when math gets hard.",
     ["math", "persistence", "mindset"], "math", "9-12", ["pop-ed-math"]),
    ("persist-algebra", "alpine", "consortium", "toolkit",
     "Building Persistence in Algebra I",
     "Classroom routines that help ninth graders persist through challenging algebra "
     "tasks: struggle time, hint cards and reflection.",
     ["math", "persistence", "algebra"], "math", "9-12", []),
    ("sel-casel", "buckeye", "public", "research",
     "The CASEL Framework for Social and Emotional Learning",
     "Five competencies of social and emotional learning (self-awareness, "
     "self-management, social awareness, relationship skills, responsible decisions) "
     "and how schools teach them.",
     ["social-emotional learning", "framework"], "sel", "K-12", []),
    ("sel-rural", "el-dorado", "consortium", "literature_review",
     "Social and Emotional Learning in Small Rural Schools",
     "How schools with one counselor for every grade build social and emotional "
     "learning into advisory periods and morning meetings.",
     ["social-emotional learning", "rural"], "sel", "K-8", []),
    ("sel-circles", "alpine", "consortium", "meeting_material",
     "Restorative Circles Protocol for Staff Meetings",
     "A protocol for opening and closing circles that build relationship skills among "
     "staff before they use them with students.",
     ["social-emotional learning", "restorative practices"], "sel", "K-12", []),
    ("math-talks", "el-dorado", "consortium", "video",
     "Number Talks in a Multi-Grade Classroom",
     "Short daily number talks that build mental math and reasoning when one teacher "
     "has second and third graders together.",
     ["math", "number sense", "rural"], "math", "K-2", ["pop-ed-math"]),
    ("math-fractions", "buckeye", "public", "toolkit",
     "Fractions on the Number Line <Grades 3–5> & Beyond",
     "Lessons and tasks that place fractions on number lines before any procedure for "
     "comparing them.",
     ["math", "fractions"], "math", "3-5", []),
    # Hub-only entries: their words appear nowhere else ("zephyrine", "quillbrook").
    ("secret-ed", "el-dorado", "hub", "meeting_material",
     "Zephyrine Valley Attendance Plan",
     "El Dorado's plan for the Zephyrine Valley districts: chronic absenteeism "
     "targets and running records of home visits.",
     ["attendance", "zephyrine"], "attendance", "K-12", ["pop-ed-attendance"]),
    ("secret-ed-2", "el-dorado", "hub", "toolkit",
     "Zephyrine Literacy Walkthrough Notes",
     "Walkthrough notes on running records and phonics in the Zephyrine schools.",
     ["literacy", "zephyrine"], "literacy", "K-2", ["pop-ed-literacy"]),
    ("secret-alpine", "alpine", "hub", "research",
     "Quillbrook Persistence Survey Results",
     "Alpine's survey of productive persistence among Quillbrook math students.",
     ["math", "quillbrook"], "math", "9-12", []),
    ("retired-ed", "el-dorado", "consortium", "toolkit",
     "Running Records Template (retired)",
     "Superseded by the guide to running records.",
     ["literacy"], "literacy", "K-2", []),
]
RETIRED = {"retired-ed"}

# Named queries and the entries that must come first, in any order among themselves, for a
# facilitator of El Dorado (who sees its own hub-only entries too).
RANKINGS = {
    "running records": {"rr-guide", "rr-miscues"},
    "chronic absenteeism": {"absent-research", "absent-toolkit", "absent-brief"},
    "persist": {"persist-carnegie", "persist-algebra"},
    "social emotional learning": {"sel-casel", "sel-rural"},
    "number talks": {"math-talks"},
    "fractions number line": {"math-fractions"},
    "zephyrine": {"secret-ed", "secret-ed-2"},
}

TOPICS = [
    ("math", "math", ["math"], ["fraction fluency", "math anxiety", "place value",
                                "algebra readiness", "geometry vocabulary"]),
    ("literacy", "literacy", ["literacy"], ["phonemic awareness", "vocabulary instruction",
                                            "writing conferences", "decodable texts",
                                            "reading comprehension"]),
    ("attendance", "attendance", ["attendance"], ["family outreach", "bus routes",
                                                  "attendance incentives", "home visits",
                                                  "early warning data"]),
    ("sel", "sel", ["social-emotional learning"], ["advisory periods", "student voice",
                                                   "mentoring programs", "trauma-informed "
                                                   "practice", "conflict resolution"]),
    ("leadership", None, ["rural", "leadership"], ["teacher retention", "data teams",
                                                   "principal coaching", "shared staffing",
                                                   "grant writing"]),
]
FORMS = [
    ("toolkit", "A Toolkit for {t}", "Templates and step-by-step guidance on {t} for a "
     "small district's {s} team, with examples from rural schools."),
    ("research", "Research Brief: {t}", "What recent studies say about {t}, how strong the "
     "evidence is, and what it means for {s} in small schools."),
    ("video", "Webinar Recording: {t}", "A recorded session where teachers from three "
     "districts describe their work on {t} and answer questions."),
    ("meeting_material", "Network Meeting Slides on {t}", "Slides and a facilitation "
     "guide for a network meeting on {t}, with an empathy interview protocol."),
    ("literature_review", "{t}: A Literature Review", "A review of the literature on {t} "
     "in K-12 schools, organised by grade band and setting."),
    ("member_share", "What We Tried: {t}", "A member district shares its improvement "
     "cycle on {t}: the change idea, the data it collected and what it would change."),
]
GRADES = ["K-2", "3-5", "6-8", "9-12", "K-12"]
VISIBILITY_CYCLE = ["consortium", "public", "hub", "consortium", "hub", "public"]


def library():
    """The fixture library: the named entries and 211 generated ones (deterministic)."""
    rng = random.Random(17)
    rows = list(NAMED)
    n = 0
    for (topic, subject, tags, themes), (kind, title, summary) in itertools.product(
            TOPICS, FORMS):
        for theme in themes:
            for hub in HUBS:
                if rng.random() < 0.53:
                    continue
                n += 1
                grade = rng.choice(GRADES)
                t = theme.title() if "{t}:" in title else theme
                rows.append((f"gen-{n:03d}", hub, VISIBILITY_CYCLE[n % 6], kind,
                             title.format(t=t.capitalize() if title.startswith("{t}")
                                          else theme.title()),
                             summary.format(t=theme, s=topic),
                             [*tags, theme.split()[0]], subject, grade, []))
    return rows


LIBRARY = library()
BY_ID = {row[0]: row for row in LIBRARY}


def visible_to(caller, row):
    _, hub, visibility, *_ = row
    if row[0] in RETIRED:
        return False
    return visibility in ("consortium", "public") or caller.all_hubs or (
        hub in caller.hubs and caller.may_read_hub(hub))


@pytest.fixture(scope="module")
def library_url(new_database):
    url = new_database()
    migrate(url, MIGRATIONS)
    conn = connect(url, autocommit=False)
    with conn.cursor() as cur:
        for i, (id_, hub, vis, kind, title, summary, tags, subject, grade, problems) in \
                enumerate(LIBRARY):
            at = START + timedelta(hours=i)
            cur.execute(
                "INSERT INTO library_view (id, hub_id, kind, title, summary, link, tags, "
                "subject, grade_band, problems, visibility, retired, revision, rating_count, "
                "rating_sum, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, 1, %s, %s, %s, %s)",
                (id_, hub, kind, title, summary, f"https://example.org/{id_}", tags, subject,
                 grade, problems, vis, id_ in RETIRED, i % 4, (i % 4) * 4, at, at))
        cur.execute("ANALYZE library_view")
    conn.commit()
    conn.close()
    return url


@pytest.fixture(scope="module")
def lib(library_url):
    database = Database(library_url, size=4)
    yield database
    database.close()


def as_caller(cur, caller, model=LibrarySearch):
    """What ``Kernel.reading`` does for a caller (library_view has no policy, so this must
    change nothing; it is here so that the tests read as a service would)."""
    scope = "*" if caller.all_hubs else (",".join(caller.hubs) or "-")
    cur.execute("SELECT set_config('consortium.hubs', %s, true)", (scope,))
    return model(cur, caller, store=None)


def search(lib, caller, criteria, limit=50, after=None, model=LibrarySearch):
    with lib.transaction() as cur:
        return as_caller(cur, caller, model).search(criteria, limit, after)


def everything(lib, caller, criteria, limit=200, model=LibrarySearch):
    """Every page of a search: the items in order, and each page's answer."""
    items, pages, after = [], [], None
    while True:
        page = search(lib, caller, criteria, limit, after, model)
        pages.append(page)
        items += page["items"]
        after = page["next"]
        if after is None:
            return items, pages


def ids(answer):
    return [item["id"] for item in answer["items"]]


ED = FACILITATOR["el-dorado"]
ALPINE = FACILITATOR["alpine"]


# -- relevance --------------------------------------------------------------------------------

def test_the_fixture_library_is_big_enough_and_spread_over_hubs_and_visibilities():
    assert len(LIBRARY) >= 200
    assert {(row[1], row[2]) for row in LIBRARY} == set(itertools.product(
        HUBS, ("hub", "consortium", "public")))


@pytest.mark.parametrize("q", sorted(RANKINGS))
def test_named_queries_rank_the_named_entries_first(lib, q):
    expected = RANKINGS[q]
    found = ids(search(lib, ED, {"q": q}))
    assert set(found[:len(expected)]) == expected, found[:8]


def test_ranks_descend_and_ties_go_by_id(lib):
    items = search(lib, ED, {"q": "attendance"}, limit=200)["items"]
    keys = [(-item["rank"], item["id"]) for item in items]
    assert keys == sorted(keys) and len(items) > 20


def test_stemming_finds_other_forms_of_a_word(lib):
    assert {"persist-carnegie", "persist-algebra"} <= set(ids(search(lib, ED, {"q": "persist"})))
    assert "absent-nudge" in ids(search(lib, ED, {"q": "absence"}))          # "absences"
    assert "rr-guide" in ids(search(lib, ED, {"q": "assessment"}))          # "assessing"
    assert "absent-toolkit" in ids(search(lib, ED, {"q": "intervention"}))  # "interventions"


def test_a_quoted_phrase_needs_the_words_together(lib):
    apart = set(ids(search(lib, ED, {"q": "running records"}, limit=200)))
    together = set(ids(search(lib, ED, {"q": '"running records"'}, limit=200)))
    assert {"rr-club", "rr-reading-records"} <= apart         # both words, apart
    assert together.isdisjoint({"rr-club", "rr-reading-records"})
    assert {"rr-guide", "rr-miscues", "secret-ed", "secret-ed-2"} <= together
    assert together < apart


def test_without_words_the_library_is_newest_first(lib):
    items = everything(lib, ED, {}, limit=37)[0]
    expected = sorted((row for row in LIBRARY if visible_to(ED, row)),
                      key=lambda row: LIBRARY.index(row), reverse=True)
    assert [item["id"] for item in items] == [row[0] for row in expected]
    assert all(item["rank"] is None and item["highlight"] is None for item in items)


# -- filters ----------------------------------------------------------------------------------

FILTERS = {   # test id: (criterion, value, which rows it keeps)
    "tag": ("tag", ["attendance"], lambda row: "attendance" in row[6]),
    "tags": ("tag", ["math", "persistence"], lambda row: {"math", "persistence"} <= set(row[6])),
    "kind": ("kind", ["toolkit"], lambda row: row[3] == "toolkit"),
    "kinds": ("kind", ["video", "research"], lambda row: row[3] in ("video", "research")),
    "subject": ("subject", "literacy", lambda row: row[7] == "literacy"),
    "grade_band": ("grade_band", "K-2", lambda row: row[8] == "K-2"),
    "problem": ("problem", "pop-ed-attendance", lambda row: "pop-ed-attendance" in row[9]),
    "visibility-hub": ("visibility", "hub", lambda row: row[2] == "hub"),
    "visibility-consortium": ("visibility", "consortium", lambda row: row[2] == "consortium"),
    "visibility-public": ("visibility", "public", lambda row: row[2] == "public"),
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_keeps_exactly_the_entries_it_names(lib, name):
    criterion, value, keeps = FILTERS[name]
    answer = search(lib, ED, {criterion: value}, limit=200)
    expected = {row[0] for row in LIBRARY if visible_to(ED, row) and keeps(row)}
    assert set(ids(answer)) == expected and expected
    assert answer["total"] == len(expected) and answer["total_exact"]


def test_filters_combine_with_words_and_with_each_other(lib):
    answer = search(lib, ED, {"q": "chronic absenteeism", "kind": ["toolkit"],
                              "subject": "attendance", "problem": "pop-ed-attendance"})
    assert ids(answer) == ["absent-toolkit"]
    answer = search(lib, ED, {"q": "running records", "grade_band": "K-2", "tag": ["literacy"],
                              "visibility": "consortium"})
    assert ids(answer) == ["rr-guide"]


def test_facets_count_the_current_query_and_filters(lib):
    answer = search(lib, ED, {"q": "chronic absenteeism"}, limit=1)
    matched = everything(lib, ED, {"q": "chronic absenteeism"})[0]
    kinds: dict[str, int] = {}
    tags: dict[str, int] = {}
    for item in matched:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
        for tag in item["tags"]:
            tags[tag] = tags.get(tag, 0) + 1
    assert answer["facets"]["kind"] == kinds
    assert answer["facets"]["tag"] == tags
    assert answer["total"] == len(matched)
    assert list(answer["facets"]["tag"].values()) == sorted(tags.values(), reverse=True)
    narrowed = search(lib, ED, {"q": "chronic absenteeism", "kind": ["toolkit"]})
    assert narrowed["facets"]["kind"] == {"toolkit": kinds["toolkit"]}


def test_retired_entries_are_never_found(lib):
    for caller in (ED, ADMIN):
        found = [i["id"] for i in everything(lib, caller, {"q": "running records"})[0]]
        assert found and "retired-ed" not in found
        assert "retired-ed" not in [i["id"] for i in everything(lib, caller, {})[0]]


# -- highlights -------------------------------------------------------------------------------

def test_matched_words_are_marked_on_the_page_and_the_rest_is_escaped(lib):
    items = {item["id"]: item for item in search(lib, ED, {"q": "running records"})["items"]}
    guide = items["rr-guide"]["highlight"]
    assert guide["title"] == ("<mark>Running</mark> <mark>Records</mark>: A Guide to "
                              "Assessing Early Readers")
    assert "<mark>running</mark> <mark>records</mark>" in guide["summary"]
    fractions = search(lib, ED, {"q": "fractions"})["items"]
    title = next(i for i in fractions if i["id"] == "math-fractions")["highlight"]["title"]
    assert title == ("<mark>Fractions</mark> on the Number Line &lt;Grades 3–5&gt; "
                     "&amp; Beyond")


def test_marker_characters_in_the_stored_text_cannot_forge_a_mark(lib):
    with lib.transaction() as cur:
        cur.execute("UPDATE library_view SET title = %s WHERE id = 'rr-miscues'",
                    (f"Coding {library_search.START}Miscues{library_search.STOP} in "
                     "Running Records",))
        answer = as_caller(cur, ED).search({"q": "records"}, 200, None)
        cur.connection.rollback()
    title = next(i for i in answer["items"] if i["id"] == "rr-miscues")["highlight"]["title"]
    assert title == "Coding Miscues in Running <mark>Records</mark>"


def test_marked_html_closes_what_it_opens():
    mark = library_search.marked_html
    assert mark(f"a {library_search.START}b{library_search.STOP} <c>") == \
        "a <mark>b</mark> &lt;c&gt;"
    assert mark(f"{library_search.START}open") == "<mark>open</mark>"
    assert mark(f"x{library_search.STOP}y") == "xy"
    assert mark(None) is None


# -- paging -----------------------------------------------------------------------------------

@pytest.mark.parametrize("criteria", [{"q": "attendance"}, {"q": "school"}, {},
                                      {"tag": ["math"]}, {"q": '"social and emotional"'}])
def test_tokens_page_through_every_result_exactly_once(lib, criteria):
    whole = search(lib, ED, criteria, limit=200)
    assert whole["next"] is None
    items, pages = everything(lib, ED, criteria, limit=7)
    assert [i["id"] for i in items] == ids(whole)
    assert len(set(ids(whole))) == len(ids(whole)) == whole["total"]
    assert all(page["total"] == whole["total"] and page["facets"] == whole["facets"]
               for page in pages)
    assert len(pages) == -(-len(items) // 7) or (len(items) % 7 == 0 and len(pages) ==
                                                 len(items) // 7)


def test_a_token_of_another_query_another_caller_or_edited_is_refused_naming_after(lib):
    token = search(lib, ED, {"q": "attendance"}, limit=5)["next"]
    assert token
    edited = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    for caller, criteria, after in [
            (ED, {"q": "literacy"}, token),
            (ED, {"q": "attendance", "kind": ["toolkit"]}, token),
            (ED, {}, token),
            (ALPINE, {"q": "attendance"}, token),
            (ED, {"q": "attendance"}, edited),
            (ED, {"q": "attendance"}, "not a token!"),
            (ED, {"q": "attendance"}, "x" * 600)]:
        with pytest.raises(ValidationError) as refused:
            search(lib, caller, criteria, 5, after)
        assert list(refused.value.errors) == ["after"]


def test_common_words_rank_only_the_newest_candidates_and_say_at_least(lib):
    class Capped(LibrarySearch):
        candidates = 10
    matches = search(lib, ED, {"q": "school"}, limit=200)["total"]
    assert matches > 10
    answer = search(lib, ED, {"q": "school"}, limit=4, model=Capped)
    assert answer["total"] == 10 and not answer["total_exact"]
    assert sum(answer["facets"]["kind"].values()) == 10
    items = everything(lib, ED, {"q": "school"}, limit=4, model=Capped)[0]
    assert len(items) == 10 == len({i["id"] for i in items})
    newest = sorted(items, key=lambda i: i["created_at"])[0]["created_at"]
    uncapped = everything(lib, ED, {"q": "school"})[0]
    assert {i["id"] for i in uncapped if i["created_at"] >= newest} == {i["id"] for i in items}


# -- hostile and bad input --------------------------------------------------------------------

HOSTILE = ["", " ", "&", "|", "!", ":*", "& | ! :*", "!!!", "'", '"', '"""', '"running records',
           'running records"', "math & | !science", "(((", ")", "a:*", "running <-> records",
           "-", "--math", "-math", "\\", "%", "%s", "%(q)s", "';DROP TABLE library_view;--",
           "or", "or or or", "the of and", "\u0301", "😀", "ß", "a" * 200, "x:* & y:A",
           "\t\n", "<mark>", "\ue000", "running (records OR miscues)"]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_words_never_fail_the_search(lib, q):
    answer = search(lib, ED, {"q": q})
    assert set(answer) == {"items", "next", "facets", "total", "total_exact"}


def test_nothing_to_look_for_finds_nothing_and_a_blank_query_lists_the_library(lib):
    for q in ("the of and", "& | ! :*", "-math", ":*", '"'):
        answer = search(lib, ED, {"q": q})
        assert answer["items"] == [] and answer["total"] == 0, q
    assert search(lib, ED, {"q": "  "})["total"] == search(lib, ED, {})["total"] > 0


@pytest.mark.parametrize("criteria, field", [
    ({"q": "a" * 10_000}, "q"), ({"q": "a" * 201}, "q"), ({"q": "nul\x00"}, "q"),
    ({"q": "\ud800"}, "q"), ({"q": 7}, "q"), ({"tag": [1]}, "tag.0"),
    ({"tag": ["x"] * 21}, "tag"), ({"kind": ["novel"]}, "kind.0"), ({"kind": "poem"}, "kind"),
    ({"subject": "s" * 128}, "subject"), ({"grade_band": ""}, "grade_band"),
    ({"problem": ["p"]}, "problem"), ({"visibility": "secret"}, "visibility"),
    ({"order": "rank"}, "order")])
def test_bad_criteria_are_a_validation_error_naming_the_field(lib, criteria, field):
    with pytest.raises(ValidationError) as refused:
        search(lib, ED, criteria)
    assert field in refused.value.errors


def test_every_bad_criterion_is_named_at_once():
    with pytest.raises(ValidationError) as refused:
        library_search.normalise({"q": "a" * 300, "kind": ["x"], "visibility": "nope"})
    assert set(refused.value.errors) == {"q", "kind.0", "visibility"}


# -- isolation --------------------------------------------------------------------------------

COMBINATIONS = list(itertools.product(
    [None, "attendance", "running records", "zephyrine", "quillbrook persistence"],
    [None, ("attendance",), ("literacy",)],
    [None, ("toolkit", "meeting_material")],
    [None, "literacy", "attendance"],
    [None, "K-2"],
    [None, "pop-ed-attendance"],
    [None, "hub", "consortium"]))
OBSERVERS = {"alpine-facilitator": ALPINE, "buckeye-member": MEMBER_OF_BUCKEYE,
             "agency-of-alpine": AGENCY}
SECRET_WORDS = {"zephyrine": "el-dorado", "quillbrook": "alpine"}


def criteria_of(combination):
    names = ("q", "tag", "kind", "subject", "grade_band", "problem", "visibility")
    return {n: list(v) if isinstance(v, tuple) else v
            for n, v in zip(names, combination, strict=True) if v is not None}


def without_other_hubs(cur, caller):
    """The library as it would be if no other hub had hub-only entries."""
    mine = [h for h in caller.hubs if caller.may_read_hub(h)]
    cur.execute("DELETE FROM library_view WHERE visibility = 'hub' AND NOT hub_id = ANY(%s)",
                (mine,))


@pytest.mark.parametrize("combination", COMBINATIONS,
                         ids=["-".join("_" if v is None else "x" for v in c)
                              + f"-{i}" for i, c in enumerate(COMBINATIONS)])
def test_another_hubs_hub_only_entries_change_nothing_a_hub_sees(lib, combination):
    """For every filter combination and observer: results, totals, facets, highlights and
    pages are what they would be if the other hubs' hub-only entries did not exist."""
    criteria = criteria_of(combination)
    with lib.transaction() as cur:
        for name, observer in OBSERVERS.items():
            model = as_caller(cur, observer)
            seen = everything_on(model, criteria)
            cur.execute("SAVEPOINT alone")
            without_other_hubs(cur, observer)
            alone = everything_on(model, criteria)
            cur.execute("ROLLBACK TO SAVEPOINT alone")
            assert seen == alone, name
            for page in seen:
                assert all(visible_to(observer, BY_ID[item["id"]]) for item in page["items"])
                text = repr(page).lower()
                for word, hub in SECRET_WORDS.items():
                    assert observer.may_read_hub(hub) or word not in text, (name, word)
        cur.connection.rollback()


def everything_on(model, criteria):
    pages, after = [], None
    while True:
        page = model.search(criteria, 25, after)
        page_without_token = {**page, "next": page["next"] is not None}
        pages.append(page_without_token)
        after = page["next"]
        if after is None:
            return pages


def test_the_owner_hub_does_see_its_hub_only_entries(lib):
    """So that the isolation test above is not vacuous."""
    assert set(ids(search(lib, ED, {"q": "zephyrine"}))) == {"secret-ed", "secret-ed-2"}
    assert ids(search(lib, ALPINE, {"q": "zephyrine"})) == []
    assert search(lib, ALPINE, {"q": "zephyrine"})["facets"] == {
        "kind": {}, "tag": {}, "subject": {}}
    assert ids(search(lib, ALPINE, {"q": "quillbrook"})) == ["secret-alpine"]
    assert search(lib, ED, {"q": "quillbrook"})["total"] == 0
    assert search(lib, ED, {"tag": ["zephyrine"]})["facets"]["tag"]["zephyrine"] == 2
    assert "zephyrine" not in search(lib, ALPINE, {"tag": ["attendance"]})["facets"]["tag"]


def test_a_caller_of_several_hubs_and_an_admin_see_each_hubs_entries(lib):
    both = Identity(sub="f2", role="facilitator", hubs=("el-dorado", "alpine"))
    found = set(ids(search(lib, both, {"q": "zephyrine OR quillbrook"})))
    assert found == {"secret-ed", "secret-ed-2", "secret-alpine"}
    assert set(ids(search(lib, ADMIN, {"q": "zephyrine OR quillbrook"}))) == found
    everyone = {row[0] for row in LIBRARY if row[0] not in RETIRED}
    assert {i["id"] for i in everything(lib, ADMIN, {})[0]} == everyone
