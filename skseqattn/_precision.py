"""Mixed precision: the autocast context for a device, and the CPU's bfloat16 probe.

On CUDA, float16 autocast; on a CPU, bfloat16 where its oneDNN build runs the recurrent
layers in bfloat16, float32 with a :class:`MixedPrecisionWarning` where it cannot.
"""

from __future__ import annotations

import contextlib
import warnings

import torch

__all__ = ["MixedPrecisionWarning", "autocast_for", "cpu_bfloat16_unsupported"]


def autocast_for(device, enabled):
    """``torch.autocast`` for ``device``: float16 on CUDA, bfloat16 elsewhere; or a no-op.

    On a CPU whose oneDNN build has no bfloat16 RNN kernels (AVX2-only processors, for
    one) autocast would crash inside the LSTM; there the body runs in float32 instead, and
    a :class:`MixedPrecisionWarning` says so once per process.
    """
    if not enabled:
        return contextlib.nullcontext()
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.autocast(device_type=kind, dtype=torch.float16)
    reason = cpu_bfloat16_unsupported()
    if reason is not None:
        _warn_float32_fallback(reason)
        return contextlib.nullcontext()
    return torch.autocast(device_type=kind, dtype=torch.bfloat16)


class MixedPrecisionWarning(UserWarning):
    """``mixed_precision=True`` ran in float32 because this CPU has no bfloat16 RNN kernels."""


_BF16_PROBE: dict = {}


def cpu_bfloat16_unsupported() -> str | None:
    """Why bfloat16 autocast cannot run the recurrent layers on this CPU, or None if it can.

    A one-time probe, cached for the process: a tiny bidirectional LSTM and GRU run forward
    and backward, padded and packed, under bfloat16 autocast (a few milliseconds). oneDNN
    refuses such primitives on processors without bfloat16 support with a RuntimeError.
    """
    if "reason" not in _BF16_PROBE:
        _BF16_PROBE["reason"] = _probe_bfloat16_rnn()
    return _BF16_PROBE["reason"]


def _probe_bfloat16_rnn() -> str | None:
    from torch.nn.utils.rnn import pack_padded_sequence

    x = torch.linspace(-1.0, 1.0, 24).reshape(2, 3, 4)
    lengths = torch.tensor([3, 2])
    try:
        with torch.random.fork_rng(devices=[]):  # the layers' initialisation draws
            for cell in (torch.nn.LSTM, torch.nn.GRU):
                rnn = cell(4, 4, batch_first=True, bidirectional=True)
                with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                    out, _ = rnn(x)
                    packed, _ = rnn(pack_padded_sequence(x, lengths, batch_first=True))
                (out.float().sum() + packed.data.float().sum()).backward()
    except RuntimeError as exc:
        return str(exc).split(". ")[0]
    return None


def _warn_float32_fallback(reason: str) -> None:
    if _BF16_PROBE.get("warned"):
        return
    _BF16_PROBE["warned"] = True
    warnings.warn(
        "mixed_precision=True: this CPU cannot run the LSTM/GRU in bfloat16 "
        f"({reason}), so skseqattn trains and predicts in float32 instead; results are "
        "the same as with mixed_precision=False. Set mixed_precision=False to silence this "
        "warning, or use device='cuda' for float16.",
        MixedPrecisionWarning,
        stacklevel=3,
    )
