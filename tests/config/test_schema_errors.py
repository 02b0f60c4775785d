"""Each mistake gives one line naming the file, the line, the key path and the fix."""

import pytest

from n3fit_gpu.config import RunCardValidationError, parse_runcard
from tests.config.helpers import QUICKSTART, SCAN, edit, error_of, line_of


def test_range_error_names_file_line_key_value_and_hint():
    text = edit(QUICKSTART, "stopping_patience: 0.1", "stopping_patience: 1.5")
    line = line_of(text, "stopping_patience")
    assert error_of(text, "cards/fit.yml") == (
        f"cards/fit.yml:{line} parameters.stopping_patience: must be ≤ 1; got 1.5 "
        "(a fraction of epochs)"
    )


def test_missing_required_key_names_the_block_that_lacks_it():
    text = edit(QUICKSTART, "  epochs: 2000", "  # no epochs")
    message = error_of(text)
    assert message.startswith(f"runcard.yml:{line_of(text, 'parameters:')} parameters.epochs:")
    assert "missing required key" in message


def test_missing_top_level_block():
    text = edit(QUICKSTART, "theory: {theoryid: n3fit_gpu_dis_nlo}", "")
    assert "theory: missing required key (e.g. theory: {theoryid: n3fit_gpu_dis_nlo})" in error_of(
        text
    )


def test_wrong_type():
    text = edit(QUICKSTART, "theoryid: n3fit_gpu_dis_nlo", "theoryid: [1]")
    message = error_of(text)
    assert message.startswith(f"runcard.yml:{line_of(text, 'theoryid')} theory.theoryid:")
    assert "(an installed theory, e.g. n3fit_gpu_dis_nlo" in message


def test_block_given_as_a_list():
    text = edit(QUICKSTART, "datacuts: {t0pdfset: null, q2min: 3.49, w2min: 12.5}", "datacuts: [1]")
    assert f":{line_of(text, 'datacuts')} datacuts: must be a block of keys" in error_of(text)


@pytest.mark.parametrize("epochs", ["-5", "0"])
def test_non_positive_epochs(epochs):
    text = edit(QUICKSTART, "epochs: 2000", f"epochs: {epochs}")
    message = error_of(text)
    assert f":{line_of(text, 'epochs:')} parameters.epochs: must be > 0; got {epochs}" in message


def test_exponent_written_integer_gets_a_rewrite_hint():
    text = edit(QUICKSTART, "epochs: 2000", "epochs: 1e4")
    assert "parameters.epochs: must be a whole number; got '1e4' (write it as 10000)" in error_of(
        text
    )


def test_misspelt_key_gets_a_suggestion():
    text = edit(QUICKSTART, "stopping_patience: 0.1", "stoping_patience: 0.1")
    assert error_of(text) == (
        f"runcard.yml:{line_of(text, 'stoping_patience')} parameters.stoping_patience: "
        "unknown key 'stoping_patience' — did you mean 'stopping_patience'?"
    )


def test_misspelt_key_is_reported_before_the_key_it_misses():
    text = edit(QUICKSTART, "{dataset: BCDMS", "{datset: BCDMS")
    message = error_of(text)
    assert "dataset_inputs[0].datset: unknown key 'datset' — did you mean 'dataset'?" in message
    assert message.endswith("(+1 more)")


def test_unknown_key_without_a_close_match_lists_the_allowed_ones():
    message = error_of(edit(QUICKSTART, "debug: false", "colour: blue"))
    assert "colour: unknown key 'colour'; allowed here: description, dataset_inputs," in message


def test_nnpdf_key_we_do_not_support_is_named_as_such():
    message = error_of(edit(QUICKSTART, "debug: false", "tensorboard: {weight_freq: 10}"))
    assert "'tensorboard' is an NNPDF runcard key that n3fit_gpu does not support" in message


