"""Log output for `jixiao serve`: uvicorn's plain text (default) or one JSON object a line.

    jixiao serve --log-format json        (or JIXIAO_LOG_FORMAT=json)

    {"time": "2026-…Z", "level": "WARNING", "logger": "jixiao.api", "message": "…"}

JSON lines are for a log collector (journald → Loki/ELK, or a file). A message can quote
client input (a path in the access log, a refused value); JSON encoding escapes every
control character, and ledger.text.printable_json escapes DEL, C1 and bidi controls as
well, so no input can start a line of its own or hide text on a terminal.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from ledger.text import printable_json

LOG_FORMAT_SETTING = "JIXIAO_LOG_FORMAT"
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return printable_json(json.dumps(entry, ensure_ascii=False, default=str))


def log_format(given: str | None) -> str:
    """The option, else JIXIAO_LOG_FORMAT, else text; anything else stops the start."""
    value = (given or os.environ.get(LOG_FORMAT_SETTING, "") or "text").strip().lower()
    if value not in FORMATS:
        raise SystemExit(f"{LOG_FORMAT_SETTING}/--log-format: one of {', '.join(FORMATS)} "
                         f"(got {value!r})")
    return value


def uvicorn_log_config(fmt: str, level: str) -> dict[str, Any] | None:
    """A logging.config dict for uvicorn.run(log_config=…); None keeps uvicorn's own text
    format. In JSON, the application's loggers (jixiao.*) write through the same handler."""
    if fmt != "json":
        return None
    upper = level.upper()
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json",
                              "stream": "ext://sys.stderr"}},
        "loggers": {"uvicorn": {"handlers": ["json"], "level": upper, "propagate": False},
                    "uvicorn.error": {"level": upper},
                    "uvicorn.access": {"handlers": ["json"], "level": upper,
                                       "propagate": False}},
        "root": {"handlers": ["json"], "level": "INFO" if upper == "INFO" else "WARNING"},
    }


def log_options(fmt: str, level: str) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run: none for text (uvicorn's default config)."""
    config = uvicorn_log_config(fmt, level)
    return {} if config is None else {"log_config": config}
