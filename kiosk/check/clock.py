"""The clock check: a plausible year and, where timedatectl can tell, NTP synchronised."""

from __future__ import annotations

import shutil
import subprocess
import time

from kiosk.check.result import Check

MIN_YEAR = 2024


def check_clock(now: float | None = None) -> Check:
    year = time.gmtime(now if now is not None else time.time()).tm_year
    fix = (
        "set the time (`timedatectl set-ntp true`, network access to an NTP server; a Pi has "
        "no battery clock, so it needs NTP after every power-up)"
    )
    if year < MIN_YEAR:
        return Check("clock", False, True, f"system clock says {year}", fix)
    synced = None
    if shutil.which("timedatectl"):
        try:
            out = subprocess.run(
                ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if out.returncode == 0 and out.stdout.strip() in ("yes", "no"):
                synced = out.stdout.strip() == "yes"
        except (OSError, subprocess.TimeoutExpired):
            pass
    if synced is False:
        return Check(
            "clock", False, False, "clock not NTP-synchronised (opening hours may drift)", fix
        )
    return Check(
        "clock",
        True,
        True,
        time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())
        + ("; NTP synchronised" if synced else "; NTP state unknown"),
    )
