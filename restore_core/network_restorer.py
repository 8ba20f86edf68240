"""Restorers backed by a torch network: weight lookup, caching and inference conventions."""

from __future__ import annotations

from abc import abstractmethod
from importlib import resources
from pathlib import Path
from typing import ClassVar

import torch

from restore_core.errors import WeightsNotFoundError
from restore_core.interfaces import DegradationInfo, TrainableRestorer
from restore_core.weights import WeightsError, load_weights, read_metadata


class NetworkRestorer(TrainableRestorer):
    """A trainable restorer whose weights live in a plugin package or a file given as `weights`."""

    #: importable package holding `<weights_key>.safetensors` files shipped with the plugin
    weights_package: ClassVar[str | None] = None

    weights: str | None

    def __init__(self, weights: str | None = None) -> None:
        self.weights = weights
        self._networks: dict[str, torch.nn.Module] = {}

    @abstractmethod
    def run_network(
        self, network: torch.nn.Module, degraded: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Map a degraded batch to the restored batch with `network` (no clipping needed)."""

    @abstractmethod
    def training_degradation(self, info: DegradationInfo) -> str:
        """Return the degradation spec weights for `info` are trained under."""

    def weights_path(self, info: DegradationInfo, channels: int) -> Path | None:
        """Return the weights file for this configuration, or None when there is none."""
        if self.weights is not None:
            return Path(self.weights).expanduser()
        if self.weights_package is None:
            return None
        candidate = resources.files(self.weights_package) / f"{self.weights_key(info, channels)}.safetensors"
        return Path(str(candidate)) if candidate.is_file() else None

    def prepare(self, info: DegradationInfo, channels: int) -> None:
        """Load (once) the network for `info` and `channels`."""
        key = self.weights_key(info, channels)
        if key in self._networks:
            return
        path = self.weights_path(info, channels)
        if path is None or not path.is_file():
            where = f"file {str(path)!r} does not exist" if path else f"no {key}.safetensors is shipped"
            raise WeightsNotFoundError(
                f"{self.short_spec()} has no weights for {channels}-channel images under "
                f"{self.training_degradation(info)} ({where}); train them with: restore train "
                f"--restorer {self.short_spec()} --degradation {self.training_degradation(info)} "
                f"--dataset FOLDER --channels {channels} --out {key}.safetensors"
            )
        if self.weights is not None:
            stored = read_metadata(path).get("key")
            if stored is not None and stored != key:
                raise WeightsError(f"weights {str(path)!r} were trained as {stored}, not {key}")
        network = self.build_network(channels)
        load_weights(path, network)
        self.load_network(network, info, channels)

    def load_network(self, network: torch.nn.Module, info: DegradationInfo, channels: int) -> None:
        """Use `network` for `info` and `channels` from now on."""
        network.eval()
        self._networks[self.weights_key(info, channels)] = network.to(memory_format=torch.channels_last)

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Restore with the network for this configuration; output clipped to [0, 1]."""
        channels = degraded.shape[1]
        self.prepare(info, channels)
        network = self._networks[self.weights_key(info, channels)]
        with torch.inference_mode():
            x = degraded.contiguous(memory_format=torch.channels_last)
            out = self.run_network(network, x, info)
        return out.clamp(0.0, 1.0).contiguous().float()
