"""Every engine configuration side by side, in one run: speed, accuracy, load time, memory.

    python bench/engines.py [--repeat 2] [--openai-python .venv-openai/bin/python] [--quick]

Configurations: faster-whisper with the full 30 s window (what faster-whisper's own
`transcribe()` does) and with the short window (bot/short_window.py), each at beam 1 and 5,
int8 and float32; and openai-whisper at beam 1 and 5 on the same tiny.en weights (converted
from the bundled CTranslate2 model, see bot/openai_checkpoint.py). The openai rows need an
interpreter with torch and openai-whisper: `make test-openai` builds one in .venv-openai.

Each configuration runs in its own subprocess, so its load time and peak RSS (ru_maxrss) are
its own, through the bot's real `Transcriber.transcribe` (decode included), warmed once, with
every core (CPU threads = cores, one worker). Per clip: the median of `--repeat` runs.
Figures: latency per 3-8 s memo (median and the 5 s memo speech_07), real-time factor on a
60 s memo (built from the fixtures), mean WER on clean and noisy fixtures, load, peak RSS,
and each configuration's speed-up over openai-whisper beam 5. Transcript text is never
printed. Asserts nothing: the figures go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
REFERENCES: dict[str, str] = json.loads((FIXTURES / "speech.json").read_text())
MEMO = "speech_07.ogg"  # the 5 s memo
LONG_PARTS = ["long_01.ogg", "pause_01.ogg", "long_01.ogg"]  # about 60 s together

FASTER = [
    (window, compute, beam)
    for window in ("short", "full")
    for compute in ("int8", "float32")
    for beam in (5, 1)
]
OPENAI = [("full", "fp32", 5), ("full", "fp32", 1)]


def label(engine: str, window: str, compute: str, beam: int) -> str:
    return f"{'fw ' + window if engine == 'faster-whisper' else 'openai'} {compute} b{beam}"


# --- worker: one configuration, one process ------------------------------------------


def worker(engine: str, window: str, compute: str, beam: int, repeat: int, long: str) -> None:
    """Loads one configuration, transcribes every clip, prints one JSON line of figures."""
    sys.path.insert(0, str(ROOT))
    from bot import transcription
    from bot.config import load_settings
    from tests.support.speech import wer

    threads = os.cpu_count() or 1
    started = time.perf_counter()
    if engine == "faster-whisper":
        model = transcription.resolve_model(load_settings(_env_file=None))
        transcriber: transcription.Transcriber = transcription.FasterWhisperTranscriber(
            model,
            compute_type=compute,
            cpu_threads=threads,
            beam_size=beam,
            window="short" if window == "short" else "full",
        )
    else:
        settings = load_settings(_env_file=None, whisper_engine="openai-whisper")
        model = transcription.resolve_model(settings)
        transcriber = transcription.OpenAIWhisperTranscriber(
            model, cpu_threads=threads, beam_size=beam
        )
    load_seconds = time.perf_counter() - started

    async def run() -> dict[str, Any]:
        await transcriber.warm()
        clips: dict[str, dict[str, float | str]] = {}
        for name in REFERENCES:
            walls: list[float] = []
            text, audio, used = "", 0.0, ""
            for _ in range(repeat):
                t0 = time.perf_counter()
                result = await transcriber.transcribe(FIXTURES / name)
                walls.append(time.perf_counter() - t0)
                text, audio, used = result.text, result.audio_seconds, result.window
            clips[name] = {
                "audio": audio,
                "wall": statistics.median(walls),
                "wer": wer(name, text),
                "window": used,
            }
        t0 = time.perf_counter()
        result = await transcriber.transcribe(Path(long))
        long_wall = time.perf_counter() - t0
        return {"clips": clips, "long_audio": result.audio_seconds, "long_wall": long_wall}

    figures = asyncio.run(run())
    transcriber.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"load": load_seconds, "rss_mb": rss_mb, **figures}))


def write_long_memo(path: Path) -> None:
    """About 60 s of speech with pauses, as 16 kHz WAV, from the committed fixtures."""
    sys.path.insert(0, str(ROOT))
    from tests.support.speech import joined_wav

    joined_wav(LONG_PARTS, path)


# --- parent: every configuration, then the table -------------------------------------


def run_config(
    python: str, engine: str, config: tuple[str, str, int], repeat: int, long: Path
) -> tuple[dict[str, Any] | None, str]:
    window, compute, beam = config
    cmd = [python, __file__, "--worker", engine, window, compute, str(beam), str(repeat)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([*cmd, str(long)], capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return None, last
    return json.loads(done.stdout.strip().splitlines()[-1]), ""


def memo_latencies(figures: dict[str, Any]) -> list[float]:
    return [c["wall"] for c in figures["clips"].values() if 3.0 <= c["audio"] <= 8.0]


def mean_wer(figures: dict[str, Any], prefixes: tuple[str, ...]) -> float:
    clips = figures["clips"].items()
    return statistics.mean(c["wer"] for n, c in clips if n.startswith(prefixes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    default_openai = ROOT / ".venv-openai" / "bin" / "python"
    parser.add_argument(
        "--openai-python",
        default=str(default_openai if default_openai.exists() else sys.executable),
        help="an interpreter with torch and openai-whisper (make test-openai builds one)",
    )
    parser.add_argument("--quick", action="store_true", help="only the short/full int8 b5 pair")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, window, compute, beam, repeat, long = args.worker
        worker(engine, window, compute, int(beam), int(repeat), long)
        return 0

    faster = FASTER[:1] + FASTER[4:5] if args.quick else FASTER
    configs = [("faster-whisper", sys.executable, c) for c in faster]
    configs += [("openai-whisper", args.openai_python, c) for c in OPENAI[: 1 if args.quick else 2]]
    results: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="between-bench-") as scratch:
        long = Path(scratch) / "long.wav"
        write_long_memo(long)
        for engine, python, config in configs:
            name = label(engine, *config)
            print(f"running {name} ...", file=sys.stderr, flush=True)
            figures, error = run_config(python, engine, config, args.repeat, long)
            if figures is None:
                notes.append(f"{name}: not run ({error})")
            else:
                results[name] = figures

    peer = results.get(label("openai-whisper", *OPENAI[0]))
    cpu = _cpu_model()
    print(f"\n{os.cpu_count()} CPU threads ({cpu}); median of {args.repeat} runs per clip, warm")
    print("latency = wall seconds per memo, decode included; RTF = wall / audio seconds\n")
    rows: dict[str, Any] = {
        "5 s memo s": lambda r: _clip(r, MEMO),
        "3-8 s memo p50 s": lambda r: f"{statistics.median(memo_latencies(r)):.3f}",
        "3-8 s memo max s": lambda r: f"{max(memo_latencies(r)):.3f}",
        "x faster than openai b5": lambda r: (
            f"{_clip_wall(peer, MEMO) / _clip_wall(r, MEMO):.1f}x" if peer else "-"
        ),
        "RTF 60 s memo": lambda r: f"{float(r['long_wall']) / float(r['long_audio']):.3f}",
        "WER clean": lambda r: f"{mean_wer(r, ('speech_', 'pause_', 'long_')):.3f}",
        "WER noisy": lambda r: f"{mean_wer(r, ('noisy_',)):.3f}",
        "short windows kept": lambda r: _kept(r),
        "model load s": lambda r: f"{float(r['load']):.2f}",
        "peak RSS MB": lambda r: f"{float(r['rss_mb']):.0f}",
    }
    width = max(18, *(len(name) + 2 for name in results))
    print(f"{'':<24}" + "".join(f"{name:>{width}}" for name in results))
    for row, cell in rows.items():
        print(f"{row:<24}" + "".join(f"{cell(r):>{width}}" for r in results.values()))
    for note in notes:
        print(f"\nnote: {note}")
    return 0


def _clip_wall(figures: dict[str, Any], name: str) -> float:
    return float(figures["clips"][name]["wall"])


def _clip(figures: dict[str, Any], name: str) -> str:
    return f"{_clip_wall(figures, name):.3f}"


def _kept(figures: dict[str, Any]) -> str:
    clips = figures["clips"]
    short = sum(1 for c in clips.values() if c["window"] == "short")
    return f"{short}/{len(clips)}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
