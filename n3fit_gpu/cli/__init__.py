"""``n3fit-gpu``: the umbrella command (``n3fit-gpu fit`` is ``fit``, ``n3fit-gpu hyperscan``
is ``hyperscan``; ``n3fit-gpu closure`` judges closure fits, ``n3fit-gpu nextfit`` writes the
next runcard of an iterated fit)."""

import click

from n3fit_gpu.cli.closure import main as closure
from n3fit_gpu.cli.fit import main as fit
from n3fit_gpu.cli.hyperscan import main as hyperscan
from n3fit_gpu.cli.nextfit import main as nextfit


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Fit and scan ensembles of neural-network replicas stacked on one replica axis."""


main.add_command(fit, "fit")
main.add_command(hyperscan, "hyperscan")
main.add_command(closure, "closure")
main.add_command(nextfit, "nextfit")
