"""``n3fit-gpu``: the umbrella command (``n3fit-gpu fit`` is the same as ``fit``)."""

import click

from n3fit_gpu.cli.fit import main as fit


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Fit and scan ensembles of neural-network replicas stacked on one replica axis."""


main.add_command(fit, "fit")
