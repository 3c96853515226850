"""Library search benchmark (issue 17): ``GET /v1/resources?q=`` over a library of 100,000
generated entries across 10 hubs, through HTTP → gateway → RPC → the resources service, and
the same queries as bare SQL in the same run.

    .venv/bin/python bench/search.py [--entries 100000] [--seconds 15] [--clients 8]

The library. Titles and summaries are drawn from a vocabulary of K-12 education words and
phrases ("formative assessment", "running records") with a Zipf-like distribution (the k-th
word about 1/k as frequent as the first), so a common word ("student") matches most of the
library, the rarest of the vocabulary still a thousand or more, and a school's name about 70;
stop words are sprinkled in, as in real prose.
Each entry has one to four tags (also Zipf), a kind, a subject, a grade band, sometimes a
problem of practice, the school or district it comes from (one of 1,500 generated names: the
long tail of rare words), an owner hub among ten, and a visibility: hub only (40%), consortium
(45%), public (15%); 2% are retired.

The entries are written straight into ``library_view`` with COPY, not published through the
service: the table is a projection of the service's log (rebuildable from it), and what the
search reads is the table, its generated ``tsvector`` and its indexes, which COPY maintains
exactly as the projection's INSERTs do. ``index_per_s`` is the rate of that load: rows per
second with the weighted ``tsvector`` generated and the GIN (and B-tree) indexes maintained,
the GIN pending lists flushed at the end included.

The load. The resources service and a gateway run as real processes (``nameko run``, as
``make up`` runs them), on a scratch database and a RabbitMQ virtual host of their own. Each of
``--clients`` HTTP clients (keep-alive) sends queries as the facilitator of one of the ten
hubs, from one list of mixed queries: one word, two words, a phrase, a common word, a word or a
common word with a filter (kind, subject, grade band or tag), a word among the hub's hub-only
entries (``visibility=hub``), and a filtered list without words; ``limit=20``. Then, in the
same run, the same list as bare SQL: ``LibrarySearch.search`` called in this process on a
connection of each client's own, in a transaction with the caller's scope set as the service
sets it (``Kernel.reading``), timing the call alone: the same SQL statements the read model
runs, without HTTP, the gateway, RPC and serialisation. A first serial pass checks that HTTP
and SQL give the same entries for each query and records how many entries each kind matches.

Prints figures, start-up and tear-down to standard error, and last one JSON line: entries,
search_p50_ms, search_p99_ms (HTTP, ``--clients`` clients), sql_p50_ms, sql_p99_ms (the same
concurrency), overhead_p50_ms (the difference), index_per_s, rss_mb (the resources service's
resident memory at the end), the serial (one client) p50s, the CPU time the service and the
gateway spent per search over HTTP, and p50s per query kind. Targets
(issue 17): search_p99_ms < 50, search_p50_ms − sql_p50_ms < 10.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import (  # first: the repository on the path, the environment
    ROOT,
    for_seconds,
    free_port,
    percentile,
    rabbitmqctl,
)

from deploy import runner
from eventstore.config import DEV_DB_PASSWORD
from eventstore.db import connect
from eventstore.identity import Identity
from eventstore.provision import drop_database, ensure_database
from gateway.auth import issue
from services.resources.domain import KINDS
from services.resources.projections import ResourcesReadModel

DB = "consortium_bench_search"
ROLE = "consortium_bench"
URL = f"postgresql://{ROLE}:{DEV_DB_PASSWORD}@localhost:5432/{DB}"
HUBS = [f"bench-hub-{n:02d}" for n in range(1, 11)]
LIMIT = 20

# -- the vocabulary, most frequent first ------------------------------------------------------

VOCABULARY = """
student teacher learning school instruction classroom reading math practice data district
support literacy assessment family grade curriculum engagement achievement writing skill
professional development community leadership equity feedback strategy intervention science
evidence collaboration goal lesson language understanding improvement language standard
coaching attendance behavior inquiry growth outcome design network problem culture
vocabulary comprehension fluency fraction number algebra geometry measurement reasoning
discourse persistence motivation belonging wellbeing relationship trust mentor principal
counselor paraprofessional parent caregiver volunteer tutor library technology computer
device online hybrid rural county office consortium partnership grant funding budget
schedule calendar period block minute homework project portfolio rubric exit ticket quiz
test benchmark screener survey interview observation walkthrough protocol agenda meeting
norm reflection cycle plan study improvement science hypothesis prototype indicator measure
baseline target trend chart signal run variation system process routine habit expectation
responsibility accountability transparency communication newsletter outreach translation
interpreter immigrant newcomer migrant foster homeless poverty nutrition health trauma
resilience mindfulness conflict restorative discipline suspension expulsion absence chronic
truancy dropout graduation credit recovery transcript pathway career college apprenticeship
internship workforce industry agriculture engineering robotics coding chemistry biology
physics earth ecology climate watershed forest wildfire drought weather history civics
government geography economics citizenship debate argument essay narrative poetry novel
author genre phonics phonemic decoding spelling grammar syntax morphology handwriting
keyboarding listening speaking oral bilingual biliteracy dual immersion designated
integrated newcomer reclassification proficiency transition kindergarten preschool infant
toddler adolescent middle high elementary secondary primary upper lower special disability
autism dyslexia accommodation modification inclusion coteaching gifted talented acceleration
enrichment remediation tier universal targeted intensive progress monitoring referral
evaluation eligibility individualized section transition music art drama dance theater
visual studio ensemble choir band orchestra physical fitness nutrition sport recess
playground lunch cafeteria bus transportation facility safety emergency drill nurse clinic
counseling psychologist social worker attendance clerk secretary custodian superintendent
trustee board policy regulation compliance audit report dashboard indicator metric
accountability charter magnet alternative continuation juvenile court probation tribal
native heritage identity diversity inclusion bias antiracist representation voice agency
choice autonomy competence mastery grading standards-based retake revision conference
student-led showcase exhibition capstone
"""
# Duplicates keep their first rank.
WORDS = list(dict.fromkeys(VOCABULARY.split()))

PHRASES = [
    "formative assessment", "running records", "number talks", "guided reading",
    "professional learning community", "math persistence", "chronic absenteeism",
    "english learners", "social emotional learning", "restorative circles",
    "universal design for learning", "multi-tiered system of supports", "growth mindset",
    "family engagement", "culturally responsive teaching", "productive struggle",
    "close reading", "academic vocabulary", "science of reading", "project based learning",
    "peer observation", "instructional rounds", "data chat", "goal setting",
    "plan do study act", "fishbone diagram", "driver diagram", "empathy interview",
    "learning walk", "lesson study", "small group instruction", "reading intervention",
    "early literacy", "math discourse", "writing workshop", "student voice",
    "teacher retention", "rural schools", "summer learning", "after school program",
]
STOP = ["the", "of", "and", "for", "in", "to", "with", "a", "on", "how", "by", "at", "from"]
TAGS = [
    "literacy", "math", "attendance", "english learners", "sel", "family engagement",
    "assessment", "coaching", "equity", "science", "writing", "early childhood",
    "special education", "leadership", "improvement science", "data use", "intervention",
    "rural", "technology", "college and career", "behavior", "persistence", "fractions",
    "phonics", "vocabulary", "newcomers", "wellbeing", "civics", "arts", "stem",
    "professional learning", "dual language", "grading", "mentoring", "tutoring",
    "summer", "transitions", "graduation", "engineering", "climate",
]
SUBJECTS = ["ELA", "Mathematics", "Science", "History-Social Science", "ELD", "SEL",
            "Arts", "Physical Education", "CTE", "Leadership"]
GRADE_BANDS = ["TK-2", "3-5", "6-8", "9-12", "K-12", "K-5"]
KIND_WEIGHTS = [30, 20, 10, 15, 10, 15]


def zipf(n: int, s: float = 1.0) -> list[float]:
    """Cumulative weights of ranks 1..n with weight 1/rank**s."""
    total, cumulative = 0.0, []
    for rank in range(1, n + 1):
        total += 1.0 / rank ** s
        cumulative.append(total)
    return cumulative


# Words and phrases are one list of terms; phrases rank among the mid-frequency words.
TERMS = WORDS[:40] + PHRASES + WORDS[40:]
TERM_WEIGHTS = zipf(len(TERMS), 1.0)
# The long tail: every entry names the place it comes from (a school or district of 1,500,
# each named in about 70 entries), what makes a selective one-word search.
SYLLABLES = ["ca", "lo", "ma", "ri", "sa", "to", "ven", "del", "mon", "pla", "ser", "an",
             "ha", "el", "dor", "quin", "bel", "wa", "tu", "ko"]
PLACE_KINDS = ["Elementary", "Middle School", "High School", "Unified", "Union",
               "Charter School"]


def places(count: int = 1500) -> list[str]:
    rng = random.Random(1850)
    found: dict[str, None] = {}
    while len(found) < count:
        name = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 3)))
        found[name.capitalize()] = None
    return list(found)


PLACES = places()
TAG_WEIGHTS = zipf(len(TAGS), 0.9)


class Library:
    """Generates entries; deterministic for a seed."""

    def __init__(self, seed: int = 17) -> None:
        self.rng = random.Random(seed)
        self.start = datetime(2019, 8, 1, tzinfo=UTC)

    def prose(self, words: int) -> str:
        rng = self.rng
        terms = rng.choices(TERMS, cum_weights=TERM_WEIGHTS, k=words)
        out: list[str] = []
        for i, term in enumerate(terms):
            out.append(term)
            if i % 3 == 2:
                out.append(rng.choice(STOP))
        return " ".join(out)

    def rows(self, count: int):
        rng = self.rng
        for i in range(count):
            hub = HUBS[i % len(HUBS)]
            title = self.prose(rng.randint(3, 7)).capitalize()
            summary = ". ".join(self.prose(rng.randint(8, 14)).capitalize()
                                for _ in range(rng.randint(2, 4)))
            summary += f". From {rng.choice(PLACES)} {rng.choice(PLACE_KINDS)}."
            tags = sorted(set(rng.choices(TAGS, cum_weights=TAG_WEIGHTS, k=rng.randint(1, 4))))
            roll = rng.random()
            visibility = "hub" if roll < 0.40 else "consortium" if roll < 0.85 else "public"
            created = self.start + timedelta(seconds=rng.randint(0, 7 * 365 * 86400))
            problems = [f"pop-{hub}-{rng.randint(1, 3)}"] if rng.random() < 0.3 else []
            yield (f"{hub}.res-{i:06d}", hub,
                   rng.choices(KINDS, weights=KIND_WEIGHTS)[0], title, summary,
                   f"https://library.example.org/{hub}/{i}", pg_array(tags),
                   rng.choice(SUBJECTS) if rng.random() < 0.9 else None,
                   rng.choice(GRADE_BANDS) if rng.random() < 0.9 else None,
                   pg_array(problems), visibility, rng.random() < 0.02,
                   created.isoformat(), created.isoformat())


def pg_array(values: list[str]) -> str:
    return "{" + ",".join('"' + v.replace('"', '\\"') + '"' for v in values) + "}"


COLUMNS = ("id, hub_id, kind, title, summary, link, tags, subject, grade_band, problems, "
           "visibility, retired, created_at, updated_at")


def load(entries: int, batch: int = 5000) -> tuple[float, float]:
    """COPY ``entries`` generated rows into library_view; (generation s, load s). The rows of
    each batch are generated before its COPY, which alone is timed."""
    conn = connect(URL, autocommit=False)
    generator = Library().rows(entries)
    generating = loading = 0.0
    written = 0
    try:
        while written < entries:
            started = time.perf_counter()
            buffer = io.StringIO()
            out = csv.writer(buffer)
            n = 0
            for row in generator:
                out.writerow(["" if v is None else v for v in row[:7]]
                             + [r"\N" if v is None else v for v in row[7:9]] + list(row[9:]))
                n += 1
                if n == batch:
                    break
            buffer.seek(0)
            generating += time.perf_counter() - started
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.copy_expert(f"COPY library_view ({COLUMNS}) FROM STDIN "
                                "WITH (FORMAT csv, NULL '\\N')", buffer)
            conn.commit()
            loading += time.perf_counter() - started
            written += n
        started = time.perf_counter()
        with conn.cursor() as cur:   # what the GIN pending lists still hold: indexed now
            cur.execute("SELECT gin_clean_pending_list('library_view_shared_search'), "
                        "gin_clean_pending_list('library_view_hub_search')")
        conn.commit()
        loading += time.perf_counter() - started
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE library_view")
    finally:
        conn.close()
    return generating, loading


# -- the queries ----------------------------------------------------------------------------

def queries(count: int, seed: int = 2017) -> list[tuple[str, str, dict]]:
    """(kind, hub, criteria) of a mixed list, the same for HTTP and SQL."""
    rng = random.Random(seed)
    common = WORDS[:6]
    middle = [t for t in TERMS[20:160] if " " not in t]
    rare = [t for t in TERMS[160:] if " " not in t]

    def word() -> str:
        roll = rng.random()
        return rng.choice(middle if roll < 0.4 else rare if roll < 0.7 else PLACES)

    def a_filter() -> dict:
        which = rng.choice(("kind", "subject", "grade_band", "tag"))
        if which == "kind":
            return {"kind": [rng.choice(KINDS)]}
        if which == "subject":
            return {"subject": rng.choice(SUBJECTS)}
        if which == "grade_band":
            return {"grade_band": rng.choice(GRADE_BANDS)}
        return {"tag": [rng.choices(TAGS, cum_weights=TAG_WEIGHTS)[0]]}

    makers = {
        "one_word": lambda: {"q": word()},
        "two_words": lambda: {"q": f"{word()} {rng.choice(middle)}"},
        "phrase": lambda: {"q": f'"{rng.choice(PHRASES)}"'},
        "common_word": lambda: {"q": rng.choice(common)},
        "word_filtered": lambda: {"q": word(), **a_filter()},
        "common_filtered": lambda: {"q": rng.choice(common), **a_filter()},
        "hub_only": lambda: {"q": word(), "visibility": "hub"},
        "no_words_filtered": lambda: a_filter(),
    }
    kinds = list(makers)
    found = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        found.append((kind, HUBS[rng.randrange(len(HUBS))], makers[kind]()))
    rng.shuffle(found)
    return found


def path_of(criteria: dict) -> str:
    params: list[tuple[str, str]] = []
    for name, value in criteria.items():
        for v in value if isinstance(value, list) else [value]:
            params.append((name, v))
    params.append(("limit", str(LIMIT)))
    return "/v1/resources?" + urllib.parse.urlencode(params)


def identity(hub: str) -> Identity:
    return Identity(sub=f"facilitator@{hub}", role="facilitator", hubs=(hub,))


class Http:
    def __init__(self, port: int) -> None:
        self.port = port
        self.tokens = {hub: f"Bearer {issue(f'facilitator@{hub}', 'facilitator', [hub])}"
                       for hub in HUBS}

    def client(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

        def ask(hub: str, criteria: dict) -> tuple[int, bytes]:
            conn.request("GET", path_of(criteria), headers={"Authorization": self.tokens[hub]})
            response = conn.getresponse()
            return response.status, response.read()
        return ask, conn.close


class Sql:
    """LibrarySearch.search in this process, in a transaction scoped to the caller as the
    service's Kernel.reading does; only the search is timed."""

    def client(self):
        conn = connect(URL, autocommit=False, application_name="bench-search-sql")
        cur = conn.cursor()

        def ask(hub: str, criteria: dict) -> tuple[float, dict]:
            cur.execute("SELECT set_config('consortium.hubs', %s, true)", (hub,))
            model = ResourcesReadModel(cur, identity(hub), None)   # type: ignore[arg-type]
            started = time.perf_counter()
            answer = model.search(criteria, LIMIT)
            elapsed = time.perf_counter() - started
            conn.rollback()
            return elapsed, answer
        return ask, conn.close


