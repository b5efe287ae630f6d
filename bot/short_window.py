"""Short-window Whisper decoding: encode only the memo plus a margin, not a padded 30 s.

Whisper was trained on 30-second windows, and faster-whisper's `transcribe()` always pads
to one, so a 5-second memo costs as much as a 30-second one. CTranslate2's encoder also
accepts shorter feature windows: encoding the speech (after the VAD has cut its silences)
plus `margin` seconds of padding is 2-4x faster here with the same words (bench/engines.py).

The risk of a short window is that the decoder, with no padding to "hear" the end in,
sometimes loops: the sentence comes out twice, or one phrase repeats. So every result
passes `check()`, the signals whisper's own temperature fallback uses plus two cheap ones
for loops, and `None` tells the caller to run the normal full-window path instead.

Margin: on the committed fixtures (tests/fixtures, clean, noisy and with long pauses)
margins of 0-2 s looped on several clips and 3 s misheard a short clean one; 5 s matched
the full window's words on every clean clip. bench/engines.py prints the comparison.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FRAMES_PER_SECOND = 100  # Whisper's mel hop is 10 ms
FULL_WINDOW_SECONDS = 30.0
MARGIN_SECONDS = 5.0

# The guard. The first two are whisper's own fallback thresholds; the loop checks catch the
# short window's typical failure (a repeated sentence) that compression alone can miss on a
# clip this short. Measured speech here: 2.9-4.3 tokens per second; loops: 7.0-11.
COMPRESSION_RATIO_MAX = 2.4
AVG_LOGPROB_MIN = -1.0
TOKENS_PER_SECOND_MAX = 6.0
TOKENS_ALLOWANCE = 4  # very short clips: "OK." is 2 tokens in 0.3 s
NO_SPEECH_SILENT = 0.7  # the same rule as the full path: the model itself rates it silence
MAX_LENGTH = 448  # Whisper's decoder context


@dataclass(frozen=True)
class Decoded:
    """What one short-window pass produced, with the signals the guard reads."""

    tokens: list[int]
    text: str
    avg_logprob: float
    no_speech_prob: float
    speech_seconds: float


def compression_ratio(text: str) -> float:
    """gzip ratio of the text, as whisper computes it: repetitive text compresses well."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def repeats(tokens: list[int]) -> bool:
    """True if a run of 3+ tokens comes twice back to back, or one token 4 times."""
    count = len(tokens)
    for index in range(count - 3):
        if tokens[index] == tokens[index + 1] == tokens[index + 2] == tokens[index + 3]:
            return True
    for size in range(3, count // 2 + 1):
        for start in range(count - 2 * size + 1):
            if tokens[start : start + size] == tokens[start + size : start + 2 * size]:
                return True
    return False


def check(decoded: Decoded) -> str | None:
    """The reason to distrust a short-window result, or None when it looks like speech."""
    if decoded.no_speech_prob >= NO_SPEECH_SILENT:
        return None  # silence: the caller keeps "" either way
    if len(decoded.tokens) >= MAX_LENGTH - 8:
        return "unterminated"
    if compression_ratio(decoded.text) > COMPRESSION_RATIO_MAX:
        return "compression"
    if decoded.avg_logprob < AVG_LOGPROB_MIN:
        return "logprob"
    allowed = TOKENS_PER_SECOND_MAX * decoded.speech_seconds + TOKENS_ALLOWANCE
    if len(decoded.tokens) > allowed:
        return "tokens-per-second"
    if repeats(decoded.tokens):
        return "repetition"
    return None


def speech_only(model: Any, samples: np.ndarray, vad: bool) -> np.ndarray:
    """The samples with the VAD's silences cut out (as faster-whisper's vad_filter does)."""
    import numpy as np
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    if not vad:
        return samples
    options = VadOptions(min_silence_duration_ms=160, max_speech_duration_s=FULL_WINDOW_SECONDS)
    stamps = get_speech_timestamps(samples, options)
    if not stamps:
        return np.zeros(0, dtype=np.float32)
    chunks, _ = collect_chunks(samples, stamps)
    return np.concatenate(chunks)


class ShortWindow:
    """Encodes and decodes one short window with a loaded faster-whisper `WhisperModel`."""

    def __init__(self, model: Any, *, beam_size: int, margin: float = MARGIN_SECONDS) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._model = model
        self.beam_size = beam_size
        self.margin = margin
        self._multilingual = bool(model.model.is_multilingual)
        self._english = Tokenizer(model.hf_tokenizer, self._multilingual, "transcribe", "en")
        self._suppress = get_suppressed_tokens(self._english, [-1])

    def fits(self, speech_seconds: float) -> bool:
        """Whether the speech plus its margin fits one window (else: the chunked path)."""
        return speech_seconds + self.margin <= FULL_WINDOW_SECONDS

    def decode(self, speech: np.ndarray, language: str | None) -> tuple[Decoded, str]:
        """One greedy-or-beam pass over `speech` (VAD already applied); returns the result
        and the language it was decoded as."""
        import numpy as np
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_ctranslate2_storage

        seconds = speech.size / SAMPLE_RATE
        frames = round(min(FULL_WINDOW_SECONDS, seconds + self.margin) * FRAMES_PER_SECOND)
        frames += frames % 2  # the encoder's stride-2 convolution halves it
        features = pad_or_trim(self._model.feature_extractor(speech), frames)
        encoded = self._model.model.encode(
            get_ctranslate2_storage(np.expand_dims(features, 0)), to_cpu=False
        )
        tokenizer = self._english
        if self._multilingual:
            if language is None:
                token, _probability = self._model.model.detect_language(encoded)[0][0]
                language = str(token[2:-2])
            tokenizer = Tokenizer(self._model.hf_tokenizer, True, "transcribe", language)
        prompt = self._model.get_prompt(tokenizer, [], without_timestamps=True)
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=self.beam_size,
            patience=1,
            length_penalty=1,
            max_length=MAX_LENGTH,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        # CTranslate2 returns the length-normalised score; whisper's avg_logprob divides the
        # sum by length + 1 (the end token), as faster-whisper's generate_with_fallback does.
        length = len(result.sequences_ids[0])
        avg_logprob = result.scores[0] * length / (length + 1)
        decoded = Decoded(
            tokens=tokens,
            text=tokenizer.decode(tokens).strip(),
            avg_logprob=float(avg_logprob),
            no_speech_prob=float(result.no_speech_prob),
            speech_seconds=seconds,
        )
        return decoded, language or "en"
