"""The ``portrait`` Typer application and the one place where errors become exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from portraitcli import __version__

app = typer.Typer(
    name="portrait",
    help="Portrait stylization with models trained in PyTorch and run with ONNX Runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs are reflowed to the terminal width
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"portrait {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Portrait stylization: sketch, draw, destylize, cartoon3d. Exit codes: see the README."""


def _register() -> None:
    from portraitcli.cli import benchmark, cartoon3d, data, destylize, draw, evaluate, info, models, sketch, train

    sketch.register(app)
    draw.register(app)
    destylize.register(app)
    cartoon3d.register(app)
    evaluate.register(app)
    models.register(app)
    info.register(app)
    data.register(app)
    app.add_typer(train.app, name="train")
    app.add_typer(benchmark.app, name="benchmark")


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: the one place where errors become exit codes.

    Typer (standalone mode) reports usage errors itself, with exit code 2; our library's
    :class:`PortraitError` subclasses carry their own codes; anything else is a bug (1).
    """
    from portraitcli.errors import EXIT_BUG, PortraitError

    try:
        app(args=argv, prog_name="portrait")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except PortraitError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: one line, the traceback only on request
        if os.environ.get("PORTRAIT_DEBUG"):
            raise
        print(
            f"internal error: {type(e).__name__}: {e} (rerun with PORTRAIT_DEBUG=1 for the traceback)", file=sys.stderr
        )
        return EXIT_BUG
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
