"""The compose file, Dockerfile and .dockerignore, checked by reading them (no Docker here).

PyYAML parses the compose file: a real YAML parser, so anchors, quoting and nesting are read as
compose reads them, where a regular expression over the text would be fooled by layout."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kv_api.infrastructure.security.exposure import check_secret_exposure, is_placeholder
from kv_api.infrastructure.settings import Settings, StartupError

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN")
REQUIRED = re.compile(r"^\$\{(?P<name>[A-Z_]+):\?[^}]+\}$")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _environment(service: str) -> dict[str, str]:
    env = _compose()["services"][service]["environment"]
    assert isinstance(env, dict), "environment as a mapping keeps each variable checkable"
    return {key: str(value) for key, value in env.items()}


def _secrets() -> list[tuple[str, str, str]]:
    return [
        (service, name, value)
        for service in _compose()["services"]
        for name, value in _environment(service).items()
        if SECRET_NAMES.search(name) and "METRICS_TOKEN" not in name
    ]


def test_every_secret_in_compose_is_required_with_a_message_naming_it() -> None:
    found = _secrets()
    assert {name for _, name, _ in found} >= {"KV_JWT_SECRET", "KV_TT_PASSWORD"}
    for service, name, value in found:
        match = REQUIRED.match(value)
        assert match, f"{service}.{name}={value!r} must use ${{VAR:?message}}"
        assert match["name"] in value.split("?", 1)[1], f"{service}.{name}: name it in the message"


def test_no_compose_value_carries_a_default_secret() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for _, name, value in _secrets():
        assert ":-" not in value, f"{name} has a default"
    assert "change-me" not in text


def test_the_api_port_is_published_on_loopback_by_default() -> None:
    (published,) = _compose()["services"]["api"]["ports"]
    address = re.match(r"^\$\{KV_PUBLISH_ADDRESS:-([^}]+)\}:", published)
    assert address and address[1] == "127.0.0.1", published


def test_the_api_healthcheck_is_liveness_on_health() -> None:
    check = " ".join(_compose()["services"]["api"]["healthcheck"]["test"])
    assert "/health" in check and "/ready" not in check
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"HEALTHCHECK .*\n.*/health", dockerfile)


def test_env_example_names_every_required_variable_without_a_value() -> None:
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for _, _, value in _secrets():
        match = REQUIRED.match(value)
        assert match and example.get(match["name"]) == "", match


def test_dockerignore_keeps_secrets_venv_and_caches_out_of_the_build_context() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    needed = {".git", ".venv", "var", ".env", "**/__pycache__", ".mypy_cache", ".pytest_cache"}
    assert needed <= ignored, needed - ignored
    assert "bench/results" in ignored


def test_the_dockerfile_copies_only_what_the_package_needs() -> None:
    copies = re.findall(r"^COPY (?!--from)(.+)$", (ROOT / "Dockerfile").read_text(), re.M)
    sources = {part for line in copies for part in line.split()[:-1]}
    assert sources <= {"pyproject.toml", "setup.py", "README.md", "src", "migrations"}


def test_the_image_installs_the_runtime_only() -> None:
    """No extras: the test and bench tools stay out of the image, as `make run` keeps them out
    of its virtualenv."""
    installs = re.findall(r"pip install ([^\\\n&]*)", (ROOT / "Dockerfile").read_text())
    assert [args.strip() for args in installs] == ["."]


@pytest.mark.parametrize(
    "secret",
    ["change-me-this-secret-must-be-at-least-32-bytes", "CHANGEME-please-0123456789abcdef"],
)
def test_the_api_refuses_a_placeholder_secret_beyond_loopback(secret: str) -> None:
    assert is_placeholder(secret)
    with pytest.raises(StartupError, match="KV_JWT_SECRET"):
        check_secret_exposure(Settings(host="0.0.0.0", jwt_secret=secret))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_a_placeholder_secret_is_allowed_on_loopback(host: str) -> None:
    check_secret_exposure(Settings(host=host, jwt_secret="change-me-this-secret-must-be-32b"))


def test_a_random_secret_is_allowed_anywhere() -> None:
    check_secret_exposure(Settings(host="0.0.0.0", jwt_secret="q" * 12 + "Zx81-kd0s_JWmv92mAq"))
