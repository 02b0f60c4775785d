"""Complete an NNPDF-layout theory folder from a shipped theory of ours (same card and x grid).

Writes the shipped theory's positivity and integrability tables as PineAPPL FK tables under
nnpdf-data's names, and ``n3fit_gpu_evolution.json`` naming that theory's evolution (an
n3fit_gpu extension of NNPDF's layout, see ``n3fit_gpu/physics/nnpdf_export.py``)::

    python scripts/extend_nnpdf_folder.py            # theory_90000001 from n3fit_gpu_dis_nlo
    python scripts/extend_nnpdf_folder.py --folder DIR --theory NAME --groups positivity
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from n3fit_gpu.physics.nnpdf_export import GROUPS, write_evolution_link, write_observable_tables
from n3fit_gpu.physics.nnpdf_layout import N3FIT_GPU_THEORY_ID
from n3fit_gpu.physics.theory import SHIPPED_DIR, load_theory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, default=SHIPPED_DIR / f"theory_{N3FIT_GPU_THEORY_ID}"
    )
    parser.add_argument("--theory", default="n3fit_gpu_dis_nlo", help="a shipped theory")
    parser.add_argument("--groups", nargs="+", choices=GROUPS, default=GROUPS[1:])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    theory = load_theory(args.theory)
    for group in args.groups:
        paths = write_observable_tables(theory, args.folder, group)
        size = sum(p.stat().st_size for p in paths)
        print(f"{group}: {len(paths)} tables, {size / 1e3:.0f} kB")
    print(f"wrote {write_evolution_link(theory, args.folder)}")
    print(f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
