"""Clinic facts from the settings file: placeholders in answers and derived facts."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+)\}")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


def lookup(settings: Mapping[str, Any], dotted: str) -> Any:
    """Value at a dotted path such as ``clinic.phone``; KeyError when there is none."""
    value: Any = settings
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def fill_placeholders(text: str, settings: Mapping[str, Any]) -> tuple[str, list[str]]:
    """Replace ``{section.key}`` with HTML-escaped settings; also return unknown names."""
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        try:
            value = lookup(settings, match.group(1))
        except KeyError:
            unknown.append(match.group(1))
            return match.group(0)
        if isinstance(value, Mapping | list):
            unknown.append(f"{match.group(1)} (not a single value)")
            return match.group(0)
        return html.escape(str(value), quote=False)

    return PLACEHOLDER.sub(replace, text), unknown


def opening_hours_problems(hours: Any) -> list[str]:
    """Why an ``opening_hours`` mapping is unusable; empty when it is fine."""
    if not isinstance(hours, Mapping):
        return ["clinic.opening_hours must map weekdays to 'HH:MM-HH:MM' or 'closed'"]
    problems = [f"unknown weekday {day!r}" for day in hours if day not in WEEKDAYS]
    for day in WEEKDAYS:
        value = str(hours.get(day, "closed")).strip().lower()
        if value != "closed" and not _HOURS.match(value):
            problems.append(
                f"clinic.opening_hours.{day}: {value!r} is not 'HH:MM-HH:MM' or 'closed'"
            )
    return problems


def describe_opening_hours(hours: Mapping[str, str]) -> str:
    """Human summary such as 'Tue-Fri 09:00-18:00, Sat 10:00-15:00; closed Sun, Mon'."""
    runs: list[tuple[list[str], str]] = []
    for day in WEEKDAYS:
        value = str(hours.get(day, "closed")).strip().lower()
        if runs and runs[-1][1] == value:
            runs[-1][0].append(day)
        else:
            runs.append(([day], value))
    open_parts = []
    closed_days = []
    for days, value in runs:
        label = _day_label(days[0]) + (f"-{_day_label(days[-1])}" if len(days) > 1 else "")
        if value == "closed":
            closed_days.append(label)
        else:
            open_parts.append(f"{label} {value}")
    summary = ", ".join(open_parts) or "by appointment only"
    return summary + (f"; closed {', '.join(closed_days)}" if closed_days else "")


def _day_label(day: str) -> str:
    return day[:3].capitalize()


def derive_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Settings plus facts computed from them, so no fact is written twice."""
    settings = {
        key: dict(value) if isinstance(value, Mapping) else value for key, value in raw.items()
    }
    clinic = settings.get("clinic")
    if isinstance(clinic, dict) and "hours" not in clinic:
        hours = clinic.get("opening_hours")
        if isinstance(hours, Mapping) and not opening_hours_problems(hours):
            clinic["hours"] = describe_opening_hours(hours)
    return settings


def clinic_zone(settings: Mapping[str, Any]) -> ZoneInfo:
    """The clinic's time zone (clinic.timezone), UTC when unset or unknown."""
    name = str((settings.get("clinic") or {}).get("timezone") or "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _open_spans(hours: Mapping[str, str], day: date) -> tuple[time, time] | None:
    value = str(hours.get(WEEKDAYS[day.weekday()], "closed")).strip().lower()
    if value == "closed" or not _HOURS.match(value):
        return None
    start, end = value.split("-")
    end_time = time(23, 59) if end == "24:00" else time.fromisoformat(end)
    return time.fromisoformat(start), end_time


def next_opening(settings: Mapping[str, Any], now: datetime) -> datetime | None:
    """None while the clinic is open; else when it next opens (clinic time). Needs opening_hours."""
    hours = (settings.get("clinic") or {}).get("opening_hours")
    if not isinstance(hours, Mapping) or opening_hours_problems(hours):
        return None  # unknown hours: never claim to be closed
    zone = clinic_zone(settings)
    local = now.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        span = _open_spans(hours, day)
        if span is None:
            continue
        opens = datetime.combine(day, span[0], zone)
        closes = datetime.combine(day, span[1], zone)
        if offset == 0 and opens <= local < closes:
            return None
        if local < opens:
            return opens
    return None


def describe_moment(moment: datetime, now: datetime) -> str:
    """'today at 09:00', 'tomorrow at 09:00' or 'Monday at 09:00'."""
    days = (moment.date() - now.astimezone(moment.tzinfo).date()).days
    day = "today" if days == 0 else "tomorrow" if days == 1 else moment.strftime("%A")
    return f"{day} at {moment:%H:%M}"
