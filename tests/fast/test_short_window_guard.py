"""The short window's guard (bot/short_window.check): what makes a result untrustworthy.

Pure functions on decoded results, no model: each case is the failure it names, next to the
speech it must leave alone (measured tiny.en results on the fixtures: 2.9-4.3 tokens a second,
average log-probability -0.05 to -0.6, compression ratio 0.8-1.5).
"""

from __future__ import annotations

import pytest

from bot.short_window import Decoded, check, compression_ratio, repeats

SENTENCE = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]  # 16 distinct tokens


def decoded(
    tokens: list[int] | None = None,
    *,
    text: str = "I can say no without explaining myself.",
    avg_logprob: float = -0.2,
    no_speech_prob: float = 0.01,
    seconds: float = 4.5,
) -> Decoded:
    return Decoded(
        SENTENCE if tokens is None else tokens, text, avg_logprob, no_speech_prob, seconds
    )


def test_ordinary_speech_passes() -> None:
    assert check(decoded()) is None


def test_a_sentence_decoded_twice_is_a_repetition() -> None:
    # The short window's typical loop: the memo comes out twice (measured: 7-8 tokens/s).
    assert repeats(SENTENCE + SENTENCE)
    assert check(decoded(SENTENCE[:12] + SENTENCE[:12], seconds=4.0)) == "repetition"


def test_a_looping_phrase_at_speech_rate_is_a_repetition() -> None:
    assert check(decoded([1, 2, 3, 4, 2, 3, 4, 9], seconds=3.0)) == "repetition"
    assert check(decoded([5, 7, 7, 7, 7, 8], seconds=3.0)) == "repetition"


def test_short_real_repeats_are_not_loops() -> None:
    # "no, no" or "I, I" happen in speech; only 3+ token runs twice or 1 token 4 times count.
    assert not repeats([1, 2, 2, 3, 1, 2, 4])
    assert not repeats([1, 2, 1, 2, 5])
    assert not repeats([7, 7, 7])


def test_far_more_tokens_than_the_speech_can_hold() -> None:
    many = list(range(100, 140))  # 40 distinct tokens in 4 s: 10 a second
    assert check(decoded(many, seconds=4.0)) == "tokens-per-second"
    assert check(decoded(many, seconds=8.0)) is None  # 5 a second: fast speech, allowed


def test_very_short_clips_have_an_allowance() -> None:
    assert check(decoded([1, 2, 3], text="OK then.", seconds=0.3)) is None


def test_repetitive_text_fails_on_compression() -> None:
    text = "and then I said that " * 12
    assert compression_ratio(text) > 2.4
    assert check(decoded(list(range(60)), text=text, seconds=20.0)) == "compression"


def test_a_low_average_log_probability_fails() -> None:
    assert check(decoded(avg_logprob=-1.3)) == "logprob"


def test_an_unterminated_decode_fails() -> None:
    assert check(decoded(list(range(445)), seconds=28.0)) == "unterminated"


@pytest.mark.parametrize("avg_logprob", [-0.2, -1.5])
def test_silence_is_trusted_whatever_else(avg_logprob: float) -> None:
    # The model rates it silence: the caller keeps "" (the full path drops it the same way).
    assert check(decoded(avg_logprob=avg_logprob, no_speech_prob=0.9)) is None


def test_compression_ratio_of_nothing() -> None:
    assert compression_ratio("") == 0.0
