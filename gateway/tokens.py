"""Print a bearer token: python -m gateway.tokens --role facilitator --hubs el-dorado"""

import argparse

from .auth import ROLES, issue


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.tokens")
    parser.add_argument("--role", required=True, choices=ROLES)
    # Idempotency-Keys belong to the subject: tokens of different people need different ones.
    parser.add_argument("--sub", help="who the token speaks for (default: <role>-cli)")
    parser.add_argument("--hubs", default="", help="comma-separated hub ids, * for all")
    parser.add_argument("--member")
    parser.add_argument("--state")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    hubs = [h for h in args.hubs.split(",") if h]
    try:
        print(issue(args.sub or f"{args.role}-cli", args.role, hubs, args.member, args.state,
                    args.days * 86400))
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
