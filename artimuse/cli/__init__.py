"""The `artimuse` command: score, assess, eval, and the `api` / `ui` servers.

    artimuse score IMG... [--json] [--aspects]
    artimuse assess IMG [--out results/image_results]
    artimuse eval --dataset AVA  |  --test-json FILE --images DIR   [--batch-size 8]
    artimuse eval ... --ray [ADDRESS] [--workers N]      (Ray Data; pip install "artimuse[ray]")
    artimuse serve [--replicas N] [--address A] [--host H --port P]          (Ray Serve)
    artimuse api [--host H --port P]      artimuse ui [...]
    artimuse download [NAME_OR_REPO] [--dir DIR] [--revision REV] [--source hf|modelscope]
    artimuse quantize SRC DST --quant int8|int4      (a pre-quantized copy for the CPU)

The original scripts' flags work too: `--model_name` (a folder under checkpoints/),
`--image_path`, `--dataset`, `--device`. Only this package prints; errors end with status 2,
failed images with 1, Ctrl-C with 130.
"""

from __future__ import annotations

import argparse
import os
import sys

from artimuse.cli.datasets import run_eval, run_serve
from artimuse.cli.images import IMAGE_RESULTS_DIR, run_assess, run_score
from artimuse.cli.model import add_download_command
from artimuse.cli.quantize import add_quantize_command
from artimuse.config import API_PORT, DEFAULT_BATCH_SIZE, listen_address, model_options
from artimuse.errors import ArtiMuseError
from artimuse.evaluation import DATASETS_DIR, RESULTS_DIR

__all__ = ["main"]
DELEGATED = ("api", "ui")  # their own argument parsers take the rest of the line


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        return _delegate(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except ArtiMuseError as error:
        print(f"artimuse {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"artimuse {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `artimuse score ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _delegate(command: str, rest: list[str]) -> int:
    if command == "api":
        from artimuse.rest.app import main as serve
    else:
        try:
            from artimuse.webapp.app import main as serve
        except ImportError as error:
            print(
                f"artimuse ui: the web app is not available ({error}); "
                "install it with: pip install 'artimuse[gradio]'",
                file=sys.stderr,
            )
            return 2
    return serve(rest) or 0


# --- arguments ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artimuse", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model = model_options()

    score = commands.add_parser("score", parents=[model], help="scores of images, as a table")
    _image_arguments(score)
    score.add_argument("--json", action="store_true", help="JSON instead of a table")
    score.add_argument("--aspects", action="store_true", help="also the 7 aspect scores")
    score.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE)
    score.set_defaults(run=run_score)

    assess = commands.add_parser("assess", parents=[model], help="scores and expert comments")
    _image_arguments(assess)
    assess.add_argument("--out", default=str(IMAGE_RESULTS_DIR), help="folder of the JSON file")
    assess.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    assess.set_defaults(run=run_assess)

    evaluate = commands.add_parser("eval", parents=[model], help="SRCC/PLCC/KRCC on a dataset")
    evaluate.add_argument("--dataset", help="test_datasets/NAME (or the name of --test-json)")
    evaluate.add_argument("--test-json", "--test_json", help="a test.json outside test_datasets")
    evaluate.add_argument("--images", dest="images_dir", help="the images of --test-json")
    evaluate.add_argument("--data-root", default=str(DATASETS_DIR))
    evaluate.add_argument("--out-dir", default=str(RESULTS_DIR))
    evaluate.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE)
    evaluate.add_argument("--limit", type=_positive, help="only the first N entries")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    _ray_arguments(evaluate)
    evaluate.set_defaults(run=run_eval)

    serve = commands.add_parser("serve", parents=[model], help="the REST service on Ray Serve")
    _serve_arguments(serve)
    serve.set_defaults(run=run_serve)

    add_download_command(commands)

    add_quantize_command(commands)
    commands.add_parser("api", help="the REST service (artimuse api --help)", add_help=False)
    commands.add_parser("ui", help="the web app (artimuse ui --help)", add_help=False)
    return parser


def _ray_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Ray (pip install 'artimuse[ray]')")
    group.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="score on Ray: the cluster at ADDRESS, else RAY_ADDRESS, else a local Ray",
    )
    group.add_argument(
        "--workers", type=_positive, help="with --ray: model actors (default: 1 per GPU, else 1)"
    )


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    host, port = listen_address(API_PORT)
    parser.add_argument("--replicas", type=_positive, default=1, help="each with its own model")
    parser.add_argument("--address", help="a Ray cluster (default RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--host", default=host)
    parser.add_argument("--port", type=int, default=port)


def _image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMG")
    parser.add_argument("--image_path", "--image-path", help="one image (the original's flag)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
