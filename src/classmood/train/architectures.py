"""Registry of emotion-recognition architectures for 48x48 grayscale faces.

``create_model(name)`` builds any of them (like ``timm.create_model``); ``list_models()``
names them. All take ``(N, 1, 48, 48)`` normalised input and return ``(N, 7)`` logits.

- ``seed_cnn``: the seed project's custom deep CNN (4 conv blocks 64-128-512-512, FC 256-512).
- ``xception``: Xception (Chollet 2017) with entry-flow strides adapted to 48x48.
- ``dexpression``: DeXpression (Burkert et al. 2015): two FeatEx blocks of parallel paths.
- ``resnet50``: ResNet-50 bottlenecks [3, 4, 6, 3] with a 3x3 stride-1 stem for small inputs.
- ``mini_xception``: the ``fer`` package's mini-Xception (Arriaga et al. 2017), for comparison.
- ``vgg13``: VGG-style net after Khaireddin & Chen 2021 (73.28% on FER-2013).
- ``vgg_wide``: a wider VGG variant for the accurate ensemble.
- ``vgg13_se``: ``vgg13`` with channel attention (squeeze-and-excitation, Hu et al. 2018) closing
  each stage, the attention idea behind the 74%+ published FER-2013 nets at ~1% more parameters.
- ``resnet18_pre``: a pre-activation ResNet-18 for 48x48.
- ``convnext48``: a ConvNeXt-like net (Liu et al. 2022) for 48x48: a stride-1 stem, four stages of
  ConvNeXt blocks (7x7 depthwise, channel LayerNorm, 4x inverted bottleneck, GELU, layer scale) at 48,
  24, 12 and 6 pixels, widths 48-384; layer scale starts at 0.1 (not 1e-6) to train with SGD like the others.
- ``vgg7_w32``, ``vgg7_w24``, ``vgg7_w16``: compact VGG-style students (distilled) for >= 1,000 faces/s
  on 2 CPU cores: 7 convolutions in 4 stages (1-2-2-2) whose widths start at 32, 24 or 16 channels and
  double each stage. ``vgg7_w32`` is the network of the shipped ``realtime`` model (an architecture
  named ``realtime`` before: old checkpoints are read under the new names, ``checkpoint.RENAMED_ARCHS``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from classmood.train.checkpoint import RENAMED_ARCHS, read_checkpoint

NUM_CLASSES = 7
_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register(name: str):
    """Decorator adding a model factory to the registry."""

    def wrap(factory):
        _REGISTRY[name] = factory
        return factory

    return wrap


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def unknown_architecture(name: str) -> str:
    """Why ``name`` builds nothing, in one line (with its new name if it was renamed)."""
    renamed = f" (now called {RENAMED_ARCHS[name]!r})" if name in RENAMED_ARCHS else ""
    return f"unknown architecture {name!r}{renamed}; choose one of {', '.join(list_models())}"


def create_model(name: str, num_classes: int = NUM_CLASSES, **kwargs) -> nn.Module:
    if name not in _REGISTRY:
        raise KeyError(unknown_architecture(name))
    return _REGISTRY[name](num_classes=num_classes, **kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


# --- VGG family -----------------------------------------------------------------------------


class SqueezeExcite(nn.Module):
    """Channel attention: each channel scaled by a gate computed from all channels' means."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return x * self.gate(x)


class VGG(nn.Module):
    """Stages of ``convs_per_stage`` 3x3 conv-BN-ReLU (optionally closed by squeeze-and-excitation),
    each followed by 2x2 max-pooling."""

    def __init__(self, widths, convs_per_stage, head_width, num_classes, dropout=0.4, in_ch=1, attention=False):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_ch
        for width, n in zip(widths, convs_per_stage):
            for _ in range(n):
                layers.append(conv_bn_relu(cin, width))
                cin = width
            if attention:
                layers.append(SqueezeExcite(width))
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(cin, head_width),
            nn.BatchNorm1d(head_width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(head_width, num_classes),
        )

    def forward(self, x):
        return self.head(self.features(x))


@register("vgg13")
def vgg13(num_classes=NUM_CLASSES):
    return VGG((64, 128, 256, 512), (2, 2, 2, 2), 1024, num_classes)


@register("vgg13_se")
def vgg13_se(num_classes=NUM_CLASSES):
    return VGG((64, 128, 256, 512), (2, 2, 2, 2), 1024, num_classes, attention=True)


@register("vgg_wide")
def vgg_wide(num_classes=NUM_CLASSES):
    return VGG((96, 192, 384, 768), (2, 2, 3, 2), 1024, num_classes)


