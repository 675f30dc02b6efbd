"""``python -m app.localtinker.trial``: a whole training stack on this machine, to try a job end to
end offline, until Ctrl-C.

A local Tinker engine (SkyRL tx on the stand-in Qwen3), the API (``dreadnode-api serve``) and one
training worker (``dreadnode-api worker``) pointed at that engine, on the API's usual database.
It prints the API's URL and a fresh token for ``dn``. The engine allows
``max_lora_adapters - 1`` training runs in its lifetime (4 slots keep a step near a second on two
cores; more make every step slower), so this is for trying a few jobs, not for serving.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from app.core.config import default_database_path
from app.localtinker.server import LocalTinker, LocalTinkerError, peaked_standin_dir

__all__ = ["main"]

#: Training runs the trial's engine allows in its lifetime, plus one (SkyRL tx's slot 0).
ADAPTER_SLOTS = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.localtinker.trial",
        description="Serve the API with a training worker on a local Tinker engine.",
    )
    parser.add_argument("--port", type=int, default=8000, help="the API's port (default 8000)")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=default_database_path().parent / "localtinker",
        help="the engine's database, checkpoints and logs (default: beside the API's database)",
    )
    parser.add_argument(
        "--peaked",
        action="store_true",
        help="serve the stand-in whose next token is peaked, as a trained model's is, so an RL "
        "job's reward can rise (default: the flat one, on which SFT's loss falls)",
    )
    return parser


def _try(peaked: bool) -> str:
    """The README's example for this engine's stand-in."""
    if peaked:
        return (
            "dn train rl --model Qwen/Qwen3-8B --dataset examples/rl-prompts.jsonl "
            "--grader examples/rl-grader.json --group-size 8 --max-tokens 1 --batch-size 2 "
            "--steps 6 --learning-rate 0.002 --watch"
        )
    return (
        "dn train sft --model Qwen/Qwen3-8B --dataset tests/dataset_corpus/good-chat.jsonl --watch"
    )


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", *args]


#: The catalog id the engine serves its stand-in under (``dn train models sample`` of it).
SERVED_AS = "Qwen/Qwen3-8B"


def main(argv: Sequence[str] | None = None) -> int:
    """Start the three, print how to use them, serve until SIGINT/SIGTERM; 1 if one fails."""
    args = _parser().parse_args(argv)
    run_dir: Path = args.run_dir.absolute()
    run_dir.mkdir(parents=True, exist_ok=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    engine = LocalTinker(
        run_dir / "engine",
        model_dir=peaked_standin_dir() if args.peaked else None,
        backend_config={"max_lora_adapters": ADAPTER_SLOTS},
        # Sampling the base model by its catalog id then works, as on Tinker.
        served_as=SERVED_AS,
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        print(f"starting a local Tinker engine (log: {engine.log_path})", file=sys.stderr)
        with engine:
            env = {**os.environ, **engine.client_env()}
            name = f"trial-{time.strftime('%Y%m%d-%H%M%S')}"
            created = subprocess.run(
                _command("tokens", "create", "--name", name),
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            token = created.stdout.strip().splitlines()[-1]
            with (run_dir / "api.log").open("ab") as api_log:
                processes.append(
                    subprocess.Popen(
                        _command("serve", "--port", str(args.port)),
                        env=env,
                        stdout=api_log,
                        stderr=subprocess.STDOUT,
                    )
                )
            with (run_dir / "worker.log").open("ab") as worker_log:
                processes.append(
                    subprocess.Popen(
                        _command("worker", "--id", "trial"),
                        env=env,
                        stdout=worker_log,
                        stderr=subprocess.STDOUT,
                    )
                )
            print(f"export DREADNODE_SERVER_URL=http://127.0.0.1:{args.port}")
            print(f"export DREADNODE_API_KEY={token}")
            print(
                f"API, worker and engine running (logs in {run_dir}); try:\n  {_try(args.peaked)}\n"
                f"this engine allows {ADAPTER_SLOTS - 1} training runs; Ctrl-C stops all three",
                file=sys.stderr,
            )
            sys.stdout.flush()
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
            print(f"a process stopped; its log is in {run_dir}", file=sys.stderr)
            return 1
    except (LocalTinkerError, subprocess.CalledProcessError) as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    raise SystemExit(main())
