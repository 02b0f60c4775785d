"""Bad input to ``fit`` gives one line on stderr and exit code 2, never a traceback."""

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from n3fit_gpu.cli.errors import os_error_line
from n3fit_gpu.cli.fit import main

QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"


def run(args):
    """Exit code and stderr (where errors go; stdout says what runs, e.g. the theory)."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stderr.strip()


def card_with(tmp_path, old, new):
    text = QUICKSTART.read_text()
    assert old in text
    path = tmp_path / "card.yml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("epochs: 2000", "epochs: -5", "parameters.epochs"),
        ("epochs: 2000", "epochs: many", "parameters.epochs"),
        ("stopping_patience: 0.1", "stoping_patience: 0.1", "did you mean 'stopping_patience'"),
        ("description:", "description: !!python/object/apply:os.system ['true']\nx:", "tag"),
        ("theory: {theoryid: n3fit_gpu_dis_nlo}", "theory: {theoryid: n3fit_gpu_dis", "card.yml:"),
        ("theory: {theoryid: n3fit_gpu_dis_nlo}\n", "", "theory"),
        ("theoryid: n3fit_gpu_dis_nlo", "theoryid: 40000000", "no theory_40000000/ in"),
        ("{t0pdfset: null", "{t0pdfset: no/such/set", "datacuts.t0pdfset: no LHAPDF set at"),
    ],
)
def test_bad_runcards_give_one_line(tmp_path, old, new, expected):
    code, out = run([card_with(tmp_path, old, new), "-o", tmp_path / "out"])
    assert code == 2
    assert len(out.splitlines()) == 1 and out.startswith("error: ")
    assert expected in out
    assert "Traceback" not in out


def test_missing_runcard(tmp_path):
    code, out = run([tmp_path / "nope.yml"])
    assert code == 2 and "nope.yml" in out and len(out.splitlines()) == 1


def test_unknown_dataset_suggests_close_names(tmp_path):
    path = card_with(tmp_path, "HERA_CC_318GEV_EP-SIGMARED", "HERA_CC_318GEV_EP-SIGMARD")
    code, out = run([path, "-o", tmp_path / "out"])
    assert code == 2 and "HERA_CC_318GEV_EP-SIGMARED" in out.split("SIGMARD", 1)[1]


def test_missing_theory_folder(tmp_path):
    code, out = run([QUICKSTART, "-o", tmp_path / "out", "--theory", tmp_path / "missing"])
    assert code == 2 and "missing" in out and len(out.splitlines()) == 1


def test_help_teaches():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "Examples:" in result.output and "--resume" in result.output


@pytest.mark.parametrize("kind", ["output_is_a_file", "read_only_output"])
def test_filesystem_errors_give_one_line(tmp_path, kind):
    if kind == "output_is_a_file":
        output = tmp_path / "taken"
        output.write_text("not a folder")
        expected = "is a file, not a folder; choose another --output"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        output = tmp_path / "ro"
        output.mkdir(mode=0o555)
        expected = "is not writable; choose another --output"
    code, out = run([QUICKSTART, "-o", output / "sub", "-q"])
    assert code == 2 and len(out.splitlines()) == 1 and out.startswith("error: "), out
    assert expected in out and "Traceback" not in out


@pytest.mark.parametrize(
    "code, expected",
    [
        (errno.EROFS, "Read-only file system at /out/fit; write elsewhere (--output)"),
        (errno.ENOSPC, "No space left on device at /out/fit; free some space"),
        (errno.EIO, "Input/output error at /out/fit; check the path"),
    ],
)
def test_os_errors_name_the_path_and_the_fix(code, expected):
    assert os_error_line(OSError(code, os.strerror(code), "/out/fit")).startswith(expected)
