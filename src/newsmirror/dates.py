"""Parse the date strings feeds actually carry into aware UTC datetimes.

Handled, fastest first: ISO 8601 / RFC 3339 (``T`` or space, any fraction length, ``Z``,
``+08:00``/``+0800``, a space before the zone); RFC 822/2822 with or without a day name,
with misspelled day names (``Wes, 24 Jun 2015``), 2-digit years, full month names and
named zones; the Java ``Date.toString`` form ``Sun Jul 21 13:13:03 CST 2024``; Chinese
forms (``2024年7月21日 13:13``, ``下午1:13``); epoch seconds or milliseconds; and, as a
last resort, python-dateutil for the odd remainder (only when year, month and day are all
present in the text: nothing is filled in from today's date).

Time zones: a string without a zone is read in ``default_tz`` (UTC unless told). Named
zones use the table below. **"CST" rule:** it means China Standard Time (UTC+8) by default,
because this tool's sources are Chinese-language sites and Chinese servers emit "CST" (Java,
PHP, IIS) far more often than US feeds do; pass ``cst="us"`` for US Central (UTC-6).

``None`` means "no date in this text"; the function never raises.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Literal

Cst = Literal["china", "us"]

_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

_ZONE_HOURS: dict[str, float] = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0,
    "est": -5, "edt": -4, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    "akst": -9, "akdt": -8, "hst": -10, "ast": -4, "adt": -3,
    "bst": 1, "cet": 1, "cest": 2, "met": 1, "mest": 2, "eet": 2, "eest": 3, "msk": 3,
    "ist": 5.5, "ict": 7, "wib": 7,
    "hkt": 8, "bjt": 8, "cct": 8, "sgt": 8, "myt": 8, "pht": 8, "awst": 8, "twt": 8,
    "jst": 9, "kst": 9, "aest": 10, "aedt": 11, "nzst": 12, "nzdt": 13,
}  # fmt: skip
_CST = {"china": 8.0, "us": -6.0}

_OFFSET = r"[+-]\d{2}(?::?\d{2})?"
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    rf"\s*(Z|z|{_OFFSET}|[A-Za-z]{{2,5}})?"
)
_RFC822 = re.compile(
    r"(?:[A-Za-z]+\.?,?\s*)?"  # day name: any word, even a misspelled one
    r"(\d{1,2})[\s-]+([A-Za-z]+)\.?,?[\s-]+(\d{2}|\d{4}),?"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
    rf"\s*({_OFFSET}|[A-Za-z]{{1,5}})?(?:\s*\(.*\))?"
)
_JAVA = re.compile(
    r"[A-Za-z]+\s+([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    rf"\s+({_OFFSET}|[A-Za-z]{{1,5}})?\s*(\d{{4}})"
)
_CHINESE = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*[日号]?"
    r"\s*(上午|下午|晚上|凌晨|中午)?\s*(?:(\d{1,2})\s*[:时點点]\s*(\d{1,2})\s*分?"
    r"(?:\s*[:]\s*(\d{1,2})\s*秒?)?)?"
    rf"\s*({_OFFSET}|Z|UTC|GMT|CST)?"
)
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?")


def _offset(zone: str | None, default_tz: tzinfo, cst: Cst) -> tzinfo:
    if not zone:
        return default_tz
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        hours = int(digits[:2])
        minutes = int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return default_tz
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if zone[0] == "-" else delta)
    name = zone.lower()
    hours = _CST[cst] if name == "cst" else _ZONE_HOURS.get(name)
    if hours is None:
        return default_tz  # unknown zone name: treat as unstated
    return timezone(timedelta(hours=hours))


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # RFC 2822 §4.3: 00-49 → 20xx, 50-99 → 19xx
        year += 2000 if year < 50 else 1900
    return year


def _build(
    y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0, tz: tzinfo = UTC
) -> datetime | None:
    if s == 60:  # leap second: keep the instant valid
        s = 59
    try:
        return datetime(y, mo, d, h, mi, s, us, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _iso(v: str, default_tz: tzinfo, cst: Cst) -> datetime | None:
    m = _ISO.fullmatch(v)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    us = int((frac or "0")[:6].ljust(6, "0"))
    return _build(
        int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), us,
        _offset(zone, default_tz, cst),
    )  # fmt: skip


def _rfc822(v: str, default_tz: tzinfo, cst: Cst) -> datetime | None:
    m = _RFC822.fullmatch(v)
    if not m:
        return None
    d, mon, y, h, mi, s, zone = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    tz = _offset(zone, default_tz, cst)
    if zone == "-0000":  # RFC 2822: UTC, with the sender's local zone unknown
        tz = UTC
    return _build(_year(y), month, int(d), int(h or 0), int(mi or 0), int(s or 0), 0, tz)


def _java(v: str, default_tz: tzinfo, cst: Cst) -> datetime | None:
    m = _JAVA.fullmatch(v)
    if not m:
        return None
    mon, d, h, mi, s, zone, y = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    tz = _offset(zone, default_tz, cst)
    return _build(int(y), month, int(d), int(h), int(mi), int(s or 0), 0, tz)


def _chinese(v: str, default_tz: tzinfo, cst: Cst) -> datetime | None:
    m = _CHINESE.fullmatch(v)
    if not m:
        return None
    y, mo, d, half, h, mi, s, zone = m.groups()
    hour = int(h or 0)
    if (half in {"下午", "晚上"} and hour < 12) or (half == "中午" and hour < 11):
        hour += 12
    elif half in {"上午", "凌晨"} and hour == 12:
        hour = 0
    tz = _offset(zone, default_tz, cst)
    return _build(int(y), int(mo), int(d), hour, int(mi or 0), int(s or 0), 0, tz)


def _epoch(v: str) -> datetime | None:
    if not _EPOCH.fullmatch(v):
        return None
    number = float(v)
    if len(v.split(".")[0]) >= 12:
        number /= 1000.0  # milliseconds
    if not 1e8 <= number <= 1e10:  # 1973 … 2286: anything else is not a timestamp
        return None
    return datetime.fromtimestamp(number, UTC)


def _dateutil(v: str, default_tz: tzinfo, cst: Cst) -> datetime | None:
    """Last resort; refuses text that lacks a year, month or day (no filling from today)."""
    if not re.search(r"\d{4}", v) or len(v) > 80:
        return None
    from dateutil import parser as du  # imported lazily: rarely needed

    zones = {k.upper(): int(h * 3600) for k, h in _ZONE_HOURS.items()}
    zones["CST"] = int(_CST[cst] * 3600)
    try:
        with warnings.catch_warnings():  # unknown zone names warn; they read as default_tz
            warnings.simplefilter("ignore")
            a = du.parse(v, default=datetime(2000, 1, 1), tzinfos=zones)
            b = du.parse(v, default=datetime(2001, 2, 2), tzinfos=zones)
    except Exception:  # a heuristic last resort: whatever it raises means "no date"
        return None
    if a.date() != b.date():
        return None  # some date field was filled from the default, not from the text
    if a.tzinfo is None:
        a = a.replace(tzinfo=default_tz)
    try:
        return a.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_date(value: str, *, default_tz: tzinfo = UTC, cst: Cst = "china") -> datetime | None:
    """Parse one date string to an aware UTC datetime, or ``None`` when it holds no date.

    ``default_tz`` is the zone for strings that state none; ``cst`` resolves the ambiguous
    "CST" abbreviation ("china" = UTC+8, the default; "us" = UTC-6).
    """
    if not value:
        return None
    v = unicodedata.normalize("NFKC", value).strip()  # full-width digits and colons
    v = " ".join(v.split())
    if not v or len(v) > 200:
        return None
    first = v[0]
    if first.isdigit():
        for parse in (_iso, _chinese, _rfc822):
            result = parse(v, default_tz, cst)
            if result is not None:
                return result
        result = _epoch(v)
        if result is not None:
            return result
    else:
        for parse in (_rfc822, _java):
            result = parse(v, default_tz, cst)
            if result is not None:
                return result
    return _dateutil(v, default_tz, cst)
