"""RFC 3339 UTC timestamps as Lockbox prints them ("2026-11-29T20:36:58Z")."""
import datetime


def parse_rfc3339(text):
    """Seconds since the epoch (float)."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
