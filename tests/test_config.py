import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import ConfigError, KioskConfig, load_config, parse_config
from kiosk.config_doc import render_example

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_are_valid():
    loaded = load_config(None)
    assert loaded.config.camera.backend == "demo"
    assert loaded.resolve(loaded.config.vision.detector.model).is_file()
    assert loaded.resolve(loaded.config.vision.classifier.model).is_file()


def test_committed_example_is_valid_and_current():
    assert load_config(ROOT / "config.yaml").config == KioskConfig()
    assert (ROOT / "config.yaml").read_text(encoding="utf-8") == render_example(), (
        "config.yaml is stale: run `kiosk config example > config.yaml`"
    )


def test_every_field_is_documented():
    def walk(model_cls, prefix=""):
        for name, field in model_cls.model_fields.items():
            assert field.description, f"{prefix}{name} has no description"
            ann = field.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                walk(ann, f"{prefix}{name}.")

    walk(KioskConfig)


def test_unknown_key_names_key_and_line(tmp_path):
    p = write(tmp_path, "camera:\n  backend: folder\n  intreval_s: 2\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    text = str(exc.value)
    assert "camera.intreval_s" in text and "unknown key" in text and "line 3" in text


def test_bad_value_names_key_value_and_reason(tmp_path):
    p = write(tmp_path, "camera:\n  interval_s: -5\nvision:\n  runtime:\n    num_threads: lots\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    problems = exc.value.problems
    assert any("camera.interval_s" in m and "-5" in m and "line 2" in m for m in problems)
    assert any("vision.runtime.num_threads" in m and "'lots'" in m for m in problems)


def test_bad_enum_lists_choices():
    with pytest.raises(ConfigError) as exc:
        parse_config({"camera": {"backend": "webcam"}})
    assert "camera.backend" in str(exc.value) and "demo" in str(exc.value)


def test_yaml_syntax_error_has_line(tmp_path):
    p = write(tmp_path, "camera:\n  backend: [folder\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert "YAML syntax error" in str(exc.value) and "line" in str(exc.value)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n"])
def test_top_level_must_be_mapping(tmp_path, text):
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, text))


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError):
        load_config(p)


def test_empty_file_and_empty_section_mean_defaults(tmp_path):
    assert load_config(write(tmp_path, "")).config == KioskConfig()
    assert load_config(write(tmp_path, "camera:\nmqtt:\n")).config == KioskConfig()


def test_relative_paths_resolve_against_config_dir(tmp_path):
    loaded = load_config(write(tmp_path, "vision:\n  detector:\n    model: m/x.tflite\n"))
    assert loaded.resolve(loaded.config.vision.detector.model) == tmp_path / "m" / "x.tflite"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_validate_exit_codes(tmp_path):
    good = run_cli("config", "validate", str(ROOT / "config.yaml"))
    assert good.returncode == 0, good.stderr
    bad = run_cli("config", "validate", str(write(tmp_path, "camera: {loop: maybe}\n")), "--json")
    assert bad.returncode == 2
    out = json.loads(bad.stdout)
    assert out["ok"] is False and any("camera.loop" in e for e in out["errors"])


def test_default_model_paths_work_from_a_config_elsewhere(tmp_path):
    loaded = load_config(write(tmp_path, "camera:\n  interval_s: 2\n"))
    assert loaded.resolve(loaded.config.vision.detector.model).is_file()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.tflite").write_bytes(b"x")
    assert loaded.resolve("models/mine.tflite") == tmp_path / "models" / "mine.tflite"
