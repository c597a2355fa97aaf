"""scripts/gpu_check.py on the CPU: checks run, a failing one is reported without stopping
the others, and the exit status says so."""

import json

from tests.conftest import load_script


def test_checks_run_and_a_failure_hides_nothing(tmp_path, capsys):
    gc = load_script("gpu_check")

    def check_broken(ctx):
        raise RuntimeError("boom")

    gc.CHECKS.insert(1, check_broken)
    out = tmp_path / "rows.json"
    code = gc.main(["--device", "cpu", "--only", "environment,broken,generate_exact,mix_video,swap", "--json", str(out),
                    "--workdir", str(tmp_path / "work")])
    rows = {r["check"]: r for r in json.loads(out.read_text())["rows"]}
    assert code == 1 and list(rows) == ["environment", "broken", "generate_exact", "mix_video", "swap"]
    assert rows["broken"]["status"] == "FAIL" and "boom" in rows["broken"]["detail"]
    assert rows["generate_exact"]["status"] == rows["mix_video"]["status"] == rows["swap"]["status"] == "ok"
    assert "max 0/255" in rows["generate_exact"]["detail"]
    assert "| broken" in capsys.readouterr().out
    assert (tmp_path / "work" / "broken.traceback.txt").exists()


def test_budget_skips_instead_of_running(tmp_path):
    gc = load_script("gpu_check")
    out = tmp_path / "rows.json"
    assert gc.main(["--device", "cpu", "--budget", "-1", "--only", "environment,swap", "--json", str(out)]) == 0
    assert [r["status"] for r in json.loads(out.read_text())["rows"]] == ["skip", "skip"]
