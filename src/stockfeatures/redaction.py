"""One place that hides secrets before text reaches a terminal, a log or a Prefect artifact.

DSNs and URLs carry passwords (`postgresql://admin:pw@host/db`, `rediss://:pw@cache:6380/0`,
`host:6379,password=pw` for Feast's Redis connection string, `password=pw` in libpq key/value
DSNs). Every error print and every log line that may hold one goes through `redact`, so the
rule lives once: the user name and host stay (they help find the problem), the password
becomes `***`.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@host  (the user part may be empty: redis://:pw@host)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]*:)(?P<secret>[^\s@'\"]+)(?=@)")
# password=...  in libpq key/value DSNs, query strings and Feast's Redis connection string
_KEY_VALUE_PASSWORD = re.compile(r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<secret>[^\s,;&'\"]+)",
                                 re.IGNORECASE)


def redact(text: object) -> str:
    """`text` with every URL password and `password=` value replaced by ***."""
    masked = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, str(text))
    return _KEY_VALUE_PASSWORD.sub(lambda m: m.group("head") + MASK, masked)
