"""The Docker set-up as the README tells people to run it: `cp .env.example .env`, then `docker compose up`.

Docker is not available here, so these tests read the Dockerfile, docker-compose.yml, docker/Caddyfile and
.env.example and work out what Compose would give each container: the image's ENV underneath, the env_file
(.env, copied from .env.example) over it, and the service's `environment:` over both.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
CADDYFILE = ROOT / "docker" / "Caddyfile"
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"
BOT_SERVICES = ["bot", "bot-2"]


def dotenv(path: Path) -> dict[str, str]:
    """A file in Compose's env_file format: KEY=VALUE lines; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        assert equals, f"{path.name}:{number}: not KEY=VALUE: {raw!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:  # an inline comment after an unquoted value
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def image_env() -> dict[str, str]:
    """The ENV of the Dockerfile's final stage, the image the containers run."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    final_stage = re.split(r"(?m)^FROM\s", text)[-1]
    env: dict[str, str] = {}
    for line in final_stage.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[len("ENV ") :]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?|-|\?)(?P<arg>[^}]*))?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, from the project's .env."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        given = variables.get(name)
        if op == ":-":
            return given or arg
        if op == ":?":
            if not given:
                raise LookupError(f"{name}: {arg}")
            return given
        return given or ""

    return _VARIABLE.sub(one, value)


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def service(name: str) -> dict[str, Any]:
    """A service with what it `extends` merged under it (mappings merged, everything else replaced)."""
    services = compose()["services"]
    own = dict(services[name])
    base_name = own.pop("extends", {}).get("service")
    if base_name is None:
        return own
    merged = service(base_name)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def container_env(name: str, dot_env: dict[str, str]) -> dict[str, str]:
    """What the container's environment holds when .env is `dot_env`."""
    spec = service(name)
    env = image_env() if spec.get("build") or spec.get("image") == compose()["services"]["bot"]["image"] else {}
    env_files = spec.get("env_file", [])
    for env_file in [env_files] if isinstance(env_files, str) else env_files:
        assert env_file == ".env", f"{name} reads {env_file}, which these tests do not model"
        env.update(dot_env)
    environment = spec.get("environment", {})
    assert isinstance(environment, dict), f"{name}: environment as a mapping, please"
    env.update({key: interpolate(str(value), dot_env) for key, value in environment.items()})
    return env


@pytest.mark.parametrize("name", BOT_SERVICES)
def test_the_copied_env_example_leaves_the_bot_listening_where_caddy_and_the_health_check_look(name: str) -> None:
    env = container_env(name, dotenv(ENV_EXAMPLE))
    assert (env.get("HTTP_HOST"), env.get("HTTP_PORT")) == ("0.0.0.0", "8080")
    # the health check asks HTTP_PORT inside the container; Caddy reaches each replica on that port
    assert "os.environ.get('HTTP_PORT'" in DOCKERFILE.read_text()
    assert f"{name}:{env['HTTP_PORT']}" in CADDYFILE.read_text()


@pytest.mark.parametrize("name", BOT_SERVICES)
def test_env_example_overrides_nothing_the_image_or_compose_sets_for_the_container(name: str) -> None:
    example = dotenv(ENV_EXAMPLE)
    env = container_env(name, example)
    environment = service(name).get("environment", {})
    for key, value in image_env().items():
        expected = interpolate(str(environment[key]), example) if key in environment else value
        assert env[key] == expected, f"{key}: .env.example's {example.get(key)!r} replaces the container's {value!r}"


@pytest.mark.parametrize("name", BOT_SERVICES)
def test_a_port_set_in_dot_env_cannot_move_the_bot_away_from_caddy(name: str) -> None:
    env = container_env(name, {**dotenv(ENV_EXAMPLE), "HTTP_HOST": "127.0.0.1", "HTTP_PORT": ""})
    assert (env["HTTP_HOST"], env["HTTP_PORT"]) == ("0.0.0.0", "8080")


