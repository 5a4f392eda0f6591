"""Stored text shown on an operator's terminal is shown, never obeyed.

The attack (issue item 9): a name carrying escape sequences (retitle the window, clear the
screen, CSI as a C1 control) or a bidi override reached the terminal raw through `jixiao log`
and `jixiao replay`, and replay's table read it as rich markup. Commands refuse such names now
(test_text_boundary.py); this one is recorded behind the commands' back, as older data or a
bug could have it, and the operator's commands must still print it inert.
"""

from __future__ import annotations

import json

from ledger.domain.base import Meta, stable_id
from ledger.domain.registry import Unit
from tests.security.conftest import Served, assert_public_annex_intact
from tests.security.test_view_stops import jixiao

EVIL = "民政\x1b]0;pwned\x07局\x1b[2J\x9b31m\u202eABC\u2028[red]x[/red]"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2028")


def test_log_and_replay_escape_stored_control_sequences(served: Served) -> None:
    unit = served.ledger.load(stable_id("unit", "XS-U03"))
    assert isinstance(unit, Unit)
    unit._corrected(corrects_version=1, corrected_event="Registered", values={"name": EVIL},
                    reason="behind the commands' back",
                    meta=Meta(actor_id="raw", actor_role="system", command_id="raw-escape"))
    served.ledger.save(unit)
    position = int(served.ledger.recorder.max_notification_id() or 0)

    logged = jixiao(served.db, "log", "--from", str(position))
    assert logged.returncode == 0, logged.stderr
    assert not [c for c in RAW if c in logged.stdout], repr(logged.stdout)
    line = logged.stdout.splitlines()[0]
    assert json.loads(line)["payload"]["values"]["name"] == EVIL  # the same JSON value
    assert "\\u001b]0;pwned\\u0007" in line and "\\u202e" in line

    replayed = jixiao(served.db, "replay", "--year", "2022")
    assert replayed.returncode == 0, replayed.stderr
    assert not [c for c in RAW if c in replayed.stdout], repr(replayed.stdout)
    assert "\\x1b]0;pwned\\x07" in replayed.stdout
    assert "[red]x[/red]" in replayed.stdout  # shown as written, not read as markup
    assert_public_annex_intact(served.url)
