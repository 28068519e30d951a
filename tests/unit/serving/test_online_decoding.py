"""The online reader's byte decoding gives exactly what protobuf parsing gives.

decode_replies reads double features with struct instead of protobuf (the 500-ticker read
decodes 7,000 values) and memoizes event timestamps; any difference from protobuf's
answer, a NaN's bits or an int64 feature read as a double, would change served values.
"""

from __future__ import annotations

import math
import struct

import pytest
from feast.protos.feast.types.Value_pb2 import Value
from google.protobuf.timestamp_pb2 import Timestamp

from stockfeatures.serving.online_reader import _decode_time, _decode_value, _number, decode_replies
from stockfeatures.serving.plan import ReadPlan, ViewRead

DOUBLES = [0.0, -0.0, 1.5, -2.25e-300, 1e308, 5e-324, math.inf, -math.inf, math.nan, 0.1 + 0.2]


def _protobuf(raw: bytes) -> float | None:
    value = Value()
    value.ParseFromString(raw)
    return _number(value)


@pytest.mark.parametrize("number", DOUBLES)
def test_double_values_decode_to_the_same_bits_as_protobuf(number: float) -> None:
    raw = Value(double_val=number).SerializeToString()
    assert struct.pack("<d", _decode_value(raw)) == struct.pack("<d", _protobuf(raw))


@pytest.mark.parametrize("value", [Value(int64_val=7), Value(float_val=0.5), Value(int32_val=-3),
                                   Value(bool_val=True), Value(), Value(string_val="7654321")])
def test_other_kinds_still_go_through_protobuf(value: Value) -> None:
    """Including a 9-byte message that is not a double (a 7-character string)."""
    raw = value.SerializeToString()
    assert _decode_value(raw) == _protobuf(raw)


def test_missing_values_are_none() -> None:
    assert _decode_value(None) is None and _decode_value(b"") is None


def test_event_times_match_protobuf_also_when_repeated() -> None:
    for seconds, nanos in ((1764709200, 0), (1764709200, 500_000_000), (0, 1)):
        raw = Timestamp(seconds=seconds, nanos=nanos).SerializeToString()
        for _ in range(2):  # the second read comes from the memo
            assert _decode_time(raw) == seconds + nanos / 1e9
    assert _decode_time(None) is None


def _reply(*numbers: float | None, seconds: int = 1764709200) -> list[bytes | None]:
    cells = [None if n is None else Value(double_val=n).SerializeToString() for n in numbers]
    return [*cells, Timestamp(seconds=seconds).SerializeToString()]


def test_a_repeated_reply_is_decoded_once_and_a_changed_one_anew() -> None:
    """decode_replies shares one decoded entry per distinct reply bytes: a value restated
    in Redis (same event time, new bytes) must be read as the new value, never the memo's."""
    view = ViewRead.build("returns_daily", ["ret_1d", "ret_5d"])
    plan = ReadPlan((view,), (("returns_daily", "ret_1d"), ("returns_daily", "ret_5d")), None, None)
    first = decode_replies(plan, ["AAPL", "MSFT"], [_reply(0.1, None), _reply(0.1, None)])
    assert first["AAPL"]["returns_daily"] == (1764709200.0, {"ret_1d": 0.1, "ret_5d": None})
    assert first["AAPL"]["returns_daily"] is first["MSFT"]["returns_daily"]
    restated = decode_replies(plan, ["AAPL"], [_reply(0.2, 0.3)])
    assert restated["AAPL"]["returns_daily"] == (1764709200.0, {"ret_1d": 0.2, "ret_5d": 0.3})
    again = decode_replies(plan, ["AAPL"], [_reply(0.1, None)])
    assert again["AAPL"]["returns_daily"] is first["AAPL"]["returns_daily"]
