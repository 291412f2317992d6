"""The ``scratchgen`` command (also ``python -m scratchgen``)."""

import argparse
import platform
import sys


def cmd_demo(args):
    from scratchgen import demo

    demo.run(steps=args.steps, out=args.out, seed=args.seed)


def cmd_info(args):
    import numpy

    import scratchgen as sg
    from scratchgen import backend

    print(f"scratchgen {sg.__version__}")
    print(f"python {platform.python_version()}, numpy {numpy.__version__}")
    if backend.cupy is None:
        print("cupy: not installed (pip install 'scratchgen[gpu]' on a machine with a GPU)")
    else:
        print(f"cupy: {backend.cupy.__version__}")
    print(f"cuda available: {sg.cuda.is_available()} ({sg.cuda.device_count()} GPU(s))")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="scratchgen", description="Generative models built from scratch on NumPy/CuPy."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="fit a small network with the engine, gradcheck shown")
    demo.add_argument("--steps", type=int, default=2000, help="gradient steps (default 2000)")
    demo.add_argument("--out", default="demo_fit.png", help="where to save the picture")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=cmd_demo)

    info = commands.add_parser("info", help="version, backends, whether a GPU is usable")
    info.set_defaults(run=cmd_info)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
