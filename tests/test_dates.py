"""parse_date: every date format seen in feeds → aware UTC datetime, or None for no date."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror.dates import parse_date

CST8 = timezone(timedelta(hours=8))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


TABLE = [
    # RFC 822 / 2822
    ("Sun, 04 Jan 2015 14:39:00 +0800", utc(2015, 1, 4, 6, 39)),
    ("Wes, 24 Jun 2015 14:39:00 +0800", utc(2015, 6, 24, 6, 39)),  # misspelled day (dapenti)
    ("Fri, 24 Jun 2015 14:39:00 +0800", utc(2015, 6, 24, 6, 39)),  # wrong day name
    ("24 Jun 2015 14:39:00 +0800", utc(2015, 6, 24, 6, 39)),  # no day name
    ("Wed 24 Jun 2015 14:39:00 EDT", utc(2015, 6, 24, 18, 39)),  # no comma
    ("Wed, 24 Jun 15 14:39 GMT", utc(2015, 6, 24, 14, 39)),  # 2-digit year, no seconds
    ("Thu, 01 Jan 98 00:00:00 GMT", utc(1998, 1, 1)),  # 2-digit year in the 1900s
    ("Wed, 24 June 2015 14:39:00 +08:00", utc(2015, 6, 24, 6, 39)),  # full month, colon zone
    ("Mon, 16 Mar 2015 04:34:49 +0000", utc(2015, 3, 16, 4, 34, 49)),
    ("Mon, 16 Mar 2015 04:34:49 -0000", utc(2015, 3, 16, 4, 34, 49)),
    ("Mon, 16 Mar 2015 04:34:49 UT", utc(2015, 3, 16, 4, 34, 49)),
    ("Mon, 16 Mar 2015 04:34:49 Z", utc(2015, 3, 16, 4, 34, 49)),
    ("Mon, 16 Mar 2015 04:34:49 EST", utc(2015, 3, 16, 9, 34, 49)),
    ("Mon, 16 Mar 2015 04:34:49 PST", utc(2015, 3, 16, 12, 34, 49)),
    ("Mon, 16 Mar 2015 04:34:49 PDT", utc(2015, 3, 16, 11, 34, 49)),
    ("Mon, 16 Mar 2015 04:34:49 CST", utc(2015, 3, 15, 20, 34, 49)),  # China by default
    ("Mon, 16 Mar 2015 04:34:49 HKT", utc(2015, 3, 15, 20, 34, 49)),
    ("Mon, 16 Mar 2015 04:34:49 -0500", utc(2015, 3, 16, 9, 34, 49)),
    ("Tue, 21 Jul 2024 13:13:03 GMT (Coordinated Universal Time)", utc(2024, 7, 21, 13, 13, 3)),
    ("Wed, 24 Jun 2015", utc(2015, 6, 24)),
    ("21 July 2024", utc(2024, 7, 21)),
    # Java Date.toString
    ("Sun Jul 21 13:13:03 CST 2024", utc(2024, 7, 21, 5, 13, 3)),
    # ISO 8601 / RFC 3339
    ("2015-03-16T08:38:27Z", utc(2015, 3, 16, 8, 38, 27)),
    ("2015-03-16T08:06:45+00:00", utc(2015, 3, 16, 8, 6, 45)),
    ("2015-03-10T15:50:00.001+08:00", datetime(2015, 3, 10, 7, 50, 0, 1000, tzinfo=UTC)),
    ("2024-07-21T13:13:03.123+0800", datetime(2024, 7, 21, 5, 13, 3, 123000, tzinfo=UTC)),
    ("2024-07-21 13:13:03.000000000 +08:00", utc(2024, 7, 21, 5, 13, 3)),  # ns, space
    ("2024-07-21 13:13:03", utc(2024, 7, 21, 13, 13, 3)),  # no zone → default UTC
    ("2024-07-21T13:13", utc(2024, 7, 21, 13, 13)),
    ("2024-07-21", utc(2024, 7, 21)),
    ("2024-07-21t13:13:03z", utc(2024, 7, 21, 13, 13, 3)),
    ("  2024-07-21T13:13:03Z\n", utc(2024, 7, 21, 13, 13, 3)),
    ("2024-07-21 13:13 CST", utc(2024, 7, 21, 5, 13)),
    # Chinese forms
    ("2024年7月21日 13:13", utc(2024, 7, 21, 13, 13)),
    ("2024年07月21日13:13:03", utc(2024, 7, 21, 13, 13, 3)),
    ("2024年7月21日", utc(2024, 7, 21)),
    ("2024年7月21日 下午1:13", utc(2024, 7, 21, 13, 13)),
    ("2024年7月21日 上午12:05", utc(2024, 7, 21, 0, 5)),
    ("２０２４年７月２１日 １３：１３", utc(2024, 7, 21, 13, 13)),  # full-width
    ("2024/07/21 13:13", utc(2024, 7, 21, 13, 13)),
    ("2024.7.21 13:13", utc(2024, 7, 21, 13, 13)),
    ("2024年7月21日 13时13分", utc(2024, 7, 21, 13, 13)),
    # epoch seconds / milliseconds
    ("1721538783", utc(2024, 7, 21, 5, 13, 3)),
    ("1721538783000", utc(2024, 7, 21, 5, 13, 3)),
    ("1721538783.5", datetime(2024, 7, 21, 5, 13, 3, 500000, tzinfo=UTC)),
    # dateutil fallback
    ("July 21, 2024 1:13 PM", utc(2024, 7, 21, 13, 13)),
    ("July 21, 2024 1:13 PM EDT", utc(2024, 7, 21, 17, 13)),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t for t, _ in TABLE])
def test_date_table(text: str, expected: datetime) -> None:
    got = parse_date(text)
    assert got == expected
    assert got is not None and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "garbage", "1", "12", "2024", "July", "Wed, 24 Jun", "2024-02-30", "2024-13-01",
     "Mon, 32 Mar 2015 04:34:49 +0000", "Mon, 16 Foo 2015 04:34:49 +0000", "99999999999999",
     "tomorrow", "2024年13月1日", "x" * 500],
)  # fmt: skip
def test_no_date(text: str) -> None:
    assert parse_date(text) is None


def test_default_tz_applies_only_without_zone() -> None:
    assert parse_date("2024-07-21 13:13", default_tz=CST8) == utc(2024, 7, 21, 5, 13)
    assert parse_date("2024年7月21日 13:13", default_tz=CST8) == utc(2024, 7, 21, 5, 13)
    assert parse_date("Sun, 21 Jul 2024 13:13:03", default_tz=CST8) == utc(2024, 7, 21, 5, 13, 3)
    # an explicit zone wins over the default
    assert parse_date("2024-07-21T13:13:00Z", default_tz=CST8) == utc(2024, 7, 21, 13, 13)
    assert parse_date("Sun, 21 Jul 2024 13:13:03 GMT", default_tz=CST8) == utc(
        2024, 7, 21, 13, 13, 3
    )


def test_cst_rule() -> None:
    text = "Sun, 21 Jul 2024 13:13:03 CST"
    assert parse_date(text) == utc(2024, 7, 21, 5, 13, 3)  # China Standard Time, UTC+8
    assert parse_date(text, cst="us") == utc(2024, 7, 21, 19, 13, 3)  # US Central, UTC-6
    assert parse_date("Sun Jul 21 13:13:03 CST 2024", cst="us") == utc(2024, 7, 21, 19, 13, 3)


def test_unknown_zone_name_reads_as_default() -> None:
    assert parse_date("Sun, 21 Jul 2024 13:13:03 XYZ", default_tz=CST8) == utc(
        2024, 7, 21, 5, 13, 3
    )


def test_dateutil_fallback_is_quiet_and_zone_aware() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_date("July 21, 2024 1:13 PM XYZ", default_tz=CST8) == utc(2024, 7, 21, 5, 13)
        assert parse_date("Sunday, July 21, 2024") == utc(2024, 7, 21)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_never_raises(text: str) -> None:
    got = parse_date(text)
    assert got is None or got.tzinfo is UTC


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_round_trips_iso_and_rfc822(dt: datetime) -> None:
    aware = dt.replace(microsecond=0, tzinfo=UTC)
    assert parse_date(aware.isoformat()) == aware
    assert parse_date(aware.strftime("%a, %d %b %Y %H:%M:%S +0000")) == aware
    assert parse_date(aware.astimezone(CST8).isoformat()) == aware
