"""Print a bearer token:

    python -m gateway.tokens --sub ana.lopez --role facilitator --hubs el-dorado

The subject is required: Idempotency-Keys belong to it, and every event the token causes
records it as the actor, so two people must never share one. Signed with
CONSORTIUM_JWT_SECRET (on a developer's machine in development mode, the one `make up`
generated); a token lives at most MAX_TOKEN_DAYS days."""

import argparse

from eventstore import config

from .auth import JWT_SECRET, MAX_TOKEN_DAYS, ROLES, issue


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.tokens")
    parser.add_argument("--sub", required=True,
                        help="who the token speaks for (a person's or a system's own id)")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--hubs", default="", help="comma-separated hub ids, * for all")
    parser.add_argument("--member")
    parser.add_argument("--state")
    parser.add_argument("--days", type=int, default=7,
                        help=f"how long it is good for, 1 to {MAX_TOKEN_DAYS} (default 7)")
    args = parser.parse_args()
    reason = config.check_secret(JWT_SECRET)
    if reason:
        parser.error(reason)
    if not 1 <= args.days <= MAX_TOKEN_DAYS:
        parser.error(f"--days must be 1 to {MAX_TOKEN_DAYS}")
    hubs = [h for h in args.hubs.split(",") if h]
    try:
        print(issue(args.sub, args.role, hubs, args.member, args.state, args.days * 86400))
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
