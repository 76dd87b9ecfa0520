"""A Scheduled Job's ``on.schedule`` as an EventBridge schedule expression.

Copilot takes a preset (``@hourly``, ``@daily``/``@midnight``, ``@weekly``, ``@monthly``,
``@yearly``/``@annually``), ``@every <Go duration>``, a 5-field cron, or an EventBridge
``rate(...)``/``cron(...)`` as is. The conversion follows Copilot's own
(internal/pkg/deploy/cloudformation/stack/scheduled_job.go): presets become the same ``cron(...)``,
``@every`` a rate in whole minutes, and a 5-field cron gets a year field and the ``?`` EventBridge
needs in day-of-month or day-of-week.

Where Copilot's converter (``toAWSCron``) departs from standard cron, the schedule is converted as
written and :func:`copilot_difference` says what Copilot deployed instead: Copilot counts a day
field that contains ``*`` (a step such as ``*/2``) as not set, so ``0 0 */2 * *`` and
``0 9 * * */2`` ran every day under Copilot, and it adds 1 to every digit of day-of-week, a step's
too (``1-5/2`` became ``2-6/3``). Day-of-week numbers are written as day names (``1-5`` is
``MON-FRI``; standard cron's 0 and 7 are both Sunday, where Copilot's parser takes 0-6 only).
Every result is checked with the config model's own schedule type.
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from stack_config.events import SCHEDULE_ALLOWED, ScheduleExpression

from .manifests import _DURATION_RE, duration_seconds

PRESETS = {
    "@hourly": "cron(0 * * * ? *)",
    "@daily": "cron(0 0 * * ? *)",
    "@midnight": "cron(0 0 * * ? *)",
    "@weekly": "cron(0 0 ? * 1 *)",
    "@monthly": "cron(0 0 1 * ? *)",
    "@yearly": "cron(0 0 1 1 ? *)",
    "@annually": "cron(0 0 1 1 ? *)",
}
_EXPRESSION = TypeAdapter(ScheduleExpression)
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class ScheduleError(ValueError):
    """The schedule has no EventBridge equivalent; the message says why."""


def to_eventbridge(schedule: str) -> str:
    """The EventBridge expression for a Copilot schedule, or ScheduleError."""
    text = schedule.strip()
    if text in PRESETS:
        return PRESETS[text]
    if text.startswith("@every "):
        expression = _every(text.removeprefix("@every ").strip())
    elif text.startswith(("rate(", "cron(")):
        expression = text
    elif text.startswith("@"):
        raise ScheduleError(f"{text!r} is not one of Copilot's presets ({', '.join(PRESETS)}, @every <duration>)")
    elif text.upper().startswith(("CRON_TZ=", "TZ=")):
        raise ScheduleError("a time zone prefix: EventBridge rules run in UTC; convert the times to UTC")
    else:
        expression = _five_fields(text)
    try:
        return _EXPRESSION.validate_python(expression)
    except ValidationError:
        raise ScheduleError(f"{expression!r} is not {SCHEDULE_ALLOWED}") from None


def _every(duration: str) -> str:
    if not _DURATION_RE.match(duration):
        raise ScheduleError(f"@every {duration}: not a duration such as 30m or 1h30m")
    seconds = duration_seconds(duration)
    if seconds < 60 or seconds % 60:
        raise ScheduleError(f"@every {duration}: EventBridge rates are whole minutes, at least 1")
    minutes = int(seconds // 60)
    return "rate(1 minute)" if minutes == 1 else f"rate({minutes} minutes)"


def _five_fields(text: str) -> str:
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"{text!r} has {len(fields)} fields; Copilot's cron has 5 (minute hour day-of-month month day-of-week)"
        )
    minute, hour, dom, month, dow = fields
    dom_set, dow_set = dom not in ("*", "?"), dow not in ("*", "?")
    if dom_set and dow_set:
        deployed = _copilot_cron(fields)
        raise ScheduleError(
            f"{text!r} sets both day-of-month and day-of-week (standard cron runs when either matches); "
            "an EventBridge cron takes one of them"
            + (f". Copilot deployed it as {deployed}, dropping the day field with * in it" if deployed else "")
        )
    if dow_set:
        dom, dow = "?", _day_of_week(dow)
    else:
        dom, dow = ("*" if dom == "?" else dom), "?"
    return f"cron({minute} {hour} {dom} {month} {dow} *)"


def _day_of_week(field: str) -> str:
    """Standard cron's day-of-week (0-7, Sunday 0 and 7) as EventBridge's (1-7, Sunday 1)."""
    parts = []
    for part in field.split(","):
        base, slash, step = part.partition("/")
        if base == "*" or not any(c.isdigit() for c in base):
            parts.append(part.upper())  # *, */2 (the same days on both scales), names such as MON-FRI
            continue
        ends = base.split("-")
        if not all(e.isdigit() and 0 <= int(e) <= 7 for e in ends) or len(ends) > 2:
            raise ScheduleError(f"day-of-week {part!r}: standard cron's days are 0-7 or SUN-SAT")
        if len(ends) == 2 and int(ends[0]) > int(ends[1]):
            raise ScheduleError(
                f"day-of-week {part!r}: a range runs from the lower day to the higher, and Copilot refuses this one "
                f"too; list the days instead (such as {ends[0]},{ends[1]} for {_DAY_NAMES[int(ends[0]) % 7]} and "
                f"{_DAY_NAMES[int(ends[1]) % 7]})"
            )
        low = int(ends[0])
        high = int(ends[1]) if len(ends) == 2 else (6 if slash else low)
        if not slash and high < 7 and low <= high:
            parts.append(_DAY_NAMES[low] if low == high else f"{_DAY_NAMES[low]}-{_DAY_NAMES[high]}")
            continue
        # A step, or a range that ends on Sunday as 7: written out day by day, which reads the same
        # on EventBridge's scale.
        days = range(low, high + 1, int(step) if step.isdigit() and int(step) > 0 else 1)
        parts.extend(_DAY_NAMES[d % 7] for d in days)
    return ",".join(dict.fromkeys(parts))


def _copilot_set(field: str) -> bool:
    # Copilot's awsCronFieldSpecified: a field with * or ? anywhere in it counts as not set.
    return not any(c in field for c in "*?")


def _copilot_cron(fields: list[str]) -> str | None:
    """The expression Copilot's toAWSCron (internal/pkg/deploy/cloudformation/stack/scheduled_job.go)
    makes of a 5-field cron, or None where it refuses the cron (both day fields set)."""
    minute, hour, dom, month, dow = fields
    if not _copilot_set(dom) and not _copilot_set(dow):
        dom, dow = "*", "?"
    elif not _copilot_set(dom):
        dom = "?"
    elif not _copilot_set(dow):
        dow = "?"
    else:
        return None
    dow = "".join(chr(ord(c) + 1) if c.isdigit() else c for c in dow)
    return f"cron({minute} {hour} {dom} {month} {dow} *)"


def copilot_difference(schedule: str) -> str | None:
    """How Copilot deployed ``schedule`` where that differs from :func:`to_eventbridge`'s reading
    of it (a 5-field cron whose day fields Copilot read otherwise), else None."""
    fields = schedule.split()
    if len(fields) != 5 or schedule.strip().startswith(("@", "rate(", "cron(")):
        return None
    dom, dow = fields[2], fields[4]
    deployed = _copilot_cron(fields)
    if deployed is None:
        return None
    if (dom not in ("*", "?"), dow not in ("*", "?")) != (_copilot_set(dom), _copilot_set(dow)):
        dropped = " and ".join(
            f"{name} {value}" for name, value in (("day-of-month", dom), ("day-of-week", dow))
            if value not in ("*", "?") and not _copilot_set(value)
        )
        daily = " and ran every day" if not _copilot_set(dom) and not _copilot_set(dow) else ""
        return (f"Copilot deployed it as {deployed}: its converter counts a day field with * in it as not set, so it "
                f"dropped {dropped}{daily}; this runs as written. Write the schedule Copilot ran to keep its timing")
    if _copilot_set(dow) and "/" in dow:
        return (f"Copilot deployed it as {deployed}: its converter adds 1 to every digit of day-of-week, the step's "
                "too; this runs as written")
    return None
