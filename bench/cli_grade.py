"""How long one `gradelab grade linear` takes end to end, and how much of it is `import torch`.

Runs each command N times, side by side in one run, and prints medians: the bare interpreter,
`import torch` alone, and the whole CLI grading the seed solution (parent and child both import
torch; the child's start overlaps the parent's reference work).

    .venv/bin/python bench/cli_grade.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import processes  # noqa: E402
GRADELAB = Path(sys.executable).parent / "gradelab"
SEED = ROOT / "exercises" / "linear" / "solutions" / "seed.py"
RUN_TIMEOUT_S = 600  # past it, the run and all it started are killed

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "gradelab grade linear seed.py": [str(GRADELAB), "grade", "linear", str(SEED)],
}


def median_seconds(command: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        process = processes.start(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=RUN_TIMEOUT_S)
            timings.append(time.perf_counter() - started)
        finally:
            processes.kill(process)  # after the timing: nothing it started outlives it
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    processes.run(COMMANDS["gradelab grade linear seed.py"], timeout_s=RUN_TIMEOUT_S)  # warm the reference cache
    medians = {name: median_seconds(command, runs) for name, command in COMMANDS.items()}
    whole = medians["gradelab grade linear seed.py"]
    print(f"{'command':<32} {'median':>9} {'share of grade':>15}   ({runs} runs each)")
    for name, seconds in medians.items():
        print(f"{name:<32} {seconds * 1000:>7.0f} ms {seconds / whole:>14.0%}")


if __name__ == "__main__":
    main()
