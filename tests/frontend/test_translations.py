"""The participant page's translations and per-language crisis resources, checked as files: every
English key exists in every other language (a missing key would fall back to English, unnoticed),
placeholders match, every data-i18n key used by the page exists, and SMS keeps texting the
English helplines from the language-keyed resources.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.settings import Settings
from app.sms.content.resources import help_text

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
I18N = FRONTEND / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load(name: str) -> dict[str, str]:
    data = json.loads((I18N / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def translations() -> list[str]:
    return sorted(
        p.name for p in I18N.glob("*.json") if p.name not in {"en.json", "languages.json"}
    )


def test_languages_list_names_a_file_for_each_language() -> None:
    offered = load("languages.json")
    assert {"en", "es"} <= set(offered)
    for code in offered:
        assert (I18N / f"{code}.json").is_file(), f"{code} is offered but has no translation file"


@pytest.mark.parametrize("name", translations())
def test_every_english_key_is_translated_with_the_same_placeholders(name: str) -> None:
    english, other = load("en.json"), load(name)
    missing = sorted(set(english) - set(other))
    assert not missing, f"{name} lacks {missing}"
    unknown = sorted(set(other) - set(english))
    assert not unknown, f"{name} has keys English does not: {unknown}"
    for key, text in english.items():
        assert set(PLACEHOLDER.findall(other[key])) == set(PLACEHOLDER.findall(text)), key
        assert other[key].strip(), f"{name}: {key} is empty"


def test_every_key_the_page_and_scripts_use_exists_in_english() -> None:
    english = load("en.json")
    page = (FRONTEND / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n="([^"]+)"', page))
    for pairs in re.findall(r'data-i18n-attr="([^"]+)"', page):
        used |= {pair.split(":")[1] for pair in pairs.split(";")}
    for script in ("participant.js", "checkin.js", "resources.js", "chat-view.js"):
        source = (FRONTEND / "js" / script).read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\("([\w.]+)"', source))
    assert used, "the page uses no translation keys"
    assert not sorted(used - set(english)), sorted(used - set(english))


def test_resources_have_english_and_spanish_with_the_same_topic_ids() -> None:
    data = json.loads((FRONTEND / "resources.json").read_text(encoding="utf-8"))
    assert data["en"]["helplines"] and data["es"]["helplines"]
    ids = {lang: [t["id"] for t in data[lang]["topics"]] for lang in ("en", "es")}
    assert ids["en"] == ids["es"]


def test_sms_texts_the_english_helplines_from_language_keyed_resources(tmp_path: Path) -> None:
    shipped = help_text(Settings(sms_help_text=None))
    assert "Samaritans" in shipped and "988" in shipped
    assert "Esperanza" not in shipped  # the Spanish entry is for the page, not SMS
    (tmp_path / "resources.json").write_text(
        json.dumps(
            {
                "en": {"helplines": [{"name": "Line A", "phone": "111"}]},
                "es": {"helplines": [{"name": "Línea B", "phone": "222"}]},
            }
        ),
        encoding="utf-8",
    )
    text = help_text(Settings(sms_help_text=None, frontend_dir=str(tmp_path)))
    assert "Line A: call 111." in text and "Línea B" not in text
    # The older single-language form still works.
    (tmp_path / "resources.json").write_text(
        json.dumps({"helplines": [{"name": "Line C", "phone": "333"}]}), encoding="utf-8"
    )
    assert "Line C: call 333." in help_text(
        Settings(sms_help_text=None, frontend_dir=str(tmp_path))
    )
