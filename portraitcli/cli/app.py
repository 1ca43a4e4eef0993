"""The ``portrait`` Typer application and the one place where errors become exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from portraitcli import __version__

#: Click's exceptions module: Typer's own copy of Click in recent releases, Click itself in older ones.
click = sys.modules[typer.BadParameter.__module__]

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
    """Portrait stylization: sketch, draw, stylize, destylize, cartoon3d. Exit codes: see the README."""


def _register() -> None:
    from portraitcli.cli import (
        benchmark,
        cartoon3d,
        data,
        destylize,
        draw,
        evaluate,
        info,
        models,
        sketch,
        stylize,
        train,
    )

    sketch.register(app)
    draw.register(app)
    stylize.register(app)
    destylize.register(app)
    cartoon3d.register(app)
    evaluate.register(app)
    models.register(app)
    info.register(app)
    data.register(app)
    app.add_typer(train.app, name="train")
    app.add_typer(benchmark.app, name="benchmark")


_register()


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwinds like Ctrl-C, so every temporary file is removed on the way out."""


_terminated: list[int] = []


def _on_sigterm(signum: int, frame: object) -> None:
    _terminated.append(signum)
    raise Terminated()


def _usage_error(e: Any, argv: list[str]) -> int:
    """Print a command-line error as ``Usage`` + ``error: ...`` lines; exit code 2."""
    if e.ctx is not None:
        print(e.ctx.get_usage(), file=sys.stderr)
        print(f"Try '{e.ctx.command_path} -h' for help.", file=sys.stderr)
    message = e.format_message()
    dashed = [a for a in argv if a.startswith("-") and len(a) > 1 and os.path.exists(a)]
    if isinstance(e, click.NoSuchOption) and dashed:
        message += f" (to name the file {dashed[0]}, put it after --: portrait ... -- {dashed[0]})"
    print(f"error: {message}", file=sys.stderr)
    return e.exit_code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: the one place where errors become exit codes.

    Command-line errors (Click's) print the usage and an ``error:`` line, exit code 2; our
    library's :class:`PortraitError` subclasses carry their own codes; Ctrl-C gives 130 and
    SIGTERM 143, both after removing temporary files; anything else is a bug (1).
    """
    import signal

    from portraitcli.errors import EXIT_BUG, PortraitError

    args = list(sys.argv[1:] if argv is None else argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = app(args=args, prog_name="portrait", standalone_mode=False)
    except click.NoArgsIsHelpError as e:
        print(e.ctx.get_help() if e.ctx else "", file=sys.stderr)
        return 2
    except click.UsageError as e:
        return _usage_error(e, args)
    except click.ClickException as e:
        print(f"error: {e.format_message()}", file=sys.stderr)
        return e.exit_code
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except PortraitError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
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
    finally:
        signal.signal(signal.SIGTERM, previous)
    if _terminated:  # Typer turns the KeyboardInterrupt it unwound with into exit code 130
        _terminated.clear()
        print("terminated", file=sys.stderr)
        return 143
    return code if isinstance(code, int) else 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
