"""scripts/gpu_check.py on the CPU: checks run, a failing one is reported without stopping
the others, and the exit status says so."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_checks_run_and_a_failure_hides_nothing(tmp_path, capsys):
    gc = _load()

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
    gc = _load()
    out = tmp_path / "rows.json"
    assert gc.main(["--device", "cpu", "--budget", "-1", "--only", "environment,swap", "--json", str(out)]) == 0
    assert [r["status"] for r in json.loads(out.read_text())["rows"]] == ["skip", "skip"]
