"""The `peerchat` console script, run as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PEERCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "PEERCHAT_DEV_SECRET_FILE": str(tmp_path / "dev-secret"),
    }


def test_migrate_then_create_users(env: dict[str, str]) -> None:
    migrated = run(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    created = run(
        ["users", "create", "--username", "sam", "--role", "peer_worker", "--password-stdin"],
        env,
        "a long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created peer_worker sam" in created.stdout
    taken = run(
        ["users", "create", "--username", "sam", "--role", "supervisor", "--password-stdin"],
        env,
        "another long password\n",
    )
    assert taken.returncode != 0 and "taken" in taken.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["--username", "x y", "--role", "peer_worker", "--password-stdin"],
            "long password 1\n",
            "username must be",
        ),
        (
            ["--username", "kim", "--role", "peer_worker", "--password-stdin"],
            "short\n",
            "at least 10 characters",
        ),
        (["--username", "kim", "--role", "peer_worker"], "", "--password-stdin"),
        (
            ["--username", "kim", "--role", "wizard", "--password-stdin"],
            "long password 1\n",
            "invalid choice",
        ),
    ],
)
def test_users_create_refuses_bad_input(
    env: dict[str, str], args: list[str], stdin: str, message: str
) -> None:
    result = run(["users", "create", *args], env, stdin)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_outside_dev_mode_needs_a_secret(env: dict[str, str]) -> None:
    result = run(["serve", "--port", "0"], {**env, "PEERCHAT_DEV_MODE": "false"})
    assert result.returncode == 2
    assert "PEERCHAT_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr
