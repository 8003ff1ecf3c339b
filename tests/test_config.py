from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.harness.botproc import bot_command
from bot.config import SettingsError, load_settings
from tests.conftest import ROOT
from tests.conftest import TEST_TOKEN as TOKEN


@pytest.mark.usefixtures("clean_env")
def test_defaults_are_embedded() -> None:
    settings = load_settings(_env_file=None)
    assert settings.telegram_bot_token is None
    assert settings.database_url == "sqlite+aiosqlite:///data/bot.sqlite3"
    assert settings.index_path == Path("data/chroma")
    assert settings.bot_api_base_url == "https://api.telegram.org/bot"


@pytest.mark.usefixtures("clean_env")
def test_lists_and_urls_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_USER_IDS", "1, 2,3")
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:8081")
    settings = load_settings(_env_file=None)
    assert settings.allowed_user_ids == [1, 2, 3]
    assert settings.bot_api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.bot_api_file_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADMIN_USER_IDS", "1,abc"),
        ("TELEGRAM_BOT_TOKEN", "not a token"),
        ("LOG_LEVEL", "LOUD"),
        ("TELEGRAM_BASE_URL", "ftp://x"),
    ],
)
def test_malformed_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings(_env_file=None)


def test_bad_setting_at_start_is_one_line_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LOG_LEVEL": "LOUD", "HOME": str(tmp_path)}
    done = subprocess.run(
        bot_command("ask", "hi"),
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: invalid setting LOG_LEVEL: Value error, must be one of CRITICAL, DEBUG, ERROR, INFO, WARNING"
    ]
    assert "Traceback" not in done.stderr


def test_blank_chroma_path_means_the_default_under_data_dir(clean_env: None) -> None:
    settings = load_settings(_env_file=None, chroma_path="", data_dir="somewhere")
    assert settings.index_path == Path("somewhere") / "chroma"


@pytest.mark.usefixtures("clean_env")
def test_prompts_dir_setting_is_where_texts_and_llm_prompts_come_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot.llm.prompts import LLMPrompts
    from bot.prompts import PROMPTS_DIR, Texts

    custom = tmp_path / "my-prompts"
    shutil.copytree(PROMPTS_DIR, custom)
    (custom / "welcome.txt").write_text("Welcome to the edited copy.", encoding="utf-8")
    (custom / "llm" / "system.txt").write_text("Edited system prompt.", encoding="utf-8")
    monkeypatch.setenv("PROMPTS_DIR", str(custom))
    settings = load_settings(_env_file=None)
    assert settings.prompts_dir == custom
    assert Texts.load(settings.prompts_dir).welcome == "Welcome to the edited copy."
    assert LLMPrompts.from_prompts_dir(settings.prompts_dir).system == "Edited system prompt."
    # unset or empty: the project's own prompts/
    monkeypatch.setenv("PROMPTS_DIR", "")
    default = load_settings(_env_file=None).prompts_dir
    assert default is None
    assert Texts.load(default).welcome == (PROMPTS_DIR / "welcome.txt").read_text(encoding="utf-8").strip()


@pytest.mark.usefixtures("clean_env")
def test_a_missing_prompt_file_names_prompts_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot.prompts import PROMPTS_DIR, PromptError, Texts

    partial = tmp_path / "partial"
    shutil.copytree(PROMPTS_DIR, partial)
    (partial / "help.txt").unlink()
    monkeypatch.setenv("PROMPTS_DIR", str(partial))
    with pytest.raises(PromptError, match=r"missing prompt file .*help\.txt; set PROMPTS_DIR"):
        Texts.load(load_settings(_env_file=None).prompts_dir)


def test_a_missing_prompts_dir_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "PROMPTS_DIR": str(missing),
        "LOG_LEVEL": "WARNING",  # start-up INFO lines of the libraries are not the point here
    }
    done = subprocess.run(
        bot_command("chat"),
        cwd=tmp_path,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: prompts directory {missing} not found; "
        "set PROMPTS_DIR to the folder that holds welcome.txt, help.txt and llm/"
    ]
    assert "Loading the advisor" not in done.stdout  # it stopped before loading anything


@pytest.mark.usefixtures("clean_env")
def test_webhook_settings_derive_the_port_path_and_a_shared_secret() -> None:
    webhook = load_settings(_env_file=None, telegram_bot_token=TOKEN, webhook_url="https://bot.example.org/telegram")
    assert webhook.http_port == 8080 and webhook.webhook_path == "/telegram"
    again = load_settings(_env_file=None, telegram_bot_token=TOKEN, webhook_url="https://other.example.org/")
    assert again.webhook_secret_token == webhook.webhook_secret_token  # replicas of one bot agree
    assert TOKEN.split(":")[1] not in webhook.webhook_secret_token and again.webhook_path == "/"
    other_bot = load_settings(
        _env_file=None, telegram_bot_token=TOKEN.replace("AA", "BB"), webhook_url="https://bot.example.org/t"
    )
    assert other_bot.webhook_secret_token != webhook.webhook_secret_token
    chosen = load_settings(
        _env_file=None, telegram_bot_token=TOKEN, webhook_url="https://x.org/t", webhook_secret="s-1"
    )
    assert chosen.webhook_secret_token == "s-1"
    polling = load_settings(_env_file=None, telegram_bot_token=TOKEN, http_port="")
    assert polling.http_port is None and polling.webhook_url is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("webhook_secret", "has spaces", "WEBHOOK_SECRET"),
        ("webhook_url", "bot.example.org/hook", "WEBHOOK_URL"),
        ("http_port", "70000", "HTTP_PORT"),
    ],
)
@pytest.mark.usefixtures("clean_env")
def test_bad_webhook_settings_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(_env_file=None, **{name: value})
