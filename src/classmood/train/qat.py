"""Quantisation-aware fine-tuning: ONNX Runtime's int8 model, simulated in torch while training.

A calibrated int8 export (``quantize.py``) takes its activation ranges from a random draw of
training faces, and which draw it is moves publictest by up to ~0.4 point. Here the int8 model is
simulated during a fine-tune instead, as ONNX Runtime's QDQ quantiser builds it for a VGG-style net:

* weights: per output channel, symmetric int8 (-127..127), of the convolution with its batch norm
  folded in (batch norm is frozen: its statistics stay those of the start checkpoint);
* activations: per tensor, asymmetric uint8, at every input and output of a convolution or fully
  connected layer (a convolution's output range is its ReLU's, as ONNX Runtime sets it).

Activation ranges follow a moving average of each batch's min/max for ``observe_steps`` steps and
are then frozen, so the weights learn to live with them; the export writes exactly those scales and
zero points into the ONNX model (``quantize.range_overrides``), with no calibration draw.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from classmood.train.checkpoint import qat_ranges, read_checkpoint
from classmood.train.inference import load_checkpoint_model


class ActivationQuant(nn.Module):
    """Moving-average min/max observer and uint8 fake quantisation of one activation tensor."""

    def __init__(self, momentum: float = 0.01):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("low", torch.zeros(()))
        self.register_buffer("high", torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("frozen", torch.zeros((), dtype=torch.bool))

    def params(self) -> tuple[float, int]:
        """(scale, zero_point) as ONNX Runtime computes them for uint8 from the range (which holds 0)."""
        low, high = min(float(self.low), 0.0), max(float(self.high), 0.0)
        scale = float(torch.tensor(max(high - low, 1e-8) / 255.0, dtype=torch.float32))
        return scale, int(min(255, max(0, round(-low / scale))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and not bool(self.frozen):
            with torch.no_grad():
                low, high = x.detach().float().amin(), x.detach().float().amax()
                m = 1.0 if int(self.seen) == 0 else self.momentum
                self.low.lerp_(low, m)
                self.high.lerp_(high, m)
                self.seen += 1
        if int(self.seen) == 0:
            return x
        scale, zero_point = self.params()
        return torch.fake_quantize_per_tensor_affine(x.float(), scale, zero_point, 0, 255).to(x.dtype)


class FoldedWeightQuant(nn.Module):
    """Parametrisation of a weight as int8 per output channel after folding the following batch norm
    (``bn``) into it; the result is unfolded again, so conv -> batch norm computes the int8 product."""

    def __init__(self, bn: nn.Module | None = None):
        super().__init__()
        self._bn = [bn]  # a list: not registered as a submodule (it is already in the model)

    def _fold(self, w: torch.Tensor) -> torch.Tensor:
        bn = self._bn[0]
        if bn is None:
            return torch.ones(w.shape[0], dtype=w.dtype, device=w.device)
        return bn.weight / torch.sqrt(bn.running_var + bn.eps)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (w.ndim - 1)
        fold = self._fold(w).view(shape)
        folded = w * fold
        scale = folded.detach().abs().flatten(1).amax(1).clamp_min(1e-12) / 127.0
        zero = torch.zeros_like(scale, dtype=torch.int32)
        quantized = torch.fake_quantize_per_channel_affine(folded.float(), scale.float(), zero, 0, -127, 127)
        return quantized.to(w.dtype) / fold


class QuantSim:
    """Attach the int8 simulation to a VGG-style model (conv-BN-ReLU stages, a linear head).

    ``points`` (a ``ModuleList`` stored on the model as ``qat_points``, so checkpoints keep the ranges)
    are in this order: the input, each ReLU, the flattened features, then each linear layer's output
    and each ReLU of the head; ``quantize.range_overrides`` pairs them with the ONNX tensors."""

    def __init__(self, model: nn.Module, observe_steps: int = 200, momentum: float = 0.01):
        self.model = model
        self.observe_steps = observe_steps
        modules = list(model.named_modules())
        for (_, module), (_, after) in zip(modules, [*modules[1:], ("", None)]):
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                bn = after if isinstance(module, nn.Conv2d) and isinstance(after, nn.BatchNorm2d) else None
                parametrize.register_parametrization(module, "weight", FoldedWeightQuant(bn))
        watched = [m for _, m in modules if isinstance(m, (nn.ReLU, nn.Flatten, nn.Linear))]
        model.qat_points = nn.ModuleList(ActivationQuant(momentum) for _ in range(len(watched) + 1))
        model.register_forward_pre_hook(lambda _, args: (model.qat_points[0](args[0]),))
        for point, module in zip(model.qat_points[1:], watched):
            module.register_forward_hook(lambda _m, _i, out, point=point: point(out))
        self._train = model.train
        model.train = self.train  # batch norm stays frozen in training mode

    def train(self, mode: bool = True) -> nn.Module:
        self._train(mode)
        for module in self.model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self.model

    def step(self, steps_done: int) -> None:
        """Freeze the activation ranges once ``observe_steps`` training steps have been seen."""
        if steps_done >= self.observe_steps:
            for point in self.model.qat_points:
                point.frozen.fill_(True)

    def points(self) -> list[tuple[float, int]]:
        return [p.params() for p in self.model.qat_points]


def plain_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights under the architecture's own names, int8-rounded weights materialised
    (what the ONNX export needs); observers left out."""
    state = {}
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        if name.startswith("qat_points"):
            continue
        for key, tensor in module.named_parameters(recurse=False):
            state[prefix + key] = tensor.detach().clone()
        for key, tensor in module.named_buffers(recurse=False):
            state[prefix + key] = tensor.detach().clone()
        if parametrize.is_parametrized(module):
            for key in module.parametrizations:
                state[prefix + key] = getattr(module, key).detach().clone()
    return {k: v for k, v in state.items() if ".parametrizations." not in k and not k.startswith("parametrizations.")}


def load_simulation(path) -> nn.Module:
    """The int8 simulation of a quantisation-aware checkpoint (``qat.pt``), in eval mode: what ONNX
    Runtime runs once the checkpoint is exported with its ranges."""
    points = qat_ranges(read_checkpoint(path))
    model = load_checkpoint_model(path)
    QuantSim(model)
    for point, (scale, zero_point) in zip(model.qat_points, points):
        point.low.fill_(-zero_point * scale)
        point.high.fill_((255 - zero_point) * scale)
        point.seen.fill_(1)
        point.frozen.fill_(True)
    return model.eval()


@torch.no_grad()
def observe_ranges(model: nn.Module, faces, steps: int = 200, seed: int = 0, batch_size: int = 128,
                   momentum: float = 0.01) -> list[tuple[float, int]]:
    """Activation ranges as a quantisation-aware run fixes them, with no training: a moving average
    of each batch's min/max over ``steps`` batches of augmented training faces (uint8 ``(N, S, S)``),
    through the int8 simulation of a copy of ``model``. A calibration from ~25,000 varied views instead
    of the extremes of a few hundred clean faces."""
    import copy

    from classmood.train.augment import AugmentConfig, augment

    simulated = copy.deepcopy(model).float()
    sim = QuantSim(simulated, observe_steps=steps, momentum=momentum)
    simulated.train()
    torch.manual_seed(seed)
    pick = torch.Generator().manual_seed(seed)
    images = torch.as_tensor(faces)
    for _ in range(steps):
        simulated(augment(images[torch.randint(0, len(images), (batch_size,), generator=pick)], AugmentConfig()))
    return sim.points()
