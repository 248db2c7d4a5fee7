"""Config for the days that differ from the weekly hours: special days and public holidays."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kiosk.settings_base import Section

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def check_hhmm(v: str) -> str:
    if not _HHMM.match(v):
        raise ValueError(f"{v!r} is not a time of day HH:MM (00:00 to 23:59)")
    return v


class Hours(Section):
    """Opening hours of one day (close earlier than open passes midnight)."""

    open: str = Field(..., description="Opening time HH:MM.")
    close: str = Field(..., description="Closing time HH:MM; equal to open means all day.")

    @field_validator("open", "close")
    @classmethod
    def _times(cls, v: str) -> str:
        return check_hhmm(v)


class SpecialDay(Section):
    """One date with its own hours, or closed."""

    date: dt.date = Field(..., description="The date, YYYY-MM-DD.")
    closed: bool = Field(False, description="Closed all day (no open/close then).")
    open: str | None = Field(None, description="Opening time HH:MM on this date.")
    close: str | None = Field(None, description="Closing time HH:MM on this date.")

    @field_validator("open", "close")
    @classmethod
    def _times(cls, v: str | None) -> str | None:
        return None if v is None else check_hhmm(v)

    @model_validator(mode="after")
    def _either(self) -> SpecialDay:
        has_hours = self.open is not None or self.close is not None
        if self.closed and has_hours:
            raise ValueError("give either closed: true or open/close, not both")
        if not self.closed and (self.open is None or self.close is None):
            raise ValueError("needs closed: true, or both open and close (HH:MM)")
        return self

    def hours(self) -> Hours | None:
        """The day's hours; None when closed."""
        if self.closed or self.open is None or self.close is None:
            return None
        return Hours(open=self.open, close=self.close)


class HolidaysConfig(Section):
    """Public holidays from the ``holidays`` package (its tables ship with it: no network)."""

    country: str = Field(
        ..., min_length=2, max_length=3, description="ISO 3166 country code, e.g. GB, DE, US."
    )
    subdiv: str | None = Field(
        None,
        max_length=10,
        description="Region whose holidays apply, e.g. ENG (England) for GB, BY for DE. "
        "null: the nationwide ones.",
    )
    hours: Literal["closed"] | Hours = Field(
        "closed", description="'closed', or {open: 'HH:MM', close: 'HH:MM'} for short hours."
    )

    @model_validator(mode="after")
    def _known(self) -> HolidaysConfig:
        try:
            import holidays
        except ImportError:  # the check happens again at run time, with a clear log line
            return self
        try:
            holidays.country_holidays(self.country, subdiv=self.subdiv, years=2026)
        except NotImplementedError:
            raise ValueError(f"the holidays package has no country {self.country!r}") from None
        except Exception as exc:  # unknown subdivision and the like
            raise ValueError(str(exc)) from None
        return self
