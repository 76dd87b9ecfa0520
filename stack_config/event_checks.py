"""Cross-checks of the task launcher and replication sections against the services, the
pipeline and the regions."""

from __future__ import annotations

from .model import StackConfig
from .problems import Problem, entries


def event_problems(cfg: StackConfig) -> list[Problem]:
    return _launcher_problems(cfg) + _replication_problems(cfg)


def _launcher_problems(cfg: StackConfig) -> list[Problem]:
    tl = cfg.task_launcher
    on_demand = [s.name for s in cfg.on_demand_services]
    problems: list[Problem] = []
    if tl.enabled and not on_demand:
        problems.append(
            Problem("taskLauncher.enabled", "false, or a service with mode on-demand for it to start", True)
        )
    if tl.schedules and not cfg.has_task_launcher:
        problems.append(
            Problem("taskLauncher.schedules", "no schedules while the task launcher is off", [s.name for s in tl.schedules])
        )
        return problems
    seen: dict[str, int] = {}
    for i, (where, sched) in enumerate(entries("taskLauncher.schedules", tl.schedules)):
        if sched.name in seen:
            problems.append(
                Problem(
                    f"{where}.name",
                    f"a name not used by another schedule ({sched.name} is taskLauncher.schedules[{seen[sched.name]}])",
                    sched.name,
                )
            )
        seen.setdefault(sched.name, i)
        if sched.service not in on_demand:
            allowed = ", ".join(on_demand) or "none: no service has mode on-demand"
            problems.append(Problem(f"{where}.service", f"a service with mode on-demand ({allowed})", sched.service))
        if sched.count > tl.max_count:
            problems.append(Problem(f"{where}.count", f"at most taskLauncher.maxCount ({tl.max_count})", sched.count))
        if sched.action == "stop" and "count" in sched.model_fields_set:
            problems.append(Problem(f"{where}.count", "no count on a stop schedule (it stops every launched task)", sched.count))
    return problems


def _replication_problems(cfg: StackConfig) -> list[Problem]:
    if cfg.replication.enabled is False:
        return []
    why = None
    if not cfg.has_pipeline:
        why = "false: there is no pipeline, so no repositories to replicate"
    elif cfg.pipeline.source.type != "codecommit":
        why = "false: the pipeline's source is a connection, which every region reads directly"
    elif len(cfg.regions) < 2:
        why = "false: there is no secondary region to replicate to"
    if why:
        # On by default only where it has work, so only an explicit true can be wrong here.
        return [Problem("replication.enabled", why, True)] if cfg.replication.enabled else []
    # The replicator writes to the secondaries with its own role, in the primary's account. A
    # region without assumeRoleArn acts in the credentials' account, known only through a single
    # allowedAccountIds entry. This applies when replication is on by default, too.
    accounts = {r.assume_role_arn.split(":")[4] for r in cfg.regions if r.assume_role_arn}
    if any(r.assume_role_arn is None for r in cfg.regions):
        if len(cfg.allowed_account_ids) == 1:
            accounts.add(cfg.allowed_account_ids[0])
        elif accounts:
            return [
                Problem(
                    "replication.enabled",
                    "false, unless every region is known to be in one account: give every region an "
                    "assumeRoleArn in that account, or set allowedAccountIds to that one account",
                    True,
                )
            ]
    if len(accounts) > 1:
        return [
            Problem(
                "replication.enabled",
                "false when regions deploy into different accounts (regions[*].assumeRoleArn): the "
                "replicator writes to the secondary repositories from the primary's account",
                True,
            )
        ]
    return []
