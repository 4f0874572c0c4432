"""FastJSONRenderer writes the bytes DRF's JSONRenderer writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import struct
import uuid
from collections import OrderedDict
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from driftdetector.api.renderers import FastJSONRenderer


@dataclasses.dataclass
class Point:
    x: int
    y: float


UTC = dt.UTC
CASES = [
    None,
    {},
    [],
    {"a": 1, "b": [1, 2.5, None, True, False], "c": {"d": "é\u2028\u2029\x00\x1f\x7f\U0001f600"}},
    {
        "when": dt.datetime(2026, 12, 3, 22, 0, 1, 123456, tzinfo=UTC),
        "naive": dt.datetime(2026, 1, 1),
    },
    {"offset": dt.datetime(2026, 6, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))},
    {"date": dt.date(2026, 1, 2), "time": dt.time(3, 4, 5, 6), "delta": dt.timedelta(hours=1)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "dec": Decimal("1.10")},
    {"lazy": gettext_lazy("Not found."), "tuple": (1, "x"), "set_like": frozenset()},
    {1: "int key", None: "none key", 2.5: "float key"},
    {"big": 2**70, "neg": -(2**64)},
    ReturnDict(OrderedDict(b=1, a=2), serializer=None),
    ReturnList([{"x": 1}], serializer=None),
    {"floats": [1e16, 1e-7, 1e-5, 0.0001, 1.5, -0.0, 5e-324, 1.7976931348623157e308, 0.1]},
    {"looks_like_a_float": "1e-5 and 0.00001 and :0.00001", "hash": "3e5a0e-9f"},
]


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_the_bytes_are_drfs(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_random_floats_and_strings_are_written_as_drf_writes_them():
    rng = random.Random(12)
    floats = []
    while len(floats) < 20_000:
        value = struct.unpack("d", rng.randbytes(8))[0]
        if value == value and abs(value) != float("inf"):
            floats.append(value)
    floats += [rng.uniform(-1e6, 1e6) for _ in range(5_000)]
    floats += [rng.uniform(0, 1e-3) for _ in range(5_000)]
    floats += [rng.uniform(-1e-9, 1e-9) * 10 ** -rng.randrange(0, 12) for _ in range(5_000)]
    floats += [10.0**e for e in range(-330, 308)] + [-(2.0**e) for e in range(-1080, 1024)]
    text = "".join(chr(rng.randrange(0, 0x3000)) for _ in range(5_000))
    text = text.replace("\ud800", "")  # no surrogates in the 0..0x3000 range anyway
    for chunk in range(0, len(floats), 500):
        data = {"values": floats[chunk : chunk + 500], "text": text}
        assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_an_indent_or_unserialisable_object_goes_to_drf():
    data = {"a": [1, 2]}
    assert FastJSONRenderer().render(data, "application/json; indent=2") == (
        JSONRenderer().render(data, "application/json; indent=2")
    )
    for data in ({"x": object()}, {"point": Point(1, 2.0)}):
        with pytest.raises(TypeError):
            JSONRenderer().render(data)
        with pytest.raises(TypeError):
            FastJSONRenderer().render(data)
