"""The README documents every setting, and opens with the two set-up commands."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [
        f"PEERCHAT_{name.upper()}"
        for name in Settings.model_fields
        if f"`PEERCHAT_{name.upper()}`" not in readme
    ]
    assert not missing, f"README.md lacks {missing}"


def test_readme_opens_with_the_setup_commands() -> None:
    first_block = (ROOT / "README.md").read_text().split("```")[1]
    assert "make run" in first_block and "make test" in first_block
