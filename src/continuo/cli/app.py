"""``continuo app``: start the web app (Streamlit) and print its address.

continuo app                                   http://127.0.0.1:8501, the bundled models
continuo app --models runs                     also every run folder inside runs/
continuo app --host 0.0.0.0 --port 8080        reachable from other machines

The command checks its options, prints the address, then becomes ``streamlit run`` on the app's
entry script (headless: no browser is opened, no usage statistics are sent). Streamlit is
imported only by that server process, so this module stays light.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import socket
import sys
from pathlib import Path

from continuo.errors import ConfigError

__all__ = ["add_parser", "address", "pick_port", "run", "streamlit_command"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app",
        help="start the web app: melody, piano and audio pages in the browser",
        description=(
            "Start the continuo web app (Streamlit) and print its address. Pages:\n"
            "  Melody  continue a seed you type, click on a keyboard, or upload\n"
            "  Piano   compose with a polyphonic model, from nothing or a MIDI file\n"
            "  Audio   extend a recording to a chosen duration\n"
            "Stop it with Ctrl-C."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  continuo app\n  continuo app --models runs --port 8080",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        metavar="H",
        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="N",
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--models",
        metavar="DIR",
        help="a folder of run folders (or one run folder) to offer beside the bundled models",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=None,
        metavar="MB",
        help="largest upload accepted, in megabytes (default 20)",
    )
    parser.set_defaults(run=run)


def pick_port(host: str, port: int) -> int:
    """``port`` if it is free on ``host`` (a free one when 0), else :class:`ConfigError`."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a port number (0..65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ConfigError(f"--host {host!r} is not an address of this machine ({error})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({error.strerror or error}); "
                "pick another --port or --host"
            ) from None
        return int(probe.getsockname()[1])


def _upload_mb(args: argparse.Namespace) -> float:
    from continuo.app import DEFAULT_MAX_UPLOAD_MB

    upload_mb = DEFAULT_MAX_UPLOAD_MB if args.max_upload_mb is None else args.max_upload_mb
    if not (math.isfinite(upload_mb) and upload_mb > 0):
        raise ConfigError(f"--max-upload-mb must be a positive number, not {upload_mb!r}")
    return float(upload_mb)


def _models_dir(args: argparse.Namespace) -> Path | None:
    """The local folder of ``--models``: a URL's copy in the cache, with each run's checkpoints."""
    from continuo.storage import fetch

    if args.models is None:
        return None
    models = fetch(args.models, progress=True)
    if not models.is_dir():
        raise ConfigError(f"{args.models}: --models must be a folder of run folders")
    return models.resolve()


def streamlit_command(args: argparse.Namespace, port: int) -> tuple[list[str], dict[str, str]]:
    """The ``streamlit run`` command line and environment for ``args`` listening on ``port``."""
    from continuo.app import ENTRY_SCRIPT, MAX_UPLOAD_ENV, MODELS_ENV

    upload_mb = _upload_mb(args)
    models = _models_dir(args)
    env = dict(os.environ)
    env.pop(MODELS_ENV, None)
    if models is not None:
        env[MODELS_ENV] = str(models)
    env[MAX_UPLOAD_ENV] = repr(upload_mb)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ENTRY_SCRIPT),
        "--server.headless=true",
        f"--server.address={args.host}",
        f"--server.port={port}",
        f"--server.maxUploadSize={max(1, math.ceil(upload_mb))}",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",
        "--client.showErrorDetails=none",
        "--client.toolbarMode=minimal",
        "--theme.base=light",
        "--theme.primaryColor=#3b6fd6",
    ]
    return command, env


def address(host: str, port: int) -> str:
    """The URL to open for a server on ``host``:``port`` (loopback for the any-address)."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("streamlit") is None:
        raise ConfigError(
            "the web app needs Streamlit, which is not installed: pip install 'continuo[app]'"
        )
    _upload_mb(args)
    _models_dir(args)
    port = pick_port(args.host, args.port)
    command, env = streamlit_command(args, port)
    print(f"continuo app: {address(args.host, port)}  (Ctrl-C to stop)", flush=True)
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return 0  # not reached: execve replaces this process
