import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def test_compose_file_names_every_service_with_healthchecks():
    spec = yaml.safe_load(COMPOSE.read_text())

    services = spec["services"]
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    for name in ("web", "db", "redis"):
        assert "healthcheck" in services[name], name
    # web, worker and beat share one image definition
    builds = {str(services[name].get("build")) for name in ("web", "worker", "beat")}
    assert len(builds) == 1


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_validates_the_file():
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SECRET_KEY": "compose-config-check"},
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, timeout=60, env=env
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
