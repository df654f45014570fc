"""The crisis resources texted by SMS: by default the same helplines the participant page shows
(the front end's resources.json, which operators edit), so they are configured in one place.
That file is keyed by language; SMS texts its English entry (a file without language keys, the
older form, is read as it is)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from app.settings import Settings

log = logging.getLogger(__name__)
FALLBACK = "If you are in danger now, call your local emergency number."
KEYWORDS = "Text HELP NOW to reach a supervisor at once, STOP to end texts."


def help_text(settings: Settings) -> str:
    """PEERCHAT_SMS_HELP_TEXT if set; otherwise built from resources.json."""
    if settings.sms_help_text:
        return settings.sms_help_text
    from app.web import FRONTEND_DIR

    folder = Path(settings.frontend_dir) if settings.frontend_dir else FRONTEND_DIR
    try:
        data = json.loads((folder / "resources.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("sms: resources.json not readable; texting the fallback crisis words")
        return f"{FALLBACK} {KEYWORDS}"
    return f"{_describe(english_entry(data))} {KEYWORDS}"


def english_entry(data: Any) -> Any:
    """The "en" part of resources.json; the whole file when it has no language keys."""
    if isinstance(data, dict) and isinstance(data.get("en"), dict):
        return data["en"]
    return data


def _describe(data: Any) -> str:
    lines: list[str] = []
    emergency = data.get("emergency") if isinstance(data, dict) else None
    if isinstance(emergency, dict):
        numbers = [
            f"{n['phone']} {n['region']}" if n.get("region") else str(n["phone"])
            for n in emergency.get("numbers") or ()
            if isinstance(n, dict) and n.get("phone")
        ]
        label = str(emergency.get("label") or FALLBACK.rstrip("."))
        lines.append(f"{label}" + (f" ({', '.join(numbers)})." if numbers else "."))
    for line in (data.get("helplines") or ()) if isinstance(data, dict) else ():
        if not isinstance(line, dict) or not line.get("name"):
            continue
        how = []
        if line.get("phone"):
            how.append(f"call {line['phone']}")
        if line.get("sms"):
            how.append(f"text {line['sms']}")
        if not how and line.get("url"):
            how.append(str(line["url"]))
        where = f" ({line['region']})" if line.get("region") else ""
        lines.append(f"{line['name']}{where}: {', '.join(how)}." if how else f"{line['name']}.")
    return " ".join(lines) or FALLBACK
