"""The ``n3fit-gpu nextfit`` command."""

from __future__ import annotations

from pathlib import Path

import click

from n3fit_gpu.cli.errors import one_line_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("fit", type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="The runcard to write (YAML).",
)
@click.option("--keep-t0", is_flag=True, help="Keep the fit's t0 PDF instead of its own.")
@one_line_errors
def main(fit, output, keep_t0):
    """Write the runcard of the next fit of NNPDF's iteration from the finished FIT folder.

    The fit's runcard with, for every fitted flavour, the preprocessing ranges that its
    replicas' effective exponents call for (as validphys' vp-nextfitruncard:
    α_eff = ln|f| / ln(1/x) at x = 1e-6 and 1e-3, β_eff = ln|f| / ln(1-x) at x = 0.65 and 0.95,
    twice their 68% interval around the mean; α ≤ 2, β ≥ 0), and the fit's own LHAPDF set as
    t0 PDF. Refit with it until the ranges stop moving. The runcard's comments are not kept.

    \b
    Example:
      fit runcards/nnpdf40_dis.yml
      n3fit-gpu nextfit output/nnpdf40_dis -o nnpdf40_dis_iter1.yml
      fit nnpdf40_dis_iter1.yml
    """
    from n3fit_gpu.atomic import atomic_write_text
    from n3fit_gpu.outputs.next_runcard import format_changes, next_fit

    result = next_fit(fit, keep_t0)
    atomic_write_text(output, result.text)
    click.echo(format_changes(result))
    click.echo(f"wrote {output}")
