"""The `artimuse` command: score, assess, eval, and the `api` / `ui` servers.

    artimuse score IMG_OR_FOLDER... [--json | --jsonl] [--aspects]
    artimuse assess IMG_OR_FOLDER... [--out results/image_results] [--json | --jsonl]
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

from artimuse import __version__
from artimuse.cli.datasets import run_eval, run_serve
from artimuse.cli.images import IMAGE_RESULTS_DIR, RESULT_FILE, run_assess, run_score
from artimuse.cli.model import add_download_command
from artimuse.cli.quantize import add_quantize_command
from artimuse.cli.servers import run_api, run_web_app
from artimuse.config import (
    API_PORT,
    DEFAULT_BATCH_SIZE,
    DEFAULT_HOST,
    IMAGE_VARIABLES,
    MODEL_VARIABLES,
    REST_VARIABLES,
    check_variables,
    environment_help,
    model_options,
    port_number,
)
from artimuse.errors import ArtiMuseError
from artimuse.evaluation import DATASETS_DIR, RESULTS_DIR
from artimuse.startup import exit_with

__all__ = ["main"]
DELEGATED = {"api": run_api, "ui": run_web_app}  # their own parsers take the rest of the line
# The variables each command reads: its --help lists them, its start checks them.
VARIABLES_OF = {
    "score": (*MODEL_VARIABLES, *IMAGE_VARIABLES),
    "assess": (*MODEL_VARIABLES, *IMAGE_VARIABLES),
    "eval": (*MODEL_VARIABLES, *IMAGE_VARIABLES, "RAY_ADDRESS"),
    "serve": (*REST_VARIABLES, "RAY_ADDRESS"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        return DELEGATED[argv[0]](argv[1:]) or 0
    args = _parser().parse_args(argv)
    prog = f"artimuse {args.command}"
    try:
        check_variables(VARIABLES_OF.get(args.command, ()))
        return args.run(args)
    except ArtiMuseError as error:
        return exit_with(prog, error)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `artimuse score ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


# --- arguments ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artimuse", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, about: str, **options) -> argparse.ArgumentParser:
        variables = VARIABLES_OF.get(name)
        epilog = environment_help(variables) if variables else None
        return commands.add_parser(name, help=about, description=about, epilog=epilog,
                                   parents=[model_options()], **options)

    score = command("score", "scores of images: a table, a JSON list or JSON Lines")
    _image_arguments(score)
    _json_arguments(score, "the rows")
    score.add_argument("--aspects", action="store_true", help="also the 7 aspect scores")
    score.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                       help=f"images per model batch (default {DEFAULT_BATCH_SIZE})")
    score.set_defaults(run=run_score)

    assess = command("assess", "scores and the 8 expert comments of images, each saved as "
                     f"OUT/{RESULT_FILE} (the original tool's file)")
    _image_arguments(assess)
    assess.add_argument("--out", default=str(IMAGE_RESULTS_DIR), help="folder of the result "
                        f"files, {RESULT_FILE} each (default {IMAGE_RESULTS_DIR})")
    _json_arguments(assess, "the assessments (instead of Markdown)")
    assess.set_defaults(run=run_assess)

    evaluate = command("eval", "SRCC/PLCC/KRCC on a dataset (resumable)")
    evaluate.add_argument("--dataset", help="test_datasets/NAME (or the name of --test-json)")
    evaluate.add_argument("--test-json", "--test_json", help="a test.json outside test_datasets")
    evaluate.add_argument("--images", dest="images_dir", help="the images of --test-json")
    evaluate.add_argument("--data-root", default=str(DATASETS_DIR),
                          help=f"the folder of the datasets (default {DATASETS_DIR})")
    evaluate.add_argument("--out-dir", default=str(RESULTS_DIR), help="where the scores, "
                          f"metrics and failures are written (default {RESULTS_DIR})")
    evaluate.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                          help=f"images per model batch (default {DEFAULT_BATCH_SIZE})")
    evaluate.add_argument("--limit", type=_positive, help="only the first N entries")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    _ray_arguments(evaluate)
    evaluate.set_defaults(run=run_eval)

    serve = command("serve", "the REST service on Ray Serve")
    _serve_arguments(serve)
    serve.set_defaults(run=run_serve)

    add_download_command(commands)

    add_quantize_command(commands)
    commands.add_parser("api", help="the REST service (artimuse api --help)", add_help=False)
    commands.add_parser("ui", help="the web app (artimuse ui --help)", add_help=False)
    return parser


def _json_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help=f"print {what} as one JSON list")
    output.add_argument("--jsonl", action="store_true",
                        help=f"print {what} as JSON Lines, one object a line as each is done")


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
    parser.add_argument("--replicas", type=_positive, default=1,
                        help="each with its own model (default 1)")
    parser.add_argument("--address", help="a Ray cluster (default RAY_ADDRESS, else a local Ray)")
    # HOST and PORT are read when `serve` runs, so a bad PORT never stops another command
    parser.add_argument("--host", help=f"listen address (HOST, else {DEFAULT_HOST})")
    parser.add_argument("--port", type=port_number, help=f"port (PORT, else {API_PORT})")


def _image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMG",
                        help="image files, or folders (their images, sorted by name)")
    parser.add_argument("--image_path", "--image-path", metavar="IMG",
                        help="one image (the original tools' flag)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
