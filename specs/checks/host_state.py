"""The EC2 host's running state (--ssh-host): what the document says runs there besides the
containers. Read with the fixed read-only commands of conformance/host/state.py.

That Docker Compose runs the ten documented services with ``restart: always`` is checked where
the engine says it, through --docker-host: ``container.limits`` fails for each documented service
without a running container, ``container.restart`` for each container not restarting always
(and ``compose.restart`` in the Compose file). Asking the same engine again over SSH would add
a second check of the same value.
"""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.spec import EnvironmentSpec, HostStateSpec


def _host_state(env: EnvironmentSpec) -> HostStateSpec | None:
    return env.host_state


@check(
    "host.cloudwatch_agent",
    title="The CloudWatch agent runs on the EC2 host",
    area=_host_state,
    severity="high",
    remediation="Install and start the agent: `sudo systemctl enable --now "
    "amazon-cloudwatch-agent` (amazon-cloudwatch-agent-ctl -a fetch-config -s with its config). "
    "Without it the memory and disk alarms have no data.",
)
def cloudwatch_agent(ctx: CheckContext, spec: HostStateSpec) -> None:
    name = spec.cloudwatch_agent.value
    found = ctx.run.host.agent_processes(name)
    ctx.expect(
        spec.cloudwatch_agent.derive("running"),
        f"running: {found[0]}" if found else "not running",
        subject=f"a process of {name}",
        ok=bool(found),
    )


@check(
    "host.certbot_renewal",
    title="certbot renew is scheduled twice a day with the `docker compose restart nginx` "
    "deploy hook",
    area=_host_state,
    severity="high",
    remediation='Schedule `0 0,12 * * * certbot renew --quiet --deploy-hook "docker compose '
    "restart nginx\"` (a cron line, or certbot's systemd timer with the hook saved by certbot).",
)
def certbot_renewal(ctx: CheckContext, spec: HostStateSpec) -> None:
    renew = spec.renewal_command.value
    schedules, hooks = ctx.run.host.renewal_schedules(renew)
    runs = max((s.runs_per_day for s in schedules), default=0)
    ctx.expect(
        spec.renewal_runs_per_day,
        "; ".join(map(str, schedules)) or "no cron line or certbot timer runs it",
        subject=f"`{renew}` scheduled (times a day: {runs})",
        ok=runs >= spec.renewal_runs_per_day.value,
        expected=f"at least {spec.renewal_runs_per_day.value} times a day",
    )
    hook = spec.renewal_deploy_hook.value
    carriers = [str(s) for s in schedules if hook in s.command] + [h for h in hooks if hook in h]
    ctx.expect(
        spec.renewal_deploy_hook,
        carriers[0]
        if carriers
        else f"absent (scheduled: {len(schedules)}, saved hooks: {'; '.join(hooks) or 'none'})",
        subject=f"deploy hook of `{renew}`",
        ok=bool(carriers) and bool(schedules),
    )
