"""``python -m hglm`` (or ``hglm``): fit the sleepstudy model and print its summary."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hglm", description=__doc__)
    parser.add_argument("command", nargs="?", default="demo", choices=["demo"],
                        help="demo: fit Reaction ~ Days + (Days | Subject) to sleepstudy")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    import hglm

    data = hglm.datasets.load("sleepstudy")
    model = hglm.Model("Reaction ~ Days + (Days | Subject)", data=data, family="gaussian")
    print(model)
    print(model.priors.to_string(index=False), end="\n\n")
    fit = model.fit(draws=args.draws, tune=args.draws, chains=args.chains, seed=args.seed)
    print(fit.summary())
    return 1 if fit.diagnostics.problems(fit.settings.target_accept) else 0


if __name__ == "__main__":
    sys.exit(main())
