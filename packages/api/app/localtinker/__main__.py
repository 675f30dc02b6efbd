"""``python -m app.localtinker``: a local Tinker server for a person, until Ctrl-C.

Why a command: trying the worker (or the ``tinker`` SDK) by hand needs the same start-up as the
tests (the uv shim, the compile cache, the stand-in model, a clean stop); this prints the two
variables a ``tinker`` client reads and serves until interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from app.localtinker.server import DEFAULT_BACKEND_CONFIG, LocalTinker, LocalTinkerError
from app.localtinker.standin import build_standin_model

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.localtinker",
        description="Serve SkyRL tx (a local Tinker-compatible server) on a stand-in Qwen3.",
    )
    parser.add_argument("--port", type=int, default=None, help="loopback port (default: free)")
    parser.add_argument("--run-dir", type=Path, required=True, help="database, checkpoints, log")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="model to load (default: the stand-in Qwen3, built in RUN_DIR/standin)",
    )
    parser.add_argument(
        "--python", default=None, help="interpreter with skyrl-tx[tinker] (default: this one)"
    )
    parser.add_argument(
        "--backend-config",
        type=json.loads,
        default=None,
        help=f"JSON merged over {json.dumps(dict(DEFAULT_BACKEND_CONFIG), sort_keys=True)}",
    )
    parser.add_argument("--compile-cache-dir", type=Path, default=None)
    parser.add_argument("--startup-timeout", type=float, default=240.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start the server, print how to reach it, serve until SIGINT/SIGTERM; 1 if it fails."""
    args = _parser().parse_args(argv)
    run_dir: Path = args.run_dir.absolute()
    model_dir = args.model_dir or build_standin_model(run_dir / "standin")

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    server = LocalTinker(
        run_dir,
        python=args.python,
        port=args.port,
        model_dir=model_dir,
        backend_config=args.backend_config,
        compile_cache_dir=args.compile_cache_dir,
        startup_timeout=args.startup_timeout,
    )
    print(f"starting SkyRL tx on {server.base_url} (log: {server.log_path})", file=sys.stderr)
    try:
        with server:
            for name, value in server.client_env().items():
                print(f"export {name}={value}")
            print(f"ready in {server.startup_seconds:.1f} s; Ctrl-C stops it", file=sys.stderr)
            sys.stdout.flush()
            assert server.process is not None
            while server.process.poll() is None:
                time.sleep(0.5)
            print(
                f"the server exited with {server.process.returncode}:\n{server.log_tail()}",
                file=sys.stderr,
            )
            return 1
    except LocalTinkerError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
