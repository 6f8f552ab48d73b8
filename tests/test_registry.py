"""Is course.yml validated when loaded, with errors that name the file and the key?"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grader.engine import registry
from grader.engine.registry import RegistryError, load


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "course.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _course_data() -> dict:
    return yaml.safe_load(registry.COURSE_FILE.read_text())


def test_the_course_lists_all_eight_lessons_in_order():
    course = registry.course()
    assert [lesson.id for lesson in course.lessons] == [f"lesson{i}" for i in range(1, 9)]
    assert all(lesson.title and lesson.chapter for lesson in course.lessons)


def test_unknown_key_is_an_error_naming_file_and_key(tmp_path):
    data = _course_data()
    data["lessons"][2]["exercises"][0]["checks"][0]["pointz"] = 3
    path = _write(tmp_path, data)
    with pytest.raises(RegistryError, match=r"course\.yml: unknown key 'pointz' in lesson3\.Merge\.seed_example"):
        load(path)


def test_missing_key_is_an_error(tmp_path):
    data = _course_data()
    del data["lessons"][2]["exercises"][0]["checks"][0]["points"]
    with pytest.raises(RegistryError, match=r"lesson3\.Merge\.seed_example is missing the key 'points'"):
        load(_write(tmp_path, data))


def test_check_without_implementation_is_an_error(tmp_path):
    data = _course_data()
    data["lessons"][2]["exercises"][0]["checks"].append({"name": "imaginary", "points": 1,
                                                          "visibility": "hidden"})
    with pytest.raises(RegistryError, match=r"lesson3\.Merge\.imaginary has no implementation"):
        load(_write(tmp_path, data))


def test_implementation_missing_from_the_registry_is_an_error(tmp_path):
    data = _course_data()
    exercises = data["lessons"][2]["exercises"]
    data["lessons"][2]["exercises"] = [e for e in exercises if e["name"] != "total_scores"]
    with pytest.raises(RegistryError, match=r"implements total_scores\.\w+, which is missing"):
        load(_write(tmp_path, data))


def test_bad_device_and_visibility_are_errors(tmp_path):
    data = _course_data()
    data["lessons"][2]["exercises"][0]["checks"][0]["devices"] = ["tpu"]
    with pytest.raises(RegistryError, match="devices"):
        load(_write(tmp_path, data))
    data = _course_data()
    data["lessons"][2]["exercises"][0]["checks"][0]["visibility"] = "secret"
    with pytest.raises(RegistryError, match="visibility"):
        load(_write(tmp_path, data))


def test_per_device_thresholds():
    spec = next(c for c in registry.course().lesson("lesson3").checks if c.name == "speed_vs_repeat_cat")
    assert spec.threshold("min_speedup", "cpu") > 1
    assert spec.threshold("min_speedup", "cuda") > 1
