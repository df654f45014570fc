"""A development restart keeps sessions: in dev mode with no PEERCHAT_SECRET_KEY the generated
secret is kept in var/ (owner-only) and reused; production still requires a secret."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.settings import Settings, SettingsError, dev_secret, load_settings
from tests.support.processes import free_port


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERCHAT_")}
    return {**env, "PEERCHAT_MODEL_ENABLED": "false", **extra}


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`peerchat serve` as a developer runs it: from a folder, with nothing configured."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=folder,
        env=_clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_dev_restart_keeps_sessions(tmp_path: Path) -> None:
    with serving(tmp_path) as base:
        made = httpx.post(f"{base}/api/v1/sessions/anonymous", json={}).json()
        auth = {"Authorization": f"Bearer {made['token']}"}
        assert httpx.get(f"{base}/api/v1/me", headers=auth).status_code == 200
    kept = tmp_path / "var" / "dev-secret"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    first = kept.read_text()
    with serving(tmp_path) as base:
        again = httpx.get(f"{base}/api/v1/me", headers=auth)
        assert again.status_code == 200, again.text
        assert again.json()["handle"] == made["handle"]
    assert kept.read_text() == first
    # Without the kept secret (the old behaviour), the same restart signs everyone out.
    kept.unlink()
    with serving(tmp_path) as base:
        assert httpx.get(f"{base}/api/v1/me", headers=auth).status_code == 401


def test_the_secret_file_is_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "dev-secret"
    secret = dev_secret(path)
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dev_secret(path) == secret
    path.chmod(0o644)  # loosened by hand: tightened again on the next start
    assert dev_secret(path) == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short")
    with pytest.raises(SettingsError, match="delete it"):
        dev_secret(path)


def test_settings_use_the_file_only_in_dev_mode_without_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dev-secret"
    for name in [k for k in os.environ if k.startswith("PEERCHAT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PEERCHAT_DEV_SECRET_FILE", str(path))
    assert load_settings().signing_key == load_settings().signing_key == path.read_text().strip()
    path.unlink()
    given = "a-secret-given-by-the-operator-0123456789"
    assert Settings(secret_key=given, dev_mode=False).signing_key == given
    assert not path.exists()  # production never writes one
    monkeypatch.setenv("PEERCHAT_DEV_MODE", "false")
    with pytest.raises(SettingsError, match="PEERCHAT_SECRET_KEY is not set"):
        load_settings()
    assert not path.exists()
