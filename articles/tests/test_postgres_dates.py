"""The PostgreSQL backend's date buckets against Python's own calendar (no database needed):
``width_bucket(published, starts)`` is ``bisect_right(starts, published)``, and the bucket's
value must be the instant's local year, month or day in the archive's zone."""

from __future__ import annotations

import bisect
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from articles.search.backends import Filters
from articles.search.backends.postgres import dates

ZONES = ["UTC", "America/New_York", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kolkata"]
instants = st.datetimes(min_value=dt.datetime(1985, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=dt.UTC)
)


def bucket_value(buckets: dates.Buckets, moment: dt.datetime) -> int | None:
    return buckets.value(bisect.bisect_right(list(buckets.starts), moment))


@settings(max_examples=300, deadline=None)
@given(moment=instants, zone=st.sampled_from(ZONES))
def test_each_instant_falls_in_its_local_year_month_and_day(moment, zone):
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    years = dates.buckets("year", Filters(), (1984, 2031), tz)
    assert bucket_value(years, moment) == local.year
    months = dates.buckets("month", Filters(year=local.year), None, tz)
    assert bucket_value(months, moment) == local.month
    days = dates.buckets("day", Filters(year=local.year, month=local.month), None, tz)
    assert bucket_value(days, moment) == local.day


def test_instants_outside_the_run_have_no_value():
    tz = ZoneInfo("Europe/Paris")
    years = dates.buckets("year", Filters(), (2000, 2001), tz)
    assert bucket_value(years, dt.datetime(1999, 12, 31, 22, 59, tzinfo=dt.UTC)) is None
    assert bucket_value(years, dt.datetime(1999, 12, 31, 23, 0, tzinfo=dt.UTC)) == 2000
    assert bucket_value(years, dt.datetime(2001, 12, 31, 23, 0, tzinfo=dt.UTC)) is None


@pytest.mark.parametrize(
    ("name", "filters"),
    [("month", Filters()), ("day", Filters(year=2015)), ("day", Filters(month=3))],
)
def test_a_facet_without_its_span_chosen_is_computed_per_row(name, filters):
    tz = ZoneInfo("Asia/Kolkata")
    assert dates.buckets(name, filters, (2000, 2020), tz) is None
    assert "AT TIME ZONE 'Asia/Kolkata'" in dates.facet_key(name, None, tz)


def test_no_dated_articles_means_no_year_buckets():
    assert dates.buckets("year", Filters(), None, ZoneInfo("UTC")) is None


def test_a_day_that_does_not_exist_selects_nothing():
    chosen = dates.selections(Filters(year=2015, month=2, day=30), ZoneInfo("UTC"))
    assert chosen["day"] == "FALSE"
    assert "a.published >=" in chosen["month"]
