"""Demo consortium for `make up`: the El Dorado network (13 real members) and a smaller second
county, with people and roles. Idempotent: every command carries an idempotency key, so a
second run changes nothing. Prints tokens for trying the API."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from eventstore.config import amqp_uri
from eventstore.identity import Identity
from gateway.auth import issue

DATA = Path(__file__).resolve().parent / "data" / "el-dorado-members.csv"
ADMIN = Identity(sub="demo-loader", role="admin", hubs=("*",))
GROUPS = ("central_office", "principals", "teachers", "support_staff")
SECOND_HUB = [("Alpine Unified", "district", "K-12", 89), ("Bear Valley Elementary",
              "district", "K-8", 46), ("Markleeville Charter", "charter", "K-8", 23)]


def load(rpc) -> dict[str, str]:
    m = rpc.membership
    m.register_hub({"id": "el-dorado", "name": "El Dorado County Office of Education",
                    "state": "CA", "county_code": "09",
                    "facilitator_org": "Rural Schools Improvement Partners"}, key="hub-el-dorado")
    m.hand_over_facilitation("el-dorado", {"stage": "co_facilitation"}, key="handover-1")
    m.register_hub({"id": "alpine", "name": "Alpine County Office of Education", "state": "CA",
                    "county_code": "02", "facilitator_org": "Rural Schools Improvement Partners"},
                   key="hub-alpine")
    with open(DATA) as f:
        rows = [(r["name"], r["kind"], r["grade_span"], int(r["enrollment"]))
                for r in csv.DictReader(f)]
    first_member = ""
    for hub, members in (("el-dorado", rows), ("alpine", SECOND_HUB)):
        for n, (name, kind, span, enrollment) in enumerate(members):
            member_id = f"{hub}-{n + 1:02d}"
            first_member = first_member or member_id
            m.enroll_member(hub, {"id": member_id, "name": name, "kind": kind,
                                  "grade_span": span, "enrollment": enrollment},
                            key=f"enroll-{member_id}")
            roles = [("sponsor", None), ("driver", None)]
            if enrollment >= 100:   # the smallest districts cannot staff every group
                roles += [("design_team", g) for g in GROUPS]
            for role, group in roles:
                person_id = f"{member_id}-{group or role}".replace("_", "-")
                m.add_person(hub, {"id": person_id,
                                   "name": f"{(group or role).replace('_', ' ').title()} "
                                           f"of {name}",
                                   "email": f"{person_id}@example.org"},
                             key=f"person-{person_id}")
                m.assign_role(member_id, {"person_id": person_id, "role": role,
                                          "represents": group}, key=f"role-{person_id}")
            if n % 3 != 2:
                m.complete_onboarding(member_id, key=f"onboard-{member_id}")
    return {"first_member": first_member}


def main() -> int:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri()}, timeout=30,
                         context_data={"identity": ADMIN.to_header()}) as rpc:
        facts = load(rpc)
    tokens = {
        "admin": issue("demo-admin", "admin", ["*"]),
        "facilitator (El Dorado)": issue("demo-facilitator-eldorado", "facilitator",
                                         ["el-dorado"]),
        "facilitator (Alpine)": issue("demo-facilitator-alpine", "facilitator", ["alpine"]),
        f"member ({facts['first_member']})": issue("demo-member", "member", ["el-dorado"],
                                                   member=facts["first_member"]),
        "agency (CA)": issue("demo-agency", "agency", [], state="CA"),
        "operator": issue("demo-operator", "operator", []),
    }
    print("demo consortium loaded: hubs el-dorado (13 members) and alpine (3 members)")
    print("tokens (valid 30 days; use as Authorization: Bearer <token>):")
    for who, value in tokens.items():
        print(f"  {who:28} {value}")
    print("try: curl -H 'Authorization: Bearer <facilitator token>' "
          "http://127.0.0.1:8000/v1/hubs/el-dorado/members")
    return 0


if __name__ == "__main__":
    sys.exit(main())
