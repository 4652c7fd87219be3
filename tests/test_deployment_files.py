"""docker-compose.yml and the Dockerfile pass in what the settings keep out of files."""

from __future__ import annotations

from pathlib import Path

import yaml

from priemnaya.settings import PROJECT_ROOT
from priemnaya.settings_errors import SECRET_KEYS


def app_service() -> dict[str, object]:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service: dict[str, object] = compose["services"]["app"]
    return service


def test_compose_passes_every_secret_the_settings_file_refuses() -> None:
    # Compose hands the container only the variables its file names.
    environment = app_service()["environment"]
    assert isinstance(environment, dict)
    for section, key in SECRET_KEYS:
        name = f"PRIEMNAYA_{section.upper()}__{key.upper()}"
        assert environment.get(name) == f"${{{name}:-}}", name


def test_compose_keeps_data_settings_and_overrides_outside_the_image() -> None:
    volumes = app_service()["volumes"]
    assert isinstance(volumes, list)
    targets = {v.split(":")[1] for v in volumes}
    assert {"/app/data", "/app/settings.yaml", "/app/kb", "/app/overrides"} <= targets


def test_the_image_has_the_neural_extra_by_default() -> None:
    dockerfile = Path(PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG EXTRAS=neural" in dockerfile
    assert 'pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"' in dockerfile