@register("vgg7_w32")
def vgg7_w32(num_classes=NUM_CLASSES):
    return VGG((32, 64, 128, 256), (1, 2, 2, 2), 256, num_classes, dropout=0.3)


@register("vgg7_w24")
def vgg7_w24(num_classes=NUM_CLASSES):
    return VGG((24, 48, 96, 192), (1, 2, 2, 2), 256, num_classes, dropout=0.3)


@register("vgg7_w16")
def vgg7_w16(num_classes=NUM_CLASSES):
    return VGG((16, 32, 64, 128), (1, 2, 2, 2), 256, num_classes, dropout=0.2)


# --- the seed project's custom CNN ------------------------------------------------------------


@register("seed_cnn")
def seed_cnn(num_classes=NUM_CLASSES):
    """Conv(64,3) Conv(128,5) Conv(512,3) Conv(512,3), each BN-ReLU-pool-dropout; FC 256, 512."""

    def block(cin, cout, k):
        return nn.Sequential(conv_bn_relu(cin, cout, k), nn.MaxPool2d(2), nn.Dropout(0.25))

    return nn.Sequential(
        block(1, 64, 3),
        block(64, 128, 5),
        block(128, 512, 3),
        block(512, 512, 3),
        nn.Flatten(),
        nn.Linear(512 * 3 * 3, 256),
        nn.BatchNorm1d(256),
        nn.ReLU(inplace=True),
        nn.Dropout(0.25),
        nn.Linear(256, 512),
        nn.BatchNorm1d(512),
        nn.ReLU(inplace=True),
        nn.Dropout(0.25),
        nn.Linear(512, num_classes),
    )


# --- Xception family ---------------------------------------------------------------------------


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 then pointwise 1x1, followed by BN."""

    def __init__(self, cin, cout):
        super().__init__(
            nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )


class XceptionBlock(nn.Module):
    """``reps`` (ReLU, SeparableConv) with a residual; stride 2 ends with max-pooling."""

    def __init__(self, cin, cout, reps, stride=1, relu_first=True):
        super().__init__()
        layers: list[nn.Module] = []
        ch = cin
        for i in range(reps):
            if relu_first or i > 0:
                layers.append(nn.ReLU(inplace=False))
            layers.append(SeparableConv(ch, cout))
            ch = cout
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.body = nn.Sequential(*layers)
        self.skip = (
            nn.Identity()
            if cin == cout and stride == 1
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x):
        return self.body(x) + self.skip(x)


@register("xception")
def xception(num_classes=NUM_CLASSES, middle_blocks: int = 8):
    """Xception with a stride-1 stem: 48 -> 24 -> 12 -> 6 -> 3 through the flows."""
    return nn.Sequential(
        conv_bn_relu(1, 32, 3, 1),
        conv_bn_relu(32, 64, 3, 1),
        XceptionBlock(64, 128, 2, 2, relu_first=False),
        XceptionBlock(128, 256, 2, 2),
        XceptionBlock(256, 728, 2, 2),
        *[XceptionBlock(728, 728, 3) for _ in range(middle_blocks)],
        XceptionBlock(728, 1024, 2, 2),
        SeparableConv(1024, 1536),
        nn.ReLU(inplace=True),
        SeparableConv(1536, 2048),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(2048, num_classes),
    )


@register("mini_xception")
def mini_xception(num_classes=NUM_CLASSES):
    """The ``fer`` package's mini-Xception: 2 convs of 8, 4 residual modules 16-128, conv head."""
    return nn.Sequential(
        conv_bn_relu(1, 8, 3),
        conv_bn_relu(8, 8, 3),
        *[XceptionBlock(cin, cout, 2, 2) for cin, cout in ((8, 16), (16, 32), (32, 64), (64, 128))],
        nn.Conv2d(128, num_classes, 3, padding=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


# --- DeXpression -------------------------------------------------------------------------------


class FeatEx(nn.Module):
    """DeXpression's parallel feature extraction: (1x1 -> 3x3) || (3x3 max-pool -> 1x1)."""

    def __init__(self, cin):
        super().__init__()
        self.conv_path = nn.Sequential(conv_bn_relu(cin, 96, 1), conv_bn_relu(96, 208, 3))
        self.pool_path = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn_relu(cin, 64, 1))
        self.pool = nn.MaxPool2d(3, 2, 1)

    def forward(self, x):
        return self.pool(torch.cat([self.conv_path(x), self.pool_path(x)], dim=1))


@register("dexpression")
def dexpression(num_classes=NUM_CLASSES):
    """Conv 7x7 -> pool -> LRN -> FeatEx -> FeatEx -> FC (strides adapted to 48x48)."""
    return nn.Sequential(
        conv_bn_relu(1, 64, 7, 1),
        nn.MaxPool2d(3, 2, 1),
        nn.LocalResponseNorm(5),
        FeatEx(64),
        FeatEx(272),
        nn.Flatten(),
        nn.Dropout(0.4),
        nn.Linear(272 * 6 * 6, num_classes),
    )


# --- ResNets -----------------------------------------------------------------------------------


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride=1):
        super().__init__()
        cout = width * self.expansion
        self.body = nn.Sequential(
            conv_bn_relu(cin, width, 1),
            conv_bn_relu(width, width, 3, stride),
            nn.Conv2d(width, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        nn.init.zeros_(self.body[-1].weight)  # each block starts as the identity: deep nets train from scratch
        self.skip = (
            nn.Identity()
            if cin == cout and stride == 1
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + self.skip(x))


class ResNet50(nn.Module):
    """ResNet-50 with a 3x3 stride-1 stem; stages run at 24, 12, 6 and 3 pixels."""

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.stem = conv_bn_relu(1, 64, 3, 1)
        stages, cin = [], 64
        for width, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
            for b in range(blocks):
                stages.append(Bottleneck(cin, width, 2 if b == 0 else 1))
                cin = width * Bottleneck.expansion
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(cin, num_classes))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


@register("resnet50")
def resnet50(num_classes=NUM_CLASSES, imagenet_checkpoint: str | None = None):
    model = ResNet50(num_classes)
    if imagenet_checkpoint:
        load_matching_weights(model, imagenet_checkpoint)
    return model


def load_matching_weights(model: nn.Module, checkpoint_path: str) -> list[str]:
    """Load a user-supplied checkpoint, keeping only tensors whose shapes match.

    Returns the names that were loaded (the stem and classifier of an ImageNet ResNet-50
    differ from ours in shape and are skipped).
    """
    state = read_checkpoint(checkpoint_path)
    state = state.get("state_dict", state)
    own = model.state_dict()
    # names differ (torchvision's layer1.0.conv1 vs ours): match in order, looking a few
    # tensors ahead for the same shape; a tensor of ours with no match keeps its init
    theirs = [v for v in state.values() if hasattr(v, "shape")]
    loaded, j = [], 0
    for name, tensor in own.items():
        ahead = next((k for k in range(j, min(j + 4, len(theirs))) if tuple(theirs[k].shape) == tuple(tensor.shape)), None)
        if ahead is None:
            continue
        own[name] = theirs[ahead].to(tensor.dtype)
        loaded.append(name)
        j = ahead + 1
    model.load_state_dict(own)
    return loaded


class PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.skip = None if cin == cout and stride == 1 else nn.Conv2d(cin, cout, 1, stride, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(self.bn1(x))
        skip = x if self.skip is None else self.skip(out)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.bn2(out)))
        return out + skip