def test_every_service_has_memory_and_cpu_limits() -> None:
    for name in compose()["services"]:
        spec = service(name)
        limits = spec.get("deploy", {}).get("resources", {}).get("limits", {})
        memory = spec.get("mem_limit", limits.get("memory"))
        cpus = spec.get("cpus", limits.get("cpus"))
        assert memory, f"{name} has no memory limit"
        assert cpus and float(cpus) > 0, f"{name} has no CPU limit"
    # the start-up ingest peaks near 2 GB building the index; /reindex runs one beside the running bot
    assert _bytes(service("bot")["mem_limit"]) >= 2_500 * 2**20


def _bytes(size: str | int) -> int:
    match = re.fullmatch(r"(\d+)([kmg]?)b?", str(size).lower())
    assert match, size
    return int(match[1]) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[match[2]]


def test_images_are_pinned_to_exact_versions() -> None:
    images = [service(name).get("image", "") for name in compose()["services"]]
    pulled = [image for image in images if image and image != compose()["services"]["bot"]["image"]]
    bases = re.findall(r"(?m)^FROM\s+(\S+)", DOCKERFILE.read_text())
    assert pulled and bases
    for image in pulled + bases:
        name, _, tag = image.partition("@")[0].partition(":")
        # major.minor.patch, or postgres' major.minor (its patch releases are the minor number)
        exact = r"\d+\.\d+\.\d+" if name != "postgres" else r"\d+\.\d+"
        assert re.match(exact + r"(-|$)", tag), f"{image} is not pinned to an exact version"
    assert len(set(bases)) == 1, "the build and the runtime stage must share one Python"


def test_postgres_has_no_password_unless_one_is_set() -> None:
    postgres = service("postgres")
    password = str(postgres["environment"]["POSTGRES_PASSWORD"])
    assert interpolate(password, {}) == "", f"a password everyone knows: {password}"
    assert interpolate(password, {"POSTGRES_PASSWORD": "s3cret"}) == "s3cret"
    # with no password the postgres image refuses to create the database, unless told to trust everyone
    assert "POSTGRES_HOST_AUTH_METHOD" not in postgres["environment"]
    assert "ports" not in postgres  # reachable from the bot's network only
    # the README's DATABASE_URL uses the password set beside it
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), re.S):
        settings = dotenv_text(block)
        if "POSTGRES_PASSWORD" in settings and "DATABASE_URL" in settings:
            assert f":{settings['POSTGRES_PASSWORD']}@postgres:" in settings["DATABASE_URL"]


def dotenv_text(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if re.match(r"^[A-Z_]+=", line)]
    return dict(line.split("=", 1) for line in lines)


def test_caddy_proxies_the_webhook_path_only() -> None:
    caddyfile = CADDYFILE.read_text()
    proxy = service("proxy")
    webhook_path = interpolate(str(proxy["environment"]["WEBHOOK_PATH"]), {})
    # the path the README's WEBHOOK_URL examples use is the one Caddy passes on when nothing else is set
    for url in re.findall(r"^WEBHOOK_URL=(\S+)$", README.read_text(), re.M):
        assert urlsplit(url).path == webhook_path, url
    # reverse_proxy only inside the block for POSTs to {$WEBHOOK_PATH}; everything else gets a 404 from Caddy
    matcher = re.search(r"@(\w+) \{\s*method POST\s*path \{\$WEBHOOK_PATH\}\s*\}", caddyfile)
    assert matcher, caddyfile
    blocks = re.findall(r"(?ms)^\thandle( @\w+)? \{\n(.*?)^\t\}", caddyfile)
    proxied = [matched.strip() for matched, body in blocks if "reverse_proxy" in body]
    assert proxied == [f"@{matcher[1]}"], caddyfile
    assert [body.strip() for matched, body in blocks if not matched] == ["respond 404"]
    assert caddyfile.count("reverse_proxy") == 1
    assert "health_uri /healthz" in caddyfile  # Caddy itself still asks each replica, directly
