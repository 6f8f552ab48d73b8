"""The adversarial cases: one row per hostile or broken submission under cases/, with what grading must do.

Every case is also held to the invariants in test_adversarial.py (a report; messages one line of at most
2000 characters, valid UTF-8; no process left behind; no file created or changed outside the child's folder;
the judge's JSON report intact; no network connection).

Fields:
- entry: "grade" (grader's grade() in this process), "cli" (`course grade` subprocess), "pytest"
  (`pytest grader` subprocess).
- checks: the check names to run (all exercises' checks of that name); None with public_only for CLI.
- max_score: the score may not exceed this.
- words: each entry must appear in some row's message (case-insensitive); "a|b" means either.
- leaks: strings that must appear in no message (nor the CLI's output): the judges' and solutions' text.
- not_passed / passed: "check" or "exercise::check" rows (cpu) that must not pass / must pass.
- honest_after: grade the reference afterwards in the same test: full marks, grader files unchanged.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
REFUSED = "not graded"
UNREADABLE = "not a readable notebook|not text"
SOLUTION_LEAKS = ("BEGIN SOLUTION", "merge_oracle", "judge_merge_forward", "min_speedup", "SUBMISSIONS",
                  "aminmax(indices)", "amax(dim=dim, keepdim=True)", "calibrate")


@dataclasses.dataclass(frozen=True)
class Case:
    file: str
    category: int
    attack: str
    expected: str
    entry: str = "grade"
    checks: tuple[str, ...] | None = None
    public_only: bool = False
    timeout_s: float | None = 10
    max_score: float = 0
    words: tuple[str, ...] = ()
    leaks: tuple[str, ...] = SOLUTION_LEAKS
    not_passed: tuple[str, ...] = ()
    passed: tuple[str, ...] = ()
    honest_after: bool = False

    @property
    def lesson(self) -> str:
        return "lesson" + Path(self.file).stem.rsplit("_l", 1)[1]

    @property
    def id(self) -> str:
        return Path(self.file).stem


L3_VALUES = ("seed_example", "per_example_values")
L7_STRUCT = ("seed_example", "allowed_builtins")

CASES: list[Case] = [
    # 1. replace the probes the judge calls
    Case("c1_import_grader_lessons_l3.py", 1, "stubs + assign grader.lessons/probes probe_* (import grader)",
         "refused statically: 0 points", checks=L3_VALUES, words=(REFUSED,)),
    Case("c1_probes_table_l7.py", 1, "stubs + overwrite grader.probes.PROBES['lesson7.*']",
         "refused statically: 0 points", checks=L7_STRUCT, words=(REFUSED,)),
    Case("c1_pickle_probes_l3.py", 1, "stubs + PROBES and probe_* replaced via pickle GLOBAL (evades the scan)",
         "the judge's frozen probe table calls the stubs: 0 points", checks=L3_VALUES + ("gradients",),
         words=("NotImplementedError",)),
    Case("c1_resolve_name_probes_l7.py", 1, "stubs + PROBES/probe_* replaced via pkgutil.resolve_name",
         "0 points, stubs' NotImplementedError", checks=L7_STRUCT, words=("NotImplementedError",)),
    Case("c1_selfcheck_tagged_patch_l3.ipynb", 1, "patching/exec hidden in cells tagged selfcheck/demo",
         "those cells neither run nor refuse: honest code graded normally", checks=L3_VALUES, max_score=3,
         passed=L3_VALUES),
    # 2. read the solutions or the judges
    Case("c2_import_mutants_l7.py", 2, "from tests import mutants; exec(reference_code)",
         "refused statically: 0 points", checks=L7_STRUCT, words=(REFUSED,)),
    Case("c2_import_grader_mutants_l3.py", 2, "import grader.mutants / registry.ROOT; exec the solution",
         "refused statically: 0 points", checks=L3_VALUES, words=(REFUSED,)),
    Case("c2_steal_solution_l7.py", 2, "open() solutions/lesson7 via torch.__file__, absolute globs, cwd walk; "
         "import it as a module", "files unreadable in the child: 0 points, no leak", checks=L7_STRUCT,
         words=("NotImplementedError",)),
    Case("c2_read_judge_source_l3.py", 2, "read grader/lessons/lesson3.py, course.yml, tests/, solutions/ "
         "into the exception message", "0 points, message holds none of the files' text", checks=L3_VALUES,
         words=("NotImplementedError",)),
    Case("c2_exfil_via_crash_output_l5.py", 2, "print solution/judge text then os._exit (crash output is "
         "quoted)", "0 points, no leak in the crash message", checks=("seed_example",)),
    Case("c2_steal_solution_l5.ipynb", 2, "notebook globbing /*/*/solutions/lesson5 and importing it",
         "0 points", checks=("seed_example", "index_shapes"), words=("NotImplementedError",)),
    # 3. speed
    Case("c3_cache_data_ptr_l3.py", 3, "25x slow Merge behind a cache keyed on data_ptr/shape",
         "values pass, speed_vs_repeat_cat lost", checks=("seed_example", "speed_vs_repeat_cat"), timeout_s=60,
         max_score=1, not_passed=("speed_vs_repeat_cat",), passed=("seed_example",)),
    Case("c3_cache_values_loop_l5.py", 3, "Python loop behind a cache keyed on values (sum)",
         "values pass, speed_vs_loop and speed_vs_gather lost",
         checks=("seed_example", "speed_vs_loop", "speed_vs_gather"), timeout_s=60, max_score=1,
         not_passed=("speed_vs_loop", "speed_vs_gather"), passed=("seed_example",)),
    Case("c3_patch_timers_refused_l3.py", 3, "time.perf_counter / Timer.blocked_autorange assigned",
         "refused statically: 0 points", checks=("seed_example", "speed_vs_repeat_cat"), words=(REFUSED,)),
    Case("c3_patch_timers_evasive_l5.py", 3, "timers patched through aliases + grader median_times via pkgutil; "
         "Python loop", "the judge's clock: speed_vs_loop lost", checks=("seed_example", "speed_vs_loop"),
         timeout_s=60, max_score=1, not_passed=("speed_vs_loop",)),
    Case("c3_slow_baseline_cat_l3.py", 3, "torch.cat/Tensor.repeat slowed (aliases) so the baseline looks slow; "
         "25x slow Merge", "baseline timed in a clean child: speed lost",
         checks=("seed_example", "speed_vs_repeat_cat"), timeout_s=60, max_score=1,
         not_passed=("speed_vs_repeat_cat",)),
    Case("c3_slow_baseline_gather_l5.py", 3, "torch.gather slowed (alias); Python loop",
         "speed_vs_gather lost", checks=("seed_example", "speed_vs_gather"), timeout_s=60, max_score=1,
         not_passed=("speed_vs_gather",)),
    Case("c3_slow_builtin_cache_l7.py", 3, "F.cross_entropy slowed (alias); 40x the work behind an id() cache",
         "cross_entropy's speed_vs_builtin lost", checks=("seed_example", "speed_vs_builtin"), timeout_s=60,
         max_score=5, not_passed=("cross_entropy::speed_vs_builtin",)),
    # 4. forbidden built-ins hidden
    Case("c4_disable_torch_function_l7.py", 4, "torch._C.DisableTorchFunction() around torch.softmax",
         "refused statically", checks=L7_STRUCT, words=(REFUSED,)),
    Case("c4_aten_ops_l7.py", 4, "torch.ops.aten._softmax.default", "refused statically", checks=L7_STRUCT,
         words=(REFUSED,)),
    Case("c4_inspect_stack_l7.py", 4, "inspect.stack() to detect the recorder", "refused statically",
         checks=L7_STRUCT, words=(REFUSED,)),
    Case("c4_python_dispatch_l7.py", 4, "_disable_current_modes()", "refused statically", checks=L7_STRUCT,
         words=(REFUSED,)),
    Case("c4_getattr_concat_l7.py", 4, 'getattr(torch, "soft"+"max")', "refused statically", checks=L7_STRUCT,
         words=(REFUSED,)),
    Case("c4_F_dict_l7.py", 4, 'F.__dict__["softmax"]', "refused statically", checks=L7_STRUCT, words=(REFUSED,)),
    Case("c4_vars_F_l7.py", 4, 'vars(F)["softmax"]', "refused statically", checks=L7_STRUCT, words=(REFUSED,)),
    Case("c4_importlib_l7.py", 4, "importlib.import_module(...).softmax", "refused statically",
         checks=L7_STRUCT, words=(REFUSED,)),
    Case("c4_alias_dict_evasive_l7.py", 4, 'm = F; m.__dict__["soft"+"max"] (evades the scan)',
         "the op recorder sees softmax: allowed_builtins fails", checks=L7_STRUCT, max_score=1,
         not_passed=("softmax::allowed_builtins",)),
    Case("c4_attrgetter_pickle_evasive_l7.py", 4, "operator.attrgetter / pickle GLOBAL fetch softmax, log_softmax",
         "allowed_builtins fails for both", checks=L7_STRUCT, max_score=2,
         not_passed=("softmax::allowed_builtins", "log_softmax::allowed_builtins")),
    Case("c4_lazy_subclass_l7.py", 4, "returns a lazy Tensor subclass (work deferred past the clock)",
         "refused as not a plain tensor: 0 points", checks=("seed_example", "speed_vs_builtin"),
         words=("Tensor",)),
    # 5. processes, files, resources
    Case("c5_kill_parent_refused_l3.py", 5, "os.kill(getppid, SIGKILL), os.killpg", "refused statically",
         checks=L3_VALUES, words=(REFUSED,), honest_after=True),
    Case("c5_pthread_kill_subprocess_refused_l3.py", 5, 'signal.pthread_kill, subprocess.run(["kill","-STOP"])',
         "refused statically", checks=L3_VALUES, words=(REFUSED,)),
    Case("c5_fork_refused_l3.py", 5, "os.fork x150 + setsid, multiprocessing", "refused statically",
         checks=L3_VALUES, words=(REFUSED,)),
    Case("c5_network_exfil_l3.py", 5, "import socket; connect to 127.0.0.1", "refused statically",
         checks=L3_VALUES, words=(REFUSED,)),
    Case("c5_kill_ancestors_evasive_cli_l3.py", 5, "at import: /proc walk, SIGKILL every ancestor up to the "
         "grading command (os.kill via pickle)", "a report, exit 0; honest values pass", entry="cli",
         public_only=True, max_score=8, passed=("per_example_values",)),
    Case("c5_stop_ancestors_evasive_cli_l3.py", 5, "SIGSTOP the forkserver and the grading command (import and "
         "forward)", "a report, exit 0, nothing hangs", entry="cli", public_only=True, max_score=8,
         passed=("per_example_values",)),
    Case("c5_stop_forkserver_evasive_l3.py", 5, "SIGSTOP os.getppid() (the forkserver) during a check",
         "grading continues; an honest grade afterwards works", checks=L3_VALUES, max_score=3,
         passed=("seed_example",), honest_after=True),
    Case("c5_detached_shell_cli_l3.py", 5, "setsid nohup sh (via torch.utils.collect_env.run) sleeps, rewrites "
         "the --json report, then sleeps 987654", "report intact after 2 s; no process left",
         entry="cli", public_only=True, max_score=8),
    Case("c5_detached_python_cli_l7.py", 5, "double fork (torch.multiprocessing) + setsid (pickle), rewrites "
         "the --json report", "report intact; no process left", entry="cli", public_only=True, timeout_s=15,
         max_score=16),  # the public checks of the four exercises
    Case("c5_detached_pydoc_l5.py", 5, "pydoc.pipepager runs a detached shell that writes /tmp and sleeps",
         "no file, no process left", checks=("seed_example",), max_score=1),
    Case("c5_fork_150_evasive_l5.py", 5, "150 forked sleepers (torch.multiprocessing)",
         "no process left behind", checks=("seed_example",), max_score=1),
    Case("c5_memory_grandchildren_l5.py", 5, "4 grandchildren x 1 GiB each", "stopped: memory or time; "
         "0 points", checks=("seed_example",), timeout_s=15, words=("memory|timed out|processes",)),
    Case("c5_write_files_l3.py", 5, "open/pathlib/shutil/os.replace/symlink/hardlink writes into the repo, "
         "home, /tmp, /dev/shm, next to the submission; append to grader modules", "nothing outside the "
         "child's folder changes; honest values pass", checks=L3_VALUES, max_score=3, passed=L3_VALUES,
         honest_after=True),
    Case("c5_write_files_pytest_l7.py", 5, "the same writes at import, through `pytest grader`",
         "nothing changes; values pass", entry="pytest", checks=("seed_example",), max_score=4,
         passed=("seed_example",)),
    Case("c5_append_grader_modules_l5.py", 5, "append code to grader/judging, engine, lessons, probes modules",
         "modules unchanged; honest grade afterwards", checks=("seed_example",), max_score=1,
         passed=("seed_example",), honest_after=True),
    Case("c5_network_evasive_l3.py", 5, "urllib/http.client to 127.0.0.1:47613 and example.com",
         "no connection reaches the host", checks=L3_VALUES, max_score=3, passed=L3_VALUES),
    Case("c5_loopback_escape_l6.py", 5, "lesson 6 may use TCP: connect to the host's 127.0.0.1:47613 and ::1, "
         "write /dev/shm, overwrite the judge's shards (at import and in every DataLoader worker)",
         "no connection reaches the host, no file appears in the host's /dev/shm, the shards are unchanged; "
         "values pass", checks=("keys_and_pixels", "exactly_once_with_workers"), timeout_s=60, max_score=3,
         passed=("keys_and_pixels", "exactly_once_with_workers")),
    Case("c5_busy_threads_l3.py", 5, "4 busy threads at import + endless loop in the function",
         "timed out, 0 points", checks=("per_example_values",), timeout_s=3, words=("timed out",)),
    Case("c5_stdout_spam_l5.py", 5, "~60 MB of fake [PASS] lines on stdout/stderr", "a report; values pass",
         checks=("seed_example",), timeout_s=30, max_score=1),
    Case("c5_deep_recursion_l3.py", 5, "recursion limit 1e8, endless recursion (segfault)",
         "error, 0 points", checks=("per_example_values",), timeout_s=4),
    Case("c5_shell_magic_l3.ipynb", 5, "!sleep / %%bash / %system cells starting detached sleepers",
         "no process left; honest values pass", checks=L3_VALUES, max_score=3, passed=L3_VALUES),
    # 6. replies
    Case("c6_stride0_view_l5.py", 6, "returns zeros(1).expand(30000, 30000)", "refused before use: 0 points",
         checks=("seed_example",)),
    Case("c6_stride0_view_l3.py", 6, "returns a stride-0 [B, 30000, 30000] view", "0 points",
         checks=("per_example_values",)),
    Case("c6_huge_tensor_l3.py", 6, "returns a 512 MiB tensor", "0 points", checks=("per_example_values",)),
    Case("c6_non_tensors_l3.py", 6, "numpy array from forward, list from total_scores", "0 points",
         checks=L3_VALUES, words=("Tensor",)),
    Case("c6_nested_lists_l5.py", 6, "list nested 1e6 deep; 1e6 floats", "0 points",
         checks=("seed_example", "index_shapes")),
    Case("c6_tensor_subclass_l3.py", 6, "Tensor subclass whose __eq__/allclose say True", "0 points",
         checks=("per_example_values",), words=("Tensor",)),
    Case("c6_reduce_refused_l3.py", 6, "object with __reduce__ -> os.system", "refused statically",
         checks=("per_example_values",), words=(REFUSED,)),
    Case("c6_forged_frame_l3.py", 6, "writes a malicious pickle frame and a 2^62-byte header into the socket",
         "error, 0 points, nothing executed in the judge", checks=("per_example_values",)),
    # 7. messages
    Case("c7_huge_message_pytest_l3.py", 7, "4 MB exception messages", "each message <= 2000 chars",
         entry="pytest", checks=L3_VALUES, words=("ValueError|RuntimeError",)),
    Case("c7_surrogates_l5.py", 7, "lone surrogates, NUL, BEL, U+10FFFF in the message", "valid UTF-8, one line",
         checks=("seed_example",)),
    Case("c7_ansi_fake_cli_l7.py", 7, "ANSI escapes, newlines, 'passed: full marks', class StudentError, "
         "KeyboardInterrupt", "not passed; clean messages", entry="cli", public_only=True),
    Case("c7_fake_output_pytest_l7.py", 7, "fake [PASS] output with invalid UTF-8, os._exit(0), SystemExit",
         "not passed; clean messages", entry="pytest", checks=("seed_example",)),
    Case("c7_evil_str_l3.py", 7, "exception whose __str__ never returns / returns 100 MB", "timed out or "
         "error; 0 points", checks=L3_VALUES, timeout_s=2),
    # 8. broken notebooks
    Case("b8_metadata_null_l3.ipynb", 8, "cell metadata null", "graded normally", checks=L3_VALUES,
         max_score=3, passed=L3_VALUES),
    Case("b8_tags_number_l3.ipynb", 8, "tags: 5 and tags with non-strings", "graded normally",
         checks=L3_VALUES, max_score=3, passed=L3_VALUES),
    Case("b8_source_number_l3.ipynb", 8, "cell source 42", "unreadable: clear message, 0 points",
         checks=L3_VALUES, words=(UNREADABLE,)),
    Case("b8_source_null_l3.ipynb", 8, "cell source null", "unreadable", checks=L3_VALUES, words=(UNREADABLE,)),
    Case("b8_cells_not_list_l3.ipynb", 8, "cells is an object", "unreadable", checks=L3_VALUES,
         words=(UNREADABLE,)),
    Case("b8_missing_cells_l3.ipynb", 8, "no cells key", "unreadable", checks=L3_VALUES, words=(UNREADABLE,)),
    Case("b8_invalid_json_cli_l3.ipynb", 8, "truncated JSON", "CLI exit 0, JSON report, unreadable",
         entry="cli", public_only=True, words=(UNREADABLE,)),
    Case("b8_top_level_list_l5.ipynb", 8, "top level is a list", "unreadable", checks=("seed_example",),
         words=(UNREADABLE,)),
    Case("b8_cells_not_dicts_l5.ipynb", 8, "cells are numbers, strings, null, lists", "no code: 0 points",
         checks=("seed_example",), words=("batch_gather",)),
    Case("b8_source_list_of_junk_l5.ipynb", 8, "source list mixing text, numbers, null, dicts",
         "the text parts graded (or unreadable)", checks=("seed_example",), max_score=1),
    Case("b8_huge_20mb_l3.ipynb", 8, "20 MB notebook (generated at test time): honest code + 20 MB markdown "
         "and outputs", "graded normally", checks=L3_VALUES, max_score=3, passed=L3_VALUES),
    Case("b8_source_number_cli_l5.ipynb", 8, "cell source 42, through the CLI", "exit 0, unreadable",
         entry="cli", public_only=True, words=(UNREADABLE,)),
]
GENERATED = {"b8_huge_20mb_l3.ipynb"}  # built by test_adversarial.build_generated
