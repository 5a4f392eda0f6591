"""How the finance bureau draws the subjects it re-reviews (抽查复核的对象选取).

随机抽取 (random) is reproducible by anyone from what the plan records: each candidate's key
is SHA-256 of "<seed>:<subject code>" in hex, and the `count` smallest keys are drawn. 重点抽取
(key) records the subjects chosen and a reason for each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

RANDOM = "random"  # 随机抽取
KEY = "key"  # 重点抽取
METHOD_LABELS = {RANDOM: "随机抽取", KEY: "重点抽取"}


def draw(population: Sequence[str], count: int, seed: str) -> list[str]:
    """The codes a random draw picks, in draw order."""
    keyed = sorted(set(population),
                   key=lambda code: hashlib.sha256(f"{seed}:{code}".encode()).hexdigest())
    return keyed[:count]