def run_load(make_client, plan, clients: int, seconds: float, timed_inside: bool):
    """``clients`` threads going through ``plan`` (each from its own offset) for ``seconds``;
    latencies in ms by query kind, and the number of errors."""
    results: list[list[tuple[str, float]]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(i: int, stop: threading.Event) -> None:
        ask, close = make_client()
        n = i * len(plan) // clients
        try:
            while not stop.is_set():
                kind, hub, criteria = plan[n % len(plan)]
                n += 1
                started = time.perf_counter()
                if timed_inside:
                    elapsed, _ = ask(hub, criteria)
                else:
                    status, _ = ask(hub, criteria)
                    elapsed = time.perf_counter() - started
                    if status != 200:
                        errors[i] += 1
                results[i].append((kind, elapsed * 1000))
        finally:
            close()

    for_seconds(clients, seconds, client)
    flat = [r for rs in results for r in rs]
    return flat, sum(errors)


def summary(flat: list[tuple[str, float]]) -> dict:
    values = [ms for _, ms in flat]
    by_kind: dict[str, list[float]] = {}
    for kind, ms in flat:
        by_kind.setdefault(kind, []).append(ms)
    return {"n": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99),
            "kinds": {k: percentile(v, 0.5) for k, v in by_kind.items()},
            "kinds_p99": {k: percentile(v, 0.99) for k, v in by_kind.items()}}


