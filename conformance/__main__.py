"""``python -m conformance COMMAND`` (or ``atlas-conformance COMMAND``): the commands that are
not the pytest suite itself.

python -m conformance policy [--check] [--policy FILE]   write or verify the IAM policy
python -m conformance summary [--check] EVIDENCE         Markdown summary for a CI job (an
                                                         evidence.json or its directory); with
                                                         --check, exit as the run did: 0
                                                         conformant, 1 not, 2 interrupted
python -m conformance diff OLD NEW                       compare two evidence files
"""

from __future__ import annotations

import argparse
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
    summary.add_argument(
        "--check",
        action="store_true",
        help="exit as the run did: 0 conformant, 1 not conformant, 2 interrupted",
    )
    summary.add_argument("evidence", type=Path, help="an evidence.json or its directory")
    commands.add_parser("diff", help="compare two evidence files (OLD NEW)")
    options = parser.parse_args(args)
    try:
        if options.command == "policy":
            return _policy(options.policy, options.check)
        return _summary(options.evidence, options.check)
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


def _summary(path: Path, check: bool) -> int:
    """Print the summary; exit 0 (it was printed), or with ``--check`` as the run did."""
    from conformance.console import emit
    from conformance.evidence import load
    from conformance.summary import exit_code, markdown

    evidence = load(path)
    emit(markdown(evidence) + "\n")
    return exit_code(evidence) if check else int(ExitCode.CONFORMANT)


if __name__ == "__main__":
    sys.exit(main())
