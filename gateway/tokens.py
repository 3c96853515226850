"""Print a bearer token: python -m gateway.tokens --role facilitator --hubs el-dorado"""

import argparse

from .auth import issue


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.tokens")
    parser.add_argument("--sub", default="operator-cli")
    parser.add_argument("--role", required=True)
    parser.add_argument("--hubs", default="", help="comma-separated hub ids, * for all")
    parser.add_argument("--member")
    parser.add_argument("--state")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    hubs = [h for h in args.hubs.split(",") if h]
    print(issue(args.sub, args.role, hubs, args.member, args.state, args.days * 86400))


if __name__ == "__main__":
    main()
