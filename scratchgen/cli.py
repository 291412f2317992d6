"""The ``scratchgen`` command (also ``python -m scratchgen``).

scratchgen train classifier            train a model family, progress bar, run folder
scratchgen sample runs/vae --n 64 --out vae.png
scratchgen eval runs/classifier        the family's metrics, also in RUN/metrics.json
scratchgen retrieve runs/clip "a thick seven leaning right" --k 16 --out q.png
scratchgen eval runs/cyclegan --baseline runs/dae   (a baseline run scored beside it)
scratchgen info | gradcheck | bench | demo
"""

import argparse
import glob
import inspect
import json
import os
import platform
import subprocess
import sys

import numpy


class CommandError(Exception):
    """A user error (a missing folder, a bad option): printed as one line, exit code 2."""


SETTING_TYPES = {  # a setting's default's type -> (the JSON types its value may have, in words)
    bool: ((bool,), "true or false"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
}
ANY_JSON = "a JSON value such as 3, 0.5, true or null"


# -- train ----------------------------------------------------------------------------------
def cmd_train(args):
    import scratchgen as sg
    from scratchgen import models
    from scratchgen.train import Trainer

    if args.resume and not args.out:
        raise CommandError("train: --resume needs --out RUN, the run folder to continue")
    out = args.out or next_run_dir(args.model)
    sg.manual_seed(args.seed)
    config = parse_settings(args.set, setting_defaults(args.model))
    if args.lr is not None:
        config["lr"] = args.lr
    if args.resume:
        run_config = read_run_config(out)
        if run_config["model"] != args.model:
            raise CommandError(f"train: {out!r} holds a {run_config['model']!r} run")
        config = run_config["config"]
    try:
        model = models.build(args.model, **config).to(args.device)
    except ValueError as error:
        raise CommandError(f"train: {error}") from None
    print(f"run folder: {out}")
    try:
        trainer = Trainer(
            model,
            out,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            steps=args.steps,
            resume=args.resume,
            progress=not args.no_progress,
        )
    except FileNotFoundError as error:  # --resume without a checkpoint
        raise CommandError(str(error)) from None
    trainer.fit()
    if trainer.finished():
        for picture in sorted(glob.glob(os.path.join(out, "*.png"))):
            print(f"wrote {picture}")
        print(f"done: scratchgen eval {out}")


def setting_defaults(model_name):
    """{setting: its default} of a model family, read from its constructor."""
    from scratchgen import models

    parameters = inspect.signature(models.family(model_name).__init__).parameters
    return {key: parameter.default for key, parameter in parameters.items() if key != "self"}


def parse_settings(settings, defaults):
    """["beta=0.5", "exclude=3"] -> {"beta": 0.5, "exclude": 3}, each value read as the type of
    its default in ``defaults`` (text as is; JSON otherwise). Names not in ``defaults`` keep
    their text: ``models.build`` rejects them with the list of settings."""
    config = {}
    for setting in settings or []:
        key, equals, text = setting.partition("=")
        if not equals or not key:
            raise CommandError(f"train: --set expects KEY=VALUE, got {setting!r}")
        config[key] = setting_value(setting, defaults[key]) if key in defaults else text
    return config


def setting_value(setting, default):
    """The value of "KEY=TEXT" for a setting whose default is ``default``: the text itself for
    a text setting; else JSON, of the default's type (an int is a number too)."""
    text = setting.partition("=")[2]
    if isinstance(default, str):
        return text
    types, expected = SETTING_TYPES.get(type(default), (None, ANY_JSON))
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise CommandError(f"train: --set {setting}: expected {expected}") from None
    if types is None:
        return value
    if type(value) not in types:
        raise CommandError(f"train: --set {setting}: expected {expected}")
    return type(default)(value)


def next_run_dir(model_name):
    """runs/NAME, or runs/NAME-2, -3 ... when that folder already holds a run."""
    candidate, number = os.path.join("runs", model_name), 1
    while os.path.exists(os.path.join(candidate, "config.json")):
        number += 1
        candidate = os.path.join("runs", f"{model_name}-{number}")
    return candidate


def read_run_config(run_dir):
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        raise CommandError(f"no run in {run_dir!r} (no config.json)")
    with open(path) as file:
        return json.load(file)


def load_run(run_dir, device):
    from scratchgen import models

    read_run_config(run_dir)
    try:
        return models.load(run_dir, device=device)
    except FileNotFoundError as error:
        raise CommandError(str(error)) from None


# -- sample and eval ------------------------------------------------------------------------
def cmd_sample(args):
    from scratchgen.viz import image_grid

    model = load_run(args.run, args.device)
    if not model.generative:
        raise CommandError(f"sample: model {model.name!r} is not generative; it has no samples")
    labels = sample_labels(model, args.n, args.labels)
    stem = output_stem(args.out)
    options = sampling_options(model, args)
    try:
        images = model.sample(args.n, labels=labels, **options)
    except ValueError as error:
        if not options:
            raise
        raise CommandError(str(error)) from None
    arrays = {"images": images.astype(numpy.float32)}
    if labels is not None:
        arrays["labels"] = labels.astype(numpy.int64)
    numpy.savez(stem + ".npz", **arrays)
    image_grid(images, stem + ".png")
    print(f"wrote {stem}.png and {stem}.npz")


SAMPLING_OPTIONS = ("steps", "eta", "guidance", "sampler")  # --steps S, --eta, --guidance W


def sampling_options(model, args):
    """{option: value} of the --steps / --eta / --guidance / --sampler given, each only for a model
    whose ``sample`` takes it (a diffusion model); a one-line error for any other."""
    accepted = inspect.signature(model.sample).parameters
    options = {}
    for name in SAMPLING_OPTIONS:
        value = getattr(args, name)
        if value is None:
            continue
        if name not in accepted:
            raise CommandError(f"sample: --{name}: model {model.name!r} takes no {name}")
        options[name] = value
    return options


def sample_labels(model, n, requested):
    """The n labels to draw for: ``requested`` (--labels) repeated to fill n, or the model's
    own mix when none are requested; None for an unconditional model."""
    if not getattr(model, "conditional", False):
        if requested is not None:
            raise CommandError(
                f"sample: --labels: model {model.name!r} is not conditional; it takes no labels"
            )
        return None
    labels = None if requested is None else numpy.resize(numpy.array(requested), n)
    try:
        return model.check_labels(n, labels)
    except ValueError as error:
        reason = str(error).removeprefix("sample: ")
        raise CommandError(f"sample: --labels {' '.join(map(str, requested))}: {reason}") from None


def output_stem(path):
    """--out x.png, x.npz or x -> x: the grid goes to x.png, the arrays to x.npz."""
    check_out_folder("sample", path)
    stem, extension = os.path.splitext(path)
    return stem if extension in (".png", ".npz") else path


def check_out_folder(command, path):
    """A one-line error when the folder that --out writes into does not exist."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise CommandError(f"{command}: --out {path}: no folder {folder!r}")


def cmd_eval(args):
    from scratchgen import evaluation

    model = load_run(args.run, args.device)
    baseline = None if args.baseline is None else load_run(args.baseline, args.device)
    try:
        metrics = evaluation.evaluate(model, baseline=baseline)
    except ValueError as error:
        if baseline is None:
            raise
        raise CommandError(f"eval: --baseline {args.baseline}: {error}") from None
    for name, value in metrics.items():
        print(f"{name:>24}: {format_metric(value)}")
    path = os.path.join(args.run, "metrics.json")
    with open(path, "w") as file:
        json.dump(metrics, file, indent=2)
    print(f"wrote {path}")
    for figure in evaluation.figures(model, args.run):
        print(f"wrote {figure}")


def cmd_retrieve(args):
    from scratchgen.evaluation import clip

    model = load_run(args.run, args.device)
    if model.name != "clip":
        raise CommandError(f"retrieve: {args.run!r} holds a {model.name!r} run, not a clip run")
    check_out_folder("retrieve", args.out)
    try:
        images, scores = clip.CLIPReport(model).retrieve([args.query], args.k)[0]
    except ValueError as error:
        raise CommandError(f"retrieve: {error}") from None
    clip.retrieval_figure([args.query], [images], [scores], args.out)
    print(f"wrote {args.out}: the {len(images)} test digits closest to {args.query!r}")


def format_metric(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_metric(item) for item in value) + "]"
    return str(value)


# -- study aids and tools -------------------------------------------------------------------
def cmd_gradcheck(args):
    from scratchgen import opcheck

    try:
        rows = opcheck.run(names=args.op, device=args.device)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(opcheck.format_table(rows))
    return 0 if all(row.passed for row in rows) else 1


def cmd_bench(args):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isdir(os.path.join(root, "benchmarks")):
        raise CommandError(
            "bench: the benchmarks/ folder comes with the source checkout; "
            "clone the repository and install it with `pip install -e .`"
        )
    suites = ["engine", "conv", "models"] if args.suite == "all" else [args.suite]
    for suite in suites:
        command = [
            sys.executable,
            "-m",
            f"benchmarks.bench_{suite}",
            "--repeats",
            str(args.repeats),
        ]
        print("$ " + " ".join(command[1:]), flush=True)
        subprocess.run(command, cwd=root, check=True)


def cmd_demo(args):
    from scratchgen import demo

    check_out_folder("demo", args.out)
    demo.run(steps=args.steps, out=args.out, seed=args.seed)


def cmd_info(args):
    import scratchgen as sg
    from scratchgen import backend, models

    print(f"scratchgen {sg.__version__}")
    print(f"python {platform.python_version()}, numpy {numpy.__version__}")
    if backend.cupy is None:
        print("cupy: not installed (pip install 'scratchgen[gpu]' on a machine with a GPU)")
    else:
        print(f"cupy: {backend.cupy.__version__}")
    print(f"cuda available: {sg.cuda.is_available()} ({sg.cuda.device_count()} GPU(s))")
    print(f"models: {', '.join(models.names())}")


# -- the parser -----------------------------------------------------------------------------
def at_least(minimum):
    """An argparse type: an integer >= minimum (a bad one is argparse's usage error)."""

    def integer(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return integer


def usable_device(name):
    """An argparse type: "cpu" or "cuda" ("gpu" too), the latter only where CuPy sees a GPU."""
    from scratchgen import backend

    try:
        return backend.parse_device(name)
    except (ValueError, RuntimeError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_device(parser):
    parser.add_argument(
        "--device", default="cpu", type=usable_device, help="cpu (NumPy) or cuda (CuPy; alias gpu)"
    )


def build_parser():
    from scratchgen import models

    parser = argparse.ArgumentParser(
        prog="scratchgen", description="Generative models built from scratch on NumPy/CuPy."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model family; writes a run folder")
    train.add_argument("model", choices=models.names(), help="the model family")
    train.add_argument("--epochs", type=at_least(1), help="epochs (default: the family's)")
    train.add_argument("--batch-size", type=at_least(1), help="batch size (default: the family's)")
    train.add_argument("--lr", type=float, help="learning rate (default: the family's)")
    add_device(train)
    train.add_argument("--seed", type=at_least(0), default=0)
    train.add_argument("--out", help="run folder (default runs/MODEL, numbered if taken)")
    train.add_argument("--steps", type=at_least(1), help="stop after this many steps (a quick try)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a model setting, e.g. --set beta=0.5 --set exclude=3 (see the model's class)",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=cmd_train)

    sample = commands.add_parser("sample", help="draw samples from a trained generative run")
    sample.add_argument("run", help="the run folder")
    sample.add_argument("--n", type=at_least(1), default=64, help="number of samples (64)")
    sample.add_argument("--labels", type=int, nargs="+", help="classes, repeated to fill --n")
    sample.add_argument("--out", default="samples.png", help="PNG grid; an .npz goes beside it")
    sample.add_argument("--steps", type=at_least(1), help="sampling steps (ddpm: DDIM's S)")
    sample.add_argument("--eta", type=float, help="DDIM's noise, 0 to 1 (ddpm)")
    sample.add_argument("--guidance", type=float, help="classifier-free guidance w (ddpm)")
    sample.add_argument("--sampler", choices=["ddpm", "ddim"], help="the reverse process (ddpm)")
    add_device(sample)
    sample.set_defaults(handler=cmd_sample)

    evaluate = commands.add_parser(
        "eval", help="the metrics of a run (RUN/metrics.json), and its figures redrawn"
    )
    evaluate.add_argument("run", help="the run folder")
    evaluate.add_argument(
        "--baseline", metavar="RUN", help="a run scored beside it (cyclegan denoise: a dae run)"
    )
    add_device(evaluate)
    evaluate.set_defaults(handler=cmd_eval)

    retrieve = commands.add_parser(
        "retrieve", help="the test digits a clip run finds for a sentence, with their scores"
    )
    retrieve.add_argument("run", help="the clip run folder")
    retrieve.add_argument("query", help='e.g. "a thick seven leaning right"')
    retrieve.add_argument("--k", type=at_least(1), default=16, help="digits shown (16)")
    retrieve.add_argument("--out", default="retrieval.png", help="where to save the picture")
    add_device(retrieve)
    retrieve.set_defaults(handler=cmd_retrieve)

    info = commands.add_parser("info", help="version, backends, whether a GPU is usable")
    info.set_defaults(handler=cmd_info)

    gradcheck = commands.add_parser("gradcheck", help="gradient-check every op and loss")
    gradcheck.add_argument("--op", nargs="+", help="only these ops (default: all)")
    add_device(gradcheck)
    gradcheck.set_defaults(handler=cmd_gradcheck)

    bench = commands.add_parser("bench", help="run the benchmarks against PyTorch")
    bench.add_argument(
        "suite", nargs="?", default="all", choices=["all", "engine", "conv", "models"]
    )
    bench.add_argument("--repeats", type=at_least(1), default=10)
    bench.set_defaults(handler=cmd_bench)

    demo = commands.add_parser("demo", help="fit a small network with the engine, gradcheck shown")
    demo.add_argument(
        "--steps", type=at_least(1), default=2000, help="gradient steps (default 2000)"
    )
    demo.add_argument("--out", default="demo_fit.png", help="where to save the picture")
    demo.add_argument("--seed", type=at_least(0), default=0)
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv=None):
    """Run the command in argv; its exit code.

    A user error is one line on stderr and exit code 2, never a traceback: argparse checks
    each option's value (counts >= 1, a usable --device), and the subcommands raise
    CommandError for the rest, turning the ValueErrors of the checks they call (a model's
    settings, a sample's labels) into CommandError at the call. A diverged run and a run
    folder already taken end the same way. Any other exception, training's included, is a
    bug and keeps its traceback.
    """
    from scratchgen.train import TrainingDiverged

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except (CommandError, TrainingDiverged, FileExistsError) as error:
        print(f"scratchgen {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
