"""HTTP headers that tell a client a model it uses is going away: RFC 9745 and RFC 8594.

A retiring model is still accepted, so the answer is a success; these headers (and the
``model_retiring`` warning in the body) are how a client learns the date without reading prose.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import format_datetime

from app.core.config import API_PREFIX
from app.training.catalog import TrainingModelStatus, get_training_model_retirement

__all__ = ["retirement_headers"]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def retirement_headers(model_id: str, day: date) -> dict[str, str]:
    """``Deprecation``, ``Sunset`` (and ``Link`` to the replacement) for a model that is retiring
    on ``day``; no headers for any other model.

    ``Deprecation`` is the announcement's date where the catalog knows it, else the retirement's:
    a retiring model is deprecated by then at the latest.
    """
    retirement = get_training_model_retirement(model_id)
    if retirement is None or retirement.status(day) is not TrainingModelStatus.RETIRING:
        return {}
    deprecated = retirement.announced_on or retirement.retired_on
    headers = {
        "Deprecation": f"@{int(_midnight(deprecated).timestamp())}",
        "Sunset": format_datetime(_midnight(retirement.retired_on), usegmt=True),
    }
    if retirement.replacement is not None:
        successor = f"{API_PREFIX}/training/catalog/{retirement.replacement}"
        headers["Link"] = f'<{successor}>; rel="successor-version"'
    return headers
