"""Is lesson 6 graded right? Reference full, stub zero, each mutant loses the check naming its mistake,
correct-but-different implementations full; the child's sandbox gives DataLoader workers and a gloo process
group what they need and nothing more."""

from __future__ import annotations

import pytest

from grader.engine import registry
from tests.conftest import assert_full_marks, assert_stub_earns_zero, failures, row

LESSON = "lesson6"
PUBLIC = tuple(c.name for c in registry.course().lesson(LESSON).checks if c.public)


def test_reference_earns_full_marks(graded):
    report = graded(LESSON, "reference")
    assert_full_marks(report)
    assert "loopback only" in report.sandbox and "private /dev/shm" in report.sandbox, report.sandbox


def test_every_check_runs_on_cpu_only_and_none_is_skipped(graded):
    report = graded(LESSON, "reference")
    assert {r.device for r in report.results} == {"cpu"}
    assert not [r for r in report.results if r.status == "skipped"]


def test_stub_earns_zero_with_not_implemented_messages(graded):
    assert_stub_earns_zero(graded(LESSON, "stub", checks=PUBLIC))


@pytest.mark.parametrize("name", ["alt_shard_level.py", "alt_member_roundrobin.py"])
def test_correct_but_different_implementation_earns_full_marks(graded, name):
    report = graded(LESSON, name)
    assert not failures(report)
    assert report.score == report.max_score


@pytest.mark.parametrize(
    "name, exercise, check, words",
    [
        # the notes' own mistakes
        ("seed_duplicates.py", "TarImageDataset", "exactly_once_with_workers",
         ["came more than once", "get_worker_info"]),
        ("seed_workers_equal_files.py", "TarImageDataset", "keys_and_pixels",
         ["NoneType", "get_worker_info() is None when num_workers=0"]),
        ("seed_workers_equal_files.py", "TarImageDataset", "exactly_once_with_workers",
         ["in DataLoader worker process", "need one worker per shard"]),
        ("random_choice.py", "ImageDirectoryDataset", "index_is_the_image", ["random.choice", "index"]),
        ("bgr.py", "ImageDirectoryDataset", "reads_images", ["BGR", "COLOR_BGR2RGB"]),
        ("bgr.py", "TarImageDataset", "keys_and_pixels", ["BGR"]),
        ("imread_none.py", "ImageDirectoryDataset", "unreadable_file", ["does not name the file"]),
        # sharding
        ("worker_not_rank.py", "TarImageDataset", "exactly_once_distributed", ["both ranks", "get_rank()"]),
        ("rank_not_worker.py", "TarImageDataset", "exactly_once_with_workers", ["came more than once"]),
        ("drops_last_shard.py", "TarImageDataset", "keys_and_pixels", ["never came", "all of shard-00001.tar"]),
        ("crash_no_workers.py", "TarImageDataset", "keys_and_pixels", ["get_worker_info() is None"]),
        ("key_with_extension.py", "TarImageDataset", "keys_and_pixels", ["without its extension"]),
        # streaming, shuffling, errors
        ("whole_shard_in_memory.py", "TarImageDataset", "streams_members", ["MiB", "Stream the members"]),
        ("shuffle_not_by_epoch.py", "TarImageDataset", "shuffle_per_epoch", ["epochs 0 and 1", "(seed, epoch)"]),
        ("skips_missing_shard.py", "TarImageDataset", "missing_shard", ["FileNotFoundError"]),
        ("skips_corrupt_member.py", "TarImageDataset", "corrupt_member", ["broken-01.png", "raised nothing"]),
        ("pattern_ignored.py", "ImageDirectoryDataset", "pattern_and_jpeg", ["notes.txt"]),
        # speed
        ("decode_all.py", "TarImageDataset", "workers_share_decoding", ["CPU", "more than its share"]),
        ("reopen_per_member.py", "TarImageDataset", "streams_on_slow_storage", ["opens", "Open each shard once"]),
    ],
)
def test_mutant_loses_the_check_that_names_its_mistake(graded, name, exercise, check, words):
    report = graded(LESSON, name, checks=(check,))
    result = row(report, exercise, check)
    assert result.status in ("failed", "error"), result
    assert result.points == 0
    for word in words:
        assert word in result.message, result.message
    # the check failed on its own verdict, not only because a public value check failed first
    assert not result.message.startswith("not awarded"), result.message


@pytest.mark.parametrize(
    "name, broken",
    [
        ("bgr.py", {"ImageDirectoryDataset", "TarImageDataset"}),
        ("random_choice.py", {"ImageDirectoryDataset"}),
        ("seed_duplicates.py", {"TarImageDataset"}),
        ("decode_all.py", set()),  # right values: only the hidden speed check sees it
        ("whole_shard_in_memory.py", set()),
        ("worker_not_rank.py", set()),
    ],
)
def test_mutant_fails_public_checks_only_of_the_exercise_it_breaks(graded, name, broken):
    report = graded(LESSON, name, checks=PUBLIC)
    for exercise in ("ImageDirectoryDataset", "TarImageDataset"):
        lost = [r for r in report.results if r.exercise == exercise and r.status in ("failed", "error")]
        assert bool(lost) == (exercise in broken), (exercise, lost)


def test_the_speed_and_memory_checks_pass_what_they_do_not_target(graded):
    """The alternatives read shards differently (whole shards per reader; every reader streams every shard)
    and still pass the CPU, memory and open-count checks."""
    for name in ("alt_shard_level.py", "alt_member_roundrobin.py"):
        report = graded(LESSON, name)
        for check in ("streams_members", "workers_share_decoding", "streams_on_slow_storage"):
            assert row(report, "TarImageDataset", check).status == "passed", (name, check)


def test_worker_errors_keep_their_message_and_the_child_survives(graded):
    """A DataLoader worker's exception says only "Caught X in DataLoader worker process 0" in the main
    process: the grader reports the worker's own message. The failed loader's workers are stopped, so the
    child survives to the next check (torch's SIGCHLD handler once crashed it there)."""
    report = graded(LESSON, "seed_workers_equal_files.py", checks=PUBLIC + ("exactly_once_grid",))
    shards = row(report, "TarImageDataset", "exactly_once_with_workers")
    assert "AssertionError: need one worker per shard" in shards.message, shards.message
    assert not [r.message for r in report.results if "exited with code" in r.message]