def test_list_items_are_located_by_index_and_line():
    old = "HERA_NC_318GEV_EM-SIGMARED, variant: legacy, frac: 0.75"
    text = edit(QUICKSTART, old, old.replace("0.75", "1.2"))
    line = line_of(text, "frac: 1.2")
    assert f"runcard.yml:{line} dataset_inputs[3].frac: must be ≤ 1; got 1.2" in error_of(text)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "optimizer_name: Adam",
            "optimizer_name: Adamm",
            "parameters.optimizer.optimizer_name: unknown optimizer; got 'Adamm' "
            "(did you mean 'Adam'? use one of SGD, Adam, Nadam, RMSprop, Adadelta, Amsgrad)",
        ),
        (
            "[tanh, tanh, linear]",
            "[tanh, tahn, linear]",
            "parameters.activation_per_layer[1]: unknown activation; got 'tahn' "
            "(did you mean 'tanh'?",
        ),
        (
            "initializer: glorot_normal",
            "initializer: xavier",
            "parameters.initializer: unknown initializer; got 'xavier' (use one of glorot_normal",
        ),
        ("layer_type: dense", "layer_type: dense_per_flavour", "parameters.layer_type: unknown"),
        ("backend: null", "backend: pytorch", "backend: unknown backend; got 'pytorch'"),
    ],
)
def test_unknown_names(old, new, expected):
    text = edit(QUICKSTART, old, new)
    message = error_of(text)
    assert message.startswith(f"runcard.yml:{line_of(text, new)} ")
    assert expected in message


def test_one_activation_per_layer():
    text = edit(QUICKSTART, "[tanh, tanh, linear]", "[tanh, linear]")
    assert (
        "parameters.activation_per_layer: must have one entry per layer: 3, as nodes_per_layer; "
        "got ['tanh', 'linear']"
    ) in error_of(text)


def test_last_layer_is_one_unit_per_flavour():
    text = edit(QUICKSTART, "[25, 20, 8]", "[25, 20, 9]")
    message = error_of(text)
    assert f":{line_of(text, '[25, 20, 9]')} parameters.nodes_per_layer[2]: the last" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "smallx: [1.089, 1.119]",
            "smallx: [1.119, 1.089]",
            "fitting.basis[0].smallx: must be ordered",
        ),
        (
            "largex: [2.814, 5.669]",
            "largex: [2.814]",
            "fitting.basis[1].largex: must be a [min, max]",
        ),
        (
            "{fl: g, trainable: false, smallx: [0.7504",
            "{fl: sng, trainable: false, smallx: [0.7504",
            "fitting.basis[1].fl: flavour listed twice; got 'sng'",
        ),
        ("{fl: t15,", "{fl: t16,", "fitting.basis[7].fl: unknown EVOL flavour; got 't16'"),
        (
            "fitbasis: EVOL",
            "fitbasis: FLAVOUR",
            "fitting.fitbasis: fitting basis not supported yet",
        ),
        (
            "sum_rules: ALL",
            "sum_rules: TSR",
            "fitting.sum_rules: unknown sum-rule choice; got 'TSR'",
        ),
    ],
)
def test_fitting_block(old, new, expected):
    text = edit(QUICKSTART, old, new)
    message = error_of(text)
    assert message.startswith(f"runcard.yml:{line_of(text, new)} ")
    assert expected in message


def test_basis_missing_a_flavour():
    text = edit(
        QUICKSTART,
        "  - {fl: t15, trainable: false, smallx: [1.089, 1.141], largex: [1.492, 3.222]}\n",
        "",
    )
    assert "fitting.basis: missing flavour(s) t15" in error_of(text)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("0", "must hold whole numbers ≥ 1; got 0"),
        ("[7, 3]", "[first, last] must have first ≤ last; got [7, 3]"),
        ("[1, 1, 3]", "lists a replica twice"),
        ("[]", "must hold whole numbers ≥ 1"),
        ("many", "must be a number of replicas or a list; got 'many'"),
        ("true", "must be a number of replicas or a list; got true"),
    ],
)
def test_bad_replicas(written, expected):
    text = edit(QUICKSTART, "replicas: 10", f"replicas: {written}")
    message = error_of(text)
    assert message.startswith(f"runcard.yml:{line_of(text, 'replicas:')} replicas: ")
    assert expected in message


def test_duplicated_dataset():
    text = edit(
        QUICKSTART, "{dataset: NMC_NC_NOTFIXED_EM-F2,", "{dataset: BCDMS_NC_NOTFIXED_P_EM-F2,"
    )
    assert "dataset_inputs[2].dataset: dataset listed twice" in error_of(text)


