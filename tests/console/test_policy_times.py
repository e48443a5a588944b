"""The policy pages read a form's date and time in the reader's zone (sent by the page's script;
without it, UTC)."""

from datetime import UTC, datetime

import pytest

from api.console.times import local_time
from api.errors import Invalid


def test_a_local_time_is_read_in_the_readers_zone():
    assert local_time("2026-07-14T06:00", "Europe/Berlin") == datetime(2026, 7, 14, 4, tzinfo=UTC)
    assert local_time("2026-07-14T06:00", "") == datetime(2026, 7, 14, 6, tzinfo=UTC)
    assert local_time("2026-07-14T06:00", "Not/AZone") == datetime(2026, 7, 14, 6, tzinfo=UTC)
    # a day's end is the next midnight, in the reader's zone
    assert local_time("2026-07-14", "Europe/London", end_of_day=True) == datetime(
        2026, 7, 14, 23, tzinfo=UTC
    )
    assert local_time("  ", "Europe/London") is None
    with pytest.raises(Invalid):
        local_time("tomorrow", "")
