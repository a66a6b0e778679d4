"""scripts/run_tests.py, `make test`'s two halves: one exit code and one closing line for both."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MODULE_BUILDS, SERIAL_MODULES, SESSION_BUILDS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import run_tests

sys.path.pop(0)

FAILED, INTERRUPTED, NO_TESTS = 1, 2, run_tests.NO_TESTS_RAN


@pytest.mark.parametrize(
    ("codes", "narrowed", "expected"),
    [
        pytest.param([0, 0], False, 0, id="both-passed"),
        pytest.param([FAILED, 0], False, FAILED, id="parallel-failed"),
        pytest.param([0, FAILED], False, FAILED, id="serial-failed"),
        pytest.param([INTERRUPTED, FAILED], False, INTERRUPTED, id="the-first-failure"),
        pytest.param([NO_TESTS, FAILED], True, FAILED, id="no-tests-does-not-hide-a-failure"),
        pytest.param([0, NO_TESTS], True, 0, id="a-part-with-no-timing-test"),
        pytest.param([NO_TESTS, 0], True, 0, id="a-part-with-only-timing-tests"),
        pytest.param([NO_TESTS, NO_TESTS], True, NO_TESTS, id="nothing-ran"),
        pytest.param([0, NO_TESTS], False, FAILED, id="whole-suite-without-serial-tests"),
        pytest.param([NO_TESTS, 0], False, FAILED, id="whole-suite-without-parallel-tests"),
    ],
)
def test_the_exit_code_counts_both_halves_and_never_passes_on_nothing(codes, narrowed, expected):
    code, problem = run_tests.exit_code(codes, narrowed=narrowed)
    assert code == expected
    only_for_no_tests = code != 0 and all(c in (0, NO_TESTS) for c in codes)
    assert (problem is not None) == only_for_no_tests  # a failure pytest explained needs no word more


def test_the_closing_line_sums_the_halves_in_pytests_format():
    parallel = "=========== 1 failed, 570 passed, 2 skipped, 24 deselected, 1 warning in 101.23s (0:01:41) ==========="
    serial = "==================== 24 passed, 571 deselected, 2 warnings in 55.10s ===================="
    line = run_tests.summary_line([parallel, serial], 156.5)
    assert line.strip("=") == " 1 failed, 594 passed, 2 skipped, 3 warnings in 156.50s (0:02:36) "
    assert len(line) == 80
    assert run_tests.SUMMARY.match(line)  # what reads pytest's line reads this one


def test_a_half_without_tests_adds_nothing_and_a_run_without_any_says_so():
    halves = ["==== 3 passed in 1.00s ====", "==== 24 deselected in 0.50s ===="]
    assert run_tests.summary_line(halves, 2).strip("=") == " 3 passed in 2.00s "
    assert run_tests.summary_line([None, None], 1).strip("=") == " no tests ran in 1.00s "
    assert run_tests.summary_line(["= 1 error in 1.00s ="], 1).strip("=") == " 1 error in 1.00s "


def test_both_halves_run_and_their_output_is_passed_through(tmp_path, capfd, monkeypatch):
    """The real thing on a small suite: a failing parallel test, a passing serial one."""
    (tmp_path / "test_demo.py").write_text(
        "import pytest\n"
        "def test_fails():\n    assert False\n"
        "def test_passes():\n    pass\n"
        "@pytest.mark.serial\ndef test_timed():\n    pass\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    serial: alone\n")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # a quicker start: only the plugin it needs
    options = ["-p", "xdist.plugin", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    code = run_tests.main(["--workers", "2", *options, str(tmp_path)])
    out = capfd.readouterr().out
    assert code == FAILED
    assert re.search(r"=+ 1 failed, 1 passed in [\d.]+s =+", out)  # the parallel half's own line
    assert re.search(r"=+ 1 passed, 2 deselected in [\d.]+s =+", out)  # the serial half's
    assert out.rstrip().splitlines()[-1].strip("=").startswith(" 1 failed, 2 passed in ")


def test_every_test_of_a_serial_module_is_serial():
    """conftest.SERIAL_MODULES: new tests there run alone without being marked one by one."""
    root = Path(__file__).resolve().parent.parent
    modules = [f"tests/{name}.py" for name in SERIAL_MODULES]

    def collected(*options: str) -> list[str]:
        command = [str(Path(sys.executable).with_name("pytest")), "--collect-only", "-q", "-p", "no:cacheprovider"]
        result = subprocess.run([*command, *options, *modules], cwd=root, capture_output=True, text=True, check=False)
        return [line for line in result.stdout.splitlines() if "::" in line]

    every = collected()
    assert len(every) > 10
    assert collected("-m", "serial") == every
    assert collected("-m", "not serial") == []


def test_the_readers_of_one_build_share_one_worker(tmp_path, capfd, monkeypatch):
    """The parallel half's `--dist loadgroup` really groups (a pytest release once broke it silently), with the
    real rule: tests reading the same session build, or one parameter of a module's build, on one worker."""
    (tmp_path / "conftest.py").write_text(
        "import pytest\n"
        "from tests.conftest import pytest_collection_modifyitems  # noqa: F401 (the hook under test)\n"
        "@pytest.fixture(scope='session')\ndef duckdb_built():\n    pass\n"
        "@pytest.fixture(scope='module', params=['duckdb', 'postgres'])\ndef engine(request):\n    pass\n"
    )
    (tmp_path / "test_builds.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('n', range(8))\ndef test_reads_the_build(duckdb_built, n):\n    pass\n"
        "@pytest.mark.parametrize('n', range(8))\ndef test_needs_none(n):\n    pass\n"
    )
    (tmp_path / "test_dbt_edges.py").write_text(
        "import pytest\n@pytest.mark.parametrize('n', range(6))\ndef test_edge(engine, n):\n    pass\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    serial: alone\n")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    options = ["-p", "xdist.plugin", "-p", "no:cacheprovider", "-v", "--rootdir", str(tmp_path)]
    assert run_tests.main(["--workers", "3", *options, str(tmp_path)]) == 0
    ran = re.findall(r"\[(gw\d+)\].* PASSED \S+::(\w+)\[(\w+)", capfd.readouterr().out)
    workers: dict[tuple[str, str], set[str]] = {}
    for worker, test, param in ran:
        workers.setdefault((test, param if test == "test_edge" else ""), set()).add(worker)
    assert len(ran) == 28
    assert workers[("test_reads_the_build", "")] != workers[("test_needs_none", "")]
    for readers in [("test_reads_the_build", ""), ("test_edge", "duckdb"), ("test_edge", "postgres")]:
        assert len(workers[readers]) == 1, (readers, workers)


def test_every_build_fixture_is_grouped():
    """A build fixture (one named *built) left out of the groups is built once per worker that reads it: Spark's,
    forgotten, was built twice a run (about 200 s each). One that only hands on a session build is grouped by it."""
    tests = Path(__file__).resolve().parent
    found = {
        (path.stem, name, arguments)
        for path in tests.glob("*.py")
        for name, arguments in re.findall(r"^def (\w*built)\(([^)]*)\)", path.read_text(), flags=re.MULTILINE)
    }
    assert found, "no build fixture found: the pattern no longer matches"
    ungrouped = {
        (module, name)
        for module, name, arguments in found
        if name not in SESSION_BUILDS
        and MODULE_BUILDS.get(module) != name
        and not set(re.findall(r"\w+", arguments)) & set(SESSION_BUILDS)
    }
    assert ungrouped == set()