def check(http_api: Http, sql: Sql, plan) -> dict[str, list[int]]:
    """Each distinct query once, serially: HTTP and SQL give the same page (ids) and total.
    Returns the totals per query kind (how much each kind matches)."""
    ask_http, close_http = http_api.client()
    ask_sql, close_sql = sql.client()
    totals: dict[str, list[int]] = {}
    mismatched = 0
    try:
        for kind, hub, criteria in plan[:200]:
            status, body = ask_http(hub, criteria)
            assert status == 200, (status, body[:500])
            answer = json.loads(body)
            _, direct = ask_sql(hub, criteria)
            if ([i["id"] for i in answer["items"]] != [i["id"] for i in direct["items"]]
                    or answer["total"] != direct["total"]):
                mismatched += 1
            totals.setdefault(kind, []).append(direct["total"])
    finally:
        close_http()
        close_sql()
    if mismatched:
        print(f"  {mismatched} of 200 queries answered differently over HTTP and in SQL",
              file=sys.stderr)
    return totals


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int | None) -> float:
    """User and system CPU seconds a process has used."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="per measured phase")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    drop_database(DB)
    ensure_database(DB, ROLE, DEV_DB_PASSWORD)
    vhost = f"consortium-bench-search-{os.getpid()}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    amqp = f"pyamqp://guest:guest@localhost:5672/{vhost}"
    http_port, metrics_port = free_port(), free_port()
    nameko = str(Path(sys.executable).parent / "nameko")
    config = str(ROOT / "deploy" / "nameko.yaml")
    specs = [
        runner.ProcessSpec("bench-search-resources",
                           [nameko, "run", "--config", config,
                            "services.resources.service:Resources"],
                           f"http://127.0.0.1:{metrics_port}/healthz",
                           env={"CONSORTIUM_DB_RESOURCES_URL": URL, "CONSORTIUM_AMQP_URI": amqp,
                                "METRICS_PORT": str(metrics_port)}),
        runner.ProcessSpec("bench-search-gateway",
                           [nameko, "run", "--config", config, "gateway.service:Gateway"],
                           f"http://127.0.0.1:{http_port}/healthz",
                           env={"CONSORTIUM_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
                                "CONSORTIUM_AMQP_URI": amqp,
                                "CONSORTIUM_GATEWAY_SERVICES": "resources"}),
    ]
    try:
        with contextlib.redirect_stdout(sys.stderr):   # the JSON line ends standard output
            for spec in specs:   # the service applies its migrations as it starts
                runner.start(spec)
            if not runner.wait_healthy(specs, timeout=90):
                return 1
        print(f"  loading {args.entries:,} entries into library_view", file=sys.stderr)
        generating, loading = load(args.entries)
        index_per_s = args.entries / loading
        print(f"load: {args.entries:,} entries in {loading:.1f} s ({index_per_s:,.0f} rows/s "
              f"with the tsvector and indexes; generating them took {generating:.1f} s)")
        with connect(URL) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FILTER (WHERE visibility = 'hub'), "
                        "pg_size_pretty(pg_total_relation_size('library_view')) "
                        "FROM library_view")
            hub_only, size = cur.fetchone()
        print(f"library_view: {hub_only:,} hub-only entries, {size} with its indexes")

        plan = queries(4000)
        http_api, sql = Http(http_port), Sql()
        totals = check(http_api, sql, plan)
        print("matches per query kind (median total, capped at 1,000): " + ", ".join(
            f"{k} {percentile(v, 0.5)}" for k, v in sorted(totals.items())))
        run_load(http_api.client, plan, args.clients, 2.0, False)   # warm both paths
        run_load(sql.client, plan, args.clients, 2.0, True)
        serial_http, _ = run_load(http_api.client, plan, 1, args.seconds / 3, False)
        serial_sql, _ = run_load(sql.client, plan, 1, args.seconds / 3, True)
        pids = [runner.running_pid(spec) for spec in specs]
        cpu_before = [cpu_s(pid) for pid in pids]
        loaded_http, errors = run_load(http_api.client, plan, args.clients, args.seconds, False)
        service_cpu, gateway_cpu = (
            (cpu_s(pid) - before) * 1000 / len(loaded_http)
            for pid, before in zip(pids, cpu_before, strict=True))
        loaded_sql, _ = run_load(sql.client, plan, args.clients, args.seconds, True)
        resources_pid = runner.running_pid(specs[0])
        rss = rss_mb(resources_pid) if resources_pid else 0.0
        gateway_pid = runner.running_pid(specs[1])
        gateway_rss = rss_mb(gateway_pid) if gateway_pid else 0.0

        h, s = summary(loaded_http), summary(loaded_sql)
        sh, ss = summary(serial_http), summary(serial_sql)
        print(f"HTTP, {args.clients} clients: {h['n'] / args.seconds:6.1f} searches/s  "
              f"p50 {h['p50']:6.1f} ms  p99 {h['p99']:6.1f} ms  errors {errors}")
        print(f"SQL,  {args.clients} clients: {s['n'] / args.seconds:6.1f} searches/s  "
              f"p50 {s['p50']:6.1f} ms  p99 {s['p99']:6.1f} ms")
        print(f"one client: HTTP p50 {sh['p50']:.1f} ms, SQL p50 {ss['p50']:.1f} ms")
        print(f"{'query kind':<18} {'http p50':>9} {'http p99':>9} {'sql p50':>8} "
              f"{'sql p99':>8} {'1-client http':>14} {'1-client sql':>13}")
        for kind in sorted(h["kinds"]):
            print(f"{kind:<18} {h['kinds'][kind]:9.1f} {h['kinds_p99'][kind]:9.1f} "
                  f"{s['kinds'].get(kind, 0):8.1f} {s['kinds_p99'].get(kind, 0):8.1f} "
                  f"{sh['kinds'].get(kind, 0):14.1f} {ss['kinds'].get(kind, 0):13.1f}")
        print(f"CPU per search over HTTP: resources service {service_cpu:.1f} ms, gateway "
              f"{gateway_cpu:.1f} ms")
        print(f"resources service RSS {rss:.0f} MB, gateway RSS {gateway_rss:.0f} MB")
        print(f"targets: search_p99_ms {h['p99']:.1f} < 50: "
              f"{'met' if h['p99'] < 50 else 'MISSED'}; search_p50_ms - sql_p50_ms "
              f"{h['p50'] - s['p50']:.1f} < 10: "
              f"{'met' if h['p50'] - s['p50'] < 10 else 'MISSED'}")

        def rounded(d: dict) -> dict:
            return {k: round(v, 1) for k, v in sorted(d.items())}

        print(json.dumps({
            "entries": args.entries, "clients": args.clients,
            "search_p50_ms": round(h["p50"], 1), "search_p99_ms": round(h["p99"], 1),
            "sql_p50_ms": round(s["p50"], 1), "sql_p99_ms": round(s["p99"], 1),
            "overhead_p50_ms": round(h["p50"] - s["p50"], 1),
            "search_per_s": round(h["n"] / args.seconds, 1),
            "sql_per_s": round(s["n"] / args.seconds, 1),
            "serial_search_p50_ms": round(sh["p50"], 1),
            "serial_sql_p50_ms": round(ss["p50"], 1),
            "index_per_s": round(index_per_s), "rss_mb": round(rss, 1),
            "gateway_rss_mb": round(gateway_rss, 1), "errors": errors,
            "service_cpu_ms_per_search": round(service_cpu, 1),
            "gateway_cpu_ms_per_search": round(gateway_cpu, 1),
            "search_p50_by_kind": rounded(h["kinds"]), "sql_p50_by_kind": rounded(s["kinds"]),
        }))
    finally:
        with contextlib.redirect_stdout(sys.stderr):
            for spec in reversed(specs):
                runner.stop(spec)
        drop_database(DB)
        with contextlib.suppress(subprocess.SubprocessError):
            rabbitmqctl("delete_vhost", vhost)
    return 0


if __name__ == "__main__":
    sys.exit(main())
