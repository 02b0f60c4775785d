"""Reading runcard files: missing, empty, not YAML, not a mapping, unsafe tags."""

import pytest

from n3fit_gpu.config import RunCardNotFoundError, load_runcard, parse_runcard
from n3fit_gpu.errors import N3fitError, RunCardError
from tests.config.helpers import QUICKSTART, edit, error_of


def test_missing_file_is_a_runcard_and_file_not_found_error(tmp_path):
    path = tmp_path / "nope.yml"
    with pytest.raises(RunCardNotFoundError) as caught:
        load_runcard(path)
    assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, N3fitError)
    assert str(caught.value) == f"{path}: no such runcard file; check the path"


def test_directory_is_refused(tmp_path):
    with pytest.raises(RunCardError, match="is a directory"):
        load_runcard(tmp_path)


def test_load_names_the_path_in_errors(tmp_path):
    path = tmp_path / "fit.yml"
    path.write_text(edit(QUICKSTART, "epochs: 2000", "epochs: 0"))
    with pytest.raises(RunCardError, match=rf"^{path}:\d+ parameters.epochs: must be > 0"):
        load_runcard(str(path))


def test_not_utf8(tmp_path):
    path = tmp_path / "fit.yml"
    path.write_bytes(b"description: caf\xe9\n")
    with pytest.raises(RunCardError, match="not UTF-8"):
        load_runcard(path)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(text):
    assert error_of(text, "e.yml").startswith(
        "e.yml: the file is empty; a runcard is a YAML mapping"
    )


@pytest.mark.parametrize(
    ("text", "got"), [("- a\n- b\n", "got a list"), ("just words\n", "got the value 'just words'")]
)
def test_not_a_mapping(text, got):
    message = error_of(text, "m.yml")
    assert message.startswith("m.yml:1 a runcard is a YAML mapping")
    assert message.endswith(got)


def test_unreadable_yaml_names_line_and_column():
    text = edit(QUICKSTART, "debug: false", "debug: [false")
    message = error_of(text)
    assert message.startswith("runcard.yml:")
    line, column = message.split()[0].split(":")[1:3]
    assert int(line) >= QUICKSTART.splitlines().index("debug: false") + 1
    assert int(column) >= 1
    assert "unreadable YAML: expected ',' or ']'" in message


def test_bad_indentation():
    message = error_of("parameters:\n  epochs: 10\n bad: 1\n", "i.yml")
    assert message.startswith("i.yml:3:2 unreadable YAML:")


def test_several_documents_are_refused():
    assert "unreadable YAML" in error_of("a: 1\n---\nb: 2\n")


@pytest.mark.parametrize(
    "tag", ["!!python/object/apply:os.system", "!!python/object/apply:subprocess.call"]
)
def test_python_tags_are_refused_and_never_run(tmp_path, tag):
    marker = tmp_path / "ran"
    argument = f'["touch {marker}"]' if tag.endswith("system") else f'[["touch", "{marker}"]]'
    text = edit(QUICKSTART, "description:", f"unsafe: {tag} {argument}\ndescription:")
    message = error_of(text)
    assert not marker.exists()
    assert message.startswith("runcard.yml:4:9 refused YAML tag:")
    assert "python/object/apply" in message
    assert message.endswith("(runcards are plain data; remove the tag)")


def test_python_name_tag_is_refused():
    assert "refused YAML tag" in error_of("description: !!python/name:os.system ''\n")


def test_parse_accepts_the_same_text_as_load(tmp_path):
    path = tmp_path / "q.yml"
    path.write_text(QUICKSTART)
    assert load_runcard(path) == parse_runcard(QUICKSTART, "q.yml")


def test_merge_keys_are_not_mistaken_for_duplicates():
    anchored = "theory_defaults: &t {theoryid: n3fit_gpu_dis_nlo}\n"
    text = edit(
        QUICKSTART, "theory: {theoryid: n3fit_gpu_dis_nlo}", "theory:\n  <<: *t\n  theoryid: 7"
    )
    message = error_of(anchored + text)
    # the anchor block itself is an unknown key, but nothing is reported twice
    assert message.startswith("runcard.yml:1 theory_defaults: unknown key 'theory_defaults'")
    assert "given twice" not in message


def test_yaml_dates_in_text_fields_get_a_quoting_hint():
    text = edit(
        QUICKSTART,
        "description: Quick-start DIS fit (10 replicas, 2000 epochs)",
        "description: 2024-01-01",
    )
    assert "description: must be text; got 2024-01-01 (put it in quotes)" in error_of(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: &a [*a]\n", "runcard.yml:1 a YAML alias refers to a block that contains it"),
        ("a: &a {b: *a}\n", "runcard.yml:1 a YAML alias refers to a block that contains it"),
        (  # "billion laughs": 10^9 values after 8 levels of ten aliases each
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
            ),
            "more than 100,000 values once its YAML aliases are expanded",
        ),
        ("description: a\x00b\n", "character U+0000 at position 14 is not allowed in YAML"),
        ("a: " + "x" * 1_000_001, "a runcard is at most 1,000,000"),
    ],
)
def test_hostile_yaml_is_refused_at_once_in_one_line(text, expected):
    """Bounded reading: none of these may hang, eat memory or print a traceback."""
    message = error_of(text)
    assert expected in message and len(message.splitlines()) == 1, message


def test_an_alias_used_many_times_within_bounds_is_fine():
    anchored = "positivity_defaults: &p {maxlambda: 1.0e+6}\n"
    message = error_of(anchored + edit(QUICKSTART, "debug: false", "debug: false\nx: [*p, *p]"))
    assert "unknown key" in message and "alias" not in message
