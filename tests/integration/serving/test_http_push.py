"""POST /push on the real server process (infra/serve.sh, prod: PostgreSQL + Redis): the
`feast serve` push body in, rows online and offline, and a 4xx naming every client mistake."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES, INTRADAY_PUSH_SOURCE, INTRADAY_VIEW
from tests.intraday_frames import make_intraday_features

pytestmark = pytest.mark.integration

TICKERS = ("HPA", "HPB")


def body_of(rows: pd.DataFrame, to: str = "online_and_offline", drop_created: bool = False) -> dict:
    df = {column: rows[column].tolist() for column in rows.columns
          if not (drop_created and column == "created_timestamp")}
    for column in ("event_timestamp", "created_timestamp"):
        if column in df:
            df[column] = [stamp.isoformat() for stamp in rows[column]]
    return {"push_source_name": INTRADAY_PUSH_SOURCE, "df": df, "to": to}


@pytest.fixture(scope="module")
def url(one_worker_server) -> str:
    host, port = one_worker_server
    return f"http://{host}:{port}/push"


def test_pushed_rows_are_online_and_offline_and_a_repush_adds_nothing(stack, url):
    rows = make_intraday_features(tickers=TICKERS, count=3)

    first = httpx.post(url, json=body_of(rows), timeout=30)
    again = httpx.post(url, json=body_of(rows), timeout=30)

    assert first.status_code == 200, first.text
    assert first.json() | {"offline_via": None} == {
        "push_source_name": INTRADAY_PUSH_SOURCE, "to": "online_and_offline", "received": 6,
        "pushed": 6, "unchanged": 0, "offline_via": None}
    assert first.json()["offline_via"] == "feast offline_write_batch"
    assert (again.json()["pushed"], again.json()["unchanged"]) == (0, 6)
    stored = stack.warehouse.read_intraday_features(tickers=list(TICKERS))
    assert len(stored) == 6
    online = stack.store.get_online_features(
        features=[f"{INTRADAY_VIEW}:{name}" for name in INTRADAY_FEATURE_NAMES],
        entity_rows=[{"ticker": t} for t in TICKERS]).to_dict()
    newest = rows.groupby("ticker").tail(1).set_index("ticker")
    for name in INTRADAY_FEATURE_NAMES:
        assert online[name] == pytest.approx([newest.loc[t, name] for t in TICKERS])


def test_created_timestamp_defaults_to_when_the_server_received_the_push(stack, url):
    rows = make_intraday_features(tickers=("HPC",), count=1)
    before = pd.Timestamp.now(tz="UTC")
    answer = httpx.post(url, json=body_of(rows, to="offline", drop_created=True), timeout=30)
    assert answer.status_code == 200, answer.text
    created = stack.warehouse.read_intraday_features(tickers=["HPC"])["created_timestamp"].iloc[0]
    assert created >= before.floor("us")


def _rows() -> pd.DataFrame:
    return make_intraday_features(tickers=("HPD",), count=2)


def _with(change) -> dict:
    body = body_of(_rows())
    change(body)
    return body


BAD = [
    (_with(lambda b: b["df"].pop("ret_5m")), 422, "missing ['ret_5m']"),
    (_with(lambda b: b["df"].update(extra=[1, 2])), 422, "unexpected ['extra']"),
    (_with(lambda b: b["df"].update(event_timestamp=["2025-06-30T13:35:00"] * 2)), 422, "with a zone"),
    (_with(lambda b: b["df"].update(event_timestamp=[1751290500, 1751290800])), 422, "ISO-8601"),
    (_with(lambda b: b["df"].update(ret_5m=["high", 0.1])), 422, "'df.ret_5m' must hold numbers"),
    (_with(lambda b: b["df"].update(ret_5m=[0.1])), 422, "same length"),
    (_with(lambda b: b["df"].update(ticker=["hpd", "hpd"])), 422, "ticker must be upper case"),
    (_with(lambda b: b.update(to="everywhere")), 422, "'to' must be one of"),
    (_with(lambda b: b.update(push_source_name="daily_push")), 404, "unknown push source 'daily_push'"),
    (_with(lambda b: b.update(frame={})), 422, "unknown fields ['frame']"),
    (_with(lambda b: b["df"].update(created_timestamp=["2025-06-30T13:30:00+00:00"] * 2)), 422,
     "created_timestamp before event_timestamp"),
]


@pytest.mark.parametrize(("body", "status", "named"), BAD)
def test_every_client_mistake_is_a_4xx_that_names_it_and_writes_nothing(stack, url, body, status, named):
    answer = httpx.post(url, json=body, timeout=30)
    assert answer.status_code == status, answer.text
    assert named in answer.json()["detail"]
    assert stack.warehouse.read_intraday_features(tickers=["HPD"]).empty


def test_malformed_json_and_oversized_bodies_are_refused(url):
    assert httpx.post(url, content=b"{not json", timeout=30).status_code == 400
    huge = httpx.post(url, content=b"[" + b"0," * 600_000 + b"0]", timeout=30)
    assert huge.status_code == 413
    assert "STOCKFEATURES_SERVING_MAX_BODY_BYTES" in huge.json()["detail"]


def test_the_documented_push_body_parses_to_every_intraday_column():
    """docs/intraday.md's example names the features by hand: this keeps it true to the spec."""
    import json
    import re
    from pathlib import Path

    from stockfeatures.serving.http_push import parse_push
    from stockfeatures.storage.tables import intraday_features_schema

    text = (Path(__file__).resolve().parents[3] / "docs" / "intraday.md").read_text()
    example = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    rows, mode = parse_push(example, pd.Timestamp("2025-06-30T13:36:00+00:00"))
    assert mode == "online_and_offline"
    assert tuple(rows.columns) == intraday_features_schema().columns