@register("resnet18_pre")
def resnet18_pre(num_classes=NUM_CLASSES, width: int = 64):
    layers, cin = [nn.Conv2d(1, width, 3, 1, 1, bias=False)], width
    for i, w in enumerate((width, width * 2, width * 4, width * 8)):
        for b in range(2):
            layers.append(PreActBlock(cin, w, 2 if (b == 0 and i > 0) else 1))
            cin = w
    layers += [nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Dropout(0.3), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


# --- ConvNeXt-like -----------------------------------------------------------------------------


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of an ``(N, C, H, W)`` map (ConvNeXt's channels-first LayerNorm)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """7x7 depthwise -> channel LayerNorm -> 1x1 to 4x -> GELU -> 1x1 back, scaled (layer scale) and added."""

    def __init__(self, dim: int, layer_scale: float = 0.1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim),
            ChannelNorm(dim),
            nn.Conv2d(dim, 4 * dim, 1),
            nn.GELU(),
            nn.Conv2d(4 * dim, dim, 1),
        )
        self.scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))

    def forward(self, x):
        return x + self.scale * self.body(x)


@register("convnext48")
def convnext48(num_classes=NUM_CLASSES, widths=(48, 96, 192, 384), depths=(2, 2, 6, 2)):
    """Stride-1 3x3 stem; each later stage starts with a channel LayerNorm and a 2x2 stride-2 convolution."""
    layers: list[nn.Module] = [nn.Conv2d(1, widths[0], 3, 1, 1), ChannelNorm(widths[0])]
    for i, (width, depth) in enumerate(zip(widths, depths)):
        if i:
            layers += [ChannelNorm(widths[i - 1]), nn.Conv2d(widths[i - 1], width, 2, 2)]
        layers += [ConvNeXtBlock(width) for _ in range(depth)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(widths[-1]), nn.Dropout(0.3),
               nn.Linear(widths[-1], num_classes)]
    return nn.Sequential(*layers)
