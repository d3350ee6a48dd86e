"""``python -m conformance COMMAND``: the commands that are not the pytest suite itself.

python -m conformance policy [--check] [--policy FILE]   write or verify the IAM policy
python -m conformance summary EVIDENCE_JSON              Markdown summary for a CI job
python -m conformance diff OLD NEW                       compare two evidence files
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from conformance.errors import ConformanceError, ExitCode


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["diff"]:  # diff parses its own arguments
        from conformance.reports import diff

        return diff.main(args[1:])
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    policy = commands.add_parser("policy", help="write (or --check) the least-privilege policy")
    policy.add_argument("--check", action="store_true", help="fail if the kept policy is stale")
    policy.add_argument("--policy", type=Path, help="policy file (default: the repository's)")
    summary = commands.add_parser("summary", help="Markdown summary of an evidence.json")
    summary.add_argument("evidence", type=Path)
    commands.add_parser("diff", help="compare two evidence files (OLD NEW)")
    options = parser.parse_args(args)
    try:
        if options.command == "policy":
            return _policy(options.policy, options.check)
        return _summary(options.evidence)
    except ConformanceError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return int(exc.exit_code)


def _policy(path: Path | None, check: bool) -> int:
    from conformance import policy

    path = path or policy.POLICY_PATH
    needed = policy.required_actions()
    if check:
        if not path.exists():
            print(f"{path} does not exist; generate it with: python -m conformance policy")
            return int(ExitCode.DRIFT)
        staleness = policy.compare(needed, path.read_text())
        if staleness.stale:
            print(staleness.describe(path))
            return int(ExitCode.DRIFT)
        print(f"{path} is current: {len(needed)} actions")
        return int(ExitCode.CONFORMANT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(policy.render(policy.document(set(needed))))
    print(f"wrote {path}: {len(needed)} actions")
    return int(ExitCode.CONFORMANT)


def _summary(path: Path) -> int:
    from conformance.summary import markdown

    try:
        evidence = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        print(f"conformance: cannot read evidence {path}: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    print(markdown(evidence))
    return int(ExitCode.CONFORMANT)


if __name__ == "__main__":
    sys.exit(main())
