"""Stored events read back: the bytes eventsourcing's JSONTranscoder writes, parsed by orjson.

Decoding is most of the cost of every full read of the log (projections, sealing, auditors'
bundles). What is stored does not change: encoding is eventsourcing's own. Only reading is
faster, and it gives the same values: tagged objects ({"_type_", "_data_"}) are revived
innermost first, as the standard library's object_hook does.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder


class FastJSONTranscoder(JSONTranscoder):
    def decode(self, data: bytes) -> Any:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:  # what orjson refuses (NaN, integers past 64 bits)
            return super().decode(data)
        return self._revive(value)

    def _revive(self, value: Any) -> Any:
        if type(value) is dict:
            for key, item in value.items():
                kind = type(item)
                if kind is dict or kind is list:
                    value[key] = self._revive(item)
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self._decode_obj(value)
            return value
        if type(value) is list:
            for index, item in enumerate(value):
                kind = type(item)
                if kind is dict or kind is list:
                    value[index] = self._revive(item)
        return value
