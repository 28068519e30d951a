"""POST /push: `feast serve`'s push body, written by stockfeatures.intraday.push.

Body (as feast serve's /push): {"push_source_name": "intraday_push", "df": {column: [values]},
"to": "online" | "offline" | "online_and_offline"} (default "online", as Feast's). `df` holds
the columns of features_intraday: ticker, event_timestamp (the bar's end, an ISO-8601 time
with its zone), optionally created_timestamp (default: when the server received the push),
and one number or null per intraday feature.

Parsing and checking the body (CPU only) run on the event loop; the write, which waits on
Redis, PostgreSQL or the parquet files, runs in the worker's read threads under
STOCKFEATURES_SERVING_PUSH_TIMEOUT_S, so the loop (and /health, and reads) never blocks.
Every client mistake is a 4xx naming the column or field; the body limit applies as for reads.
"""

from __future__ import annotations

import orjson
import pandas as pd

from stockfeatures.intraday.push import push_intraday_features, push_mode
from stockfeatures.intraday.spec import INTRADAY_PUSH_SOURCE
from stockfeatures.serving.errors import BadRequest
from stockfeatures.serving.http_reads import Answer, ReadRunner, error_answer, json_body, map_error
from stockfeatures.storage.tables import CREATED, EVENT, intraday_features_schema

PUSH_ROUTE = "/push"
_FIELDS = {"push_source_name", "df", "to", "allow_registry_cache", "transform_on_write"}


class UnknownPushSource(BadRequest):
    """push_source_name is not a push source this server writes (HTTP 404)."""


def _timestamps(name: str, values: list) -> pd.Series:
    if any(v is not None and not isinstance(v, str) for v in values):
        raise BadRequest(f"'df.{name}' must hold ISO-8601 times with a zone, e.g. "
                         "2025-06-30T13:35:00+00:00 (numbers are ambiguous)")
    try:
        parsed = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601"))
    except (ValueError, TypeError) as error:
        raise BadRequest(f"'df.{name}' has a value that is not an ISO-8601 time: {error}") from None
    if not isinstance(parsed.dtype, pd.DatetimeTZDtype):
        raise BadRequest(f"'df.{name}' needs times with a zone (…Z or …+00:00); a time without one "
                         "is not an instant")
    if parsed.isna().any():
        raise BadRequest(f"'df.{name}' is missing in some rows")
    return parsed.dt.tz_convert("UTC")


def _numbers(name: str, values: list) -> pd.Series:
    bad = [v for v in values if v is not None and (isinstance(v, bool) or not isinstance(v, int | float))]
    if bad:
        raise BadRequest(f"'df.{name}' must hold numbers or null, got {bad[0]!r}")
    return pd.Series([float("nan") if v is None else float(v) for v in values], dtype="float64")


def parse_push(body: object, received_at: pd.Timestamp) -> tuple[pd.DataFrame, str]:
    """(rows of features_intraday, push mode name) from a /push body, or BadRequest."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with 'push_source_name', 'df' and 'to'")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise BadRequest(f"unknown fields {unknown}; a push body has {sorted(_FIELDS)}")
    source = body.get("push_source_name")
    if source != INTRADAY_PUSH_SOURCE:
        raise UnknownPushSource(f"unknown push source {source!r}; this server writes "
                                f"{INTRADAY_PUSH_SOURCE!r}")
    mode = push_mode(body.get("to", "online")).name.lower()
    df = body.get("df")
    if not isinstance(df, dict) or not df:
        raise BadRequest("'df' must be an object of columns, {column: [values, ...]}")
    schema = intraday_features_schema()
    required = [c for c in schema.columns if c != CREATED]
    missing = [c for c in required if c not in df]
    extra = sorted(set(df) - set(schema.columns))
    if missing or extra:
        raise BadRequest(f"'df' columns do not match {INTRADAY_PUSH_SOURCE}: missing {missing}, "
                         f"unexpected {extra}")
    lengths = {name: len(v) if isinstance(v, list) else -1 for name, v in df.items()}
    if -1 in lengths.values() or len(set(lengths.values())) != 1:
        raise BadRequest(f"every 'df' column must be a list of the same length, got {lengths}")
    columns: dict[str, pd.Series] = {}
    for name in schema.columns:
        if name == "ticker":
            values = df["ticker"]
            if not all(isinstance(v, str) for v in values):
                raise BadRequest("'df.ticker' must hold ticker strings")
            columns[name] = pd.Series(values, dtype=object)
        elif name in (EVENT, CREATED):
            if name in df:
                columns[name] = _timestamps(name, df[name])
            else:
                columns[name] = pd.Series([received_at] * lengths["ticker"], dtype="datetime64[ns, UTC]")
        else:
            columns[name] = _numbers(name, df[name])
    return pd.DataFrame(columns), mode


async def push(runner: ReadRunner, raw: bytes) -> Answer:
    server = runner.server
    body = json_body(raw)
    if isinstance(body, Answer):
        return body
    try:
        received_at = pd.Timestamp(server.freshness.clock()).tz_convert("UTC")
        rows, mode = parse_push(body, received_at)
        result = await runner.run(push_intraday_features, server.store, server.warehouse, rows, mode,
                                  timeout_s=server.options.push_timeout_s)
    except UnknownPushSource as error:
        return error_answer(404, "unknown_push_source", str(error))
    except Exception as error:  # mapped to 4xx for bad input, 503 for outages
        return map_error(error)
    return Answer(200, orjson.dumps(result.to_dict()))