def test_noise_without_fake_data():
    text = edit(QUICKSTART, "debug: false", "closuretest: {fakenoise: true}")
    assert "closuretest.fakenoise: needs fakedata: true" in error_of(text)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "min_epochs: 100, max_epochs: 1000",
            "min_epochs: 5000, max_epochs: 1000",
            "hyperscan_config.stopping.min_epochs: must be ≤ max_epochs (1000); got 5000",
        ),
        (
            "min_patience: 0.1, max_patience: 0.3",
            "min_patience: 0.5, max_patience: 0.3",
            "hyperscan_config.stopping.min_patience: must be ≤ max_patience (0.3); got 0.5",
        ),
        (
            "min_initial: 1, max_initial: 100",
            "min_initial: 1000, max_initial: 100",
            "hyperscan_config.positivity.min_initial: must be ≤ max_initial (100); got 1000",
        ),
        (
            "min_units: 5",
            "min_units: 500",
            "hyperscan_config.architecture.min_units: must be ≤ max_units (50); got 500",
        ),
        (
            "learning_rate: [1.0e-4, 1.0e-2], clipnorm",
            "learning_rate: [1.0e-2, 1.0e-4], clipnorm",
            "hyperscan_config.optimizer[0].learning_rate: must be ordered [min, max]",
        ),
        (
            "max_multiplier: 1.1, ",
            "",
            "hyperscan_config.positivity.max_multiplier: set both min_multiplier and "
            "max_multiplier, or neither",
        ),
        (
            "{optimizer_name: nadam,",
            "{optimizer_name: adamw,",
            "hyperscan_config.optimizer[1].optimizer_name: unknown optimizer; got 'adamw'",
        ),
        (
            "activations: [tanh, sigmoid]",
            "activations: [tanh, sigmoidal]",
            "hyperscan_config.architecture.activations[1]: unknown activation",
        ),
        (
            "replica_statistic: average_best",
            "replica_statistic: median",
            "kfold.replica_statistic: unknown statistic; got 'median'",
        ),
        ("loss_type: chi2", "loss_type: chi3", "kfold.loss_type: unknown loss type; got 'chi3'"),
        (
            "penalties: [saturation, patience, integrability]",
            "penalties: [saturation, patients]",
            "kfold.penalties[1]: unknown penalty; got 'patients' (did you mean 'patience'?",
        ),
    ],
)
def test_scan_blocks(old, new, expected):
    text = edit(SCAN, old, new)
    message = error_of(text)
    assert message.startswith(f"runcard.yml:{line_of(text, new or 'positivity: {min_')} ")
    assert expected in message


def test_fold_dataset_must_be_fitted():
    text = edit(
        SCAN, "- datasets: [HERA_NC_318GEV_EP-SIGMARED]", "- datasets: [HERA_NC_318GEV_EP-SIGMARD]"
    )
    assert error_of(text) == (
        f"runcard.yml:{line_of(text, 'SIGMARD]')} kfold.partitions[1].datasets[0]: not in "
        "dataset_inputs; got 'HERA_NC_318GEV_EP-SIGMARD' "
        "(did you mean 'HERA_NC_318GEV_EP-SIGMARED'?)"
    )


def test_several_errors_report_the_first_by_line_and_keep_all():
    text = edit(QUICKSTART, "epochs: 2000", "epochs: -1")
    text = edit(text, "trvlseed: 591866982", "trvlseed: -3")
    text = edit(text, "dropout: 0.0", "dropout: 2")
    with pytest.raises(RunCardValidationError) as caught:
        parse_runcard(text, "runcard.yml")
    errors = caught.value.errors
    assert [e.path for e in errors] == ["trvlseed", "parameters.epochs", "parameters.dropout"]
    assert [e.line for e in errors] == sorted(e.line for e in errors)
    assert str(caught.value) == f"{errors[0]} (+2 more)"
    assert str(errors[0]).startswith(
        f"runcard.yml:{line_of(text, 'trvlseed')} trvlseed: must be ≥ 0"
    )


def test_duplicate_key_is_refused_not_silently_overwritten():
    text = edit(QUICKSTART, "debug: false", "debug: false\ndebug: true")
    assert error_of(text) == (
        f"runcard.yml:{line_of(text, 'debug: true')} debug: key given twice "
        f"(first at line {line_of(text, 'debug: false')}); keep one"
    )


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("dropout: 0.0", "dropout: 0.2", "parameters.dropout"),
        ("max_drop: 0.0", "max_drop: 0.1", "hyperscan_config.architecture.max_drop"),
    ],
)
def test_dropout_is_refused_until_implemented(old, new, key):
    text = edit(SCAN, old, new)
    assert error_of(text) == (
        f"runcard.yml:{line_of(text, new)} {key}: dropout is not implemented yet; got "
        f"{new.split(': ')[1]} (set 0; a silently ignored rate would mislead a fit or a scan)"
    )
