"""Audio bytes -> 16 kHz mono float32 samples with PyAV, without a pause for other users.

faster-whisper's `decode_audio` ends with `gc.collect()` (a workaround for a PyAV resampler
leak, SYSTRAN/faster-whisper#390). A full collection holds the GIL for as long as the heap
takes to walk: in the bot, with PTB, SQLAlchemy and the model loaded, that stalled the
event loop for ~70 ms per memo (bench/loop_stall.py), so every other person's message
waited. This is the same decode (group frames, resample to mono s16, flush) without it; the
leak it worked around is gone in the PyAV this project requires
(tests/test_transcription.py decodes hundreds of memos and checks the RSS stays flat).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, BinaryIO

import av
import numpy as np

SAMPLE_RATE = 16_000
_GROUP = 500_000  # samples per resampler call, as faster-whisper groups them


def decode(source: str | BinaryIO, rate: int = SAMPLE_RATE) -> np.ndarray[Any, Any]:
    """Decodes the first audio stream to mono float32 at `rate`.

    Raises PyAV's errors (av.error.FFmpegError), IndexError for a container without audio,
    EOFError for a truncated one: the caller turns them into AudioDecodeError.
    """
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    chunks: list[np.ndarray[Any, Any]] = []
    with av.open(source, mode="r", metadata_errors="ignore") as container:
        for frame in _resampled(_grouped(_valid(container.decode(audio=0))), resampler):
            chunks.append(frame.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def _valid(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame]:
    """Skips frames FFmpeg calls invalid instead of failing the whole memo."""
    while True:
        try:
            yield next(frames)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


def _grouped(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame]:
    fifo = av.AudioFifo()
    for frame in frames:
        frame.pts = None  # timestamps may jump in voice notes; the fifo must not check them
        fifo.write(frame)
        if fifo.samples >= _GROUP and (group := fifo.read()) is not None:
            yield group
    if fifo.samples > 0 and (rest := fifo.read()) is not None:
        yield rest


def _resampled(
    frames: Iterator[av.AudioFrame], resampler: av.AudioResampler
) -> Iterator[av.AudioFrame]:
    for frame in itertools.chain(frames, [None]):  # None flushes the resampler
        yield from resampler.resample(frame)
