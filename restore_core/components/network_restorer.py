"""Restorers backed by a torch network: weight lookup, caching and inference conventions.

Importing this module (as every network plugin does to subclass NetworkRestorer) does not import
torch, the tiling code or safetensors: they load when a network is built, run or read, so that
registering and listing restorers stays cheap.
"""

from __future__ import annotations

from abc import abstractmethod
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from restore_core.components.backends import Backend, Runner, ShapeRange
from restore_core.components.interfaces import DegradationInfo, TrainableRestorer
from restore_core.errors import UsageError, WeightsNotFoundError

if TYPE_CHECKING:
    import torch

Tile = int | Literal["auto"] | None


class InferenceRunner:
    """Calls a network the way `restore` wants: through a backend, tiled when the image is large.

    Restorers receive this in place of their module, so `run_network` code stays `network(x)`.
    """

    def __init__(self, network: torch.nn.Module, backend: Backend | None, tile: Tile) -> None:
        from restore_core.imaging.tiling import BLEND, receptive_radius

        self.network = network
        self.backend = backend
        self.tile = tile
        self.margin = receptive_radius(network)
        overlap = 2 * self.margin + BLEND
        if isinstance(tile, int) and 0 < tile <= overlap:
            # tiles must overlap by the receptive field on both sides, or the seams would differ
            raise UsageError(f"--tile {tile} is too small for {type(network).__name__}: its tiles overlap by "
                             f"{overlap} pixels (twice its receptive radius {self.margin}, plus {BLEND} to blend); "
                             f"use a tile larger than {overlap} or --tile auto")
        self._prepared: list[tuple[ShapeRange, Runner]] = []

    def _default(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        with torch.inference_mode():
            return self.network(x.contiguous(memory_format=torch.channels_last))

    def _runner(self, shape: tuple[int, ...]) -> Runner:
        if self.backend is None:
            return self._default
        for shapes, runner in self._prepared:
            if shapes.contains(shape):
                return runner
        largest = max((s.max[-1] for s, _ in self._prepared), default=0)
        shapes = ShapeRange.around(shape, max_side=largest)
        runner = self.backend.prepare(self.network, shapes)
        self._prepared.append((shapes, runner))
        return runner

    def tile_for(self, shape: tuple[int, ...]) -> int | None:
        """Return the tile side used for an input of `shape` (None: untiled)."""
        if self.tile == "auto":
            import torch

            from restore_core.imaging.tiling import auto_tile

            device = self.backend.target_device() if self.backend is not None else torch.device("cpu")
            return auto_tile(self.network, shape, device)
        return self.tile or None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Run the network on `x`, tiling when it is larger than the tile."""
        from restore_core.imaging.tiling import BLEND, run_tiled, size_multiple

        tile = self.tile_for(tuple(x.shape))
        if tile is None or (x.shape[-2] <= tile and x.shape[-1] <= tile):
            return self._runner(tuple(x.shape))(x)
        longest = tile + size_multiple(self.network) - 1  # the last tile may run a little longer
        runner = self._runner((x.shape[0], x.shape[1], min(longest, x.shape[-2]), min(longest, x.shape[-1])))
        return run_tiled(runner, x, tile, self.margin, blend=BLEND, align=size_multiple(self.network))


class NetworkRestorer(TrainableRestorer):
    """A trainable restorer whose weights live in a plugin package or a file given as `weights`."""

    #: importable package holding `<weights_key>.safetensors` files shipped with the plugin
    weights_package: ClassVar[str | None] = None

    weights: str | None

    def __init__(self, weights: str | None = None) -> None:
        self.weights = weights
        self._networks: dict[str, torch.nn.Module] = {}
        self._runners: dict[str, InferenceRunner] = {}
        self.backend: Backend | None = None
        self.tile: Tile = "auto"

    def configure_inference(self, backend: Backend | None = None, tile: Tile = "auto") -> None:
        """Run through `backend` (None: plain channels-last PyTorch), tiled by `tile` pixels."""
        if isinstance(tile, int) and tile < 0:
            raise UsageError(f"tile must be positive, 0 (no tiling) or auto, got {tile}")
        if backend is not None:
            backend.check()
        self.backend, self.tile = backend, tile
        self._runners.clear()

    @abstractmethod
    def run_network(
        self, network: torch.nn.Module, degraded: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Map a degraded batch to the restored batch with `network` (no clipping needed)."""

    @abstractmethod
    def training_degradation(self, info: DegradationInfo) -> str:
        """Return the degradation spec weights for `info` are trained under."""

    def warm_start(self, network: torch.nn.Module, state: dict[str, torch.Tensor], sample: torch.Tensor) -> None:
        """Initialise `network` from another run's weights before training (here: the same architecture).

        `sample` is a batch of training inputs, for subclasses that must calibrate what they add.
        """
        from restore_core.train.weights import WeightsError

        try:
            network.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise WeightsError(f"the initial weights do not fit {self.short_spec()}: {first}") from None

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
        from restore_core.train.weights import WeightsError, load_weights, read_metadata

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
        import torch

        network.eval()
        key = self.weights_key(info, channels)
        self._networks[key] = network.to(memory_format=torch.channels_last)
        self._runners.pop(key, None)

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Restore with the network for this configuration; output clipped to [0, 1]."""
        import torch

        channels = degraded.shape[1]
        self.prepare(info, channels)
        key = self.weights_key(info, channels)
        runner = self._runners.get(key)
        if runner is None:
            runner = self._runners[key] = InferenceRunner(self._networks[key], self.backend, self.tile)
        with torch.inference_mode():
            out = self.run_network(runner, degraded, info)  # type: ignore[arg-type]
        return out.clamp(0.0, 1.0).contiguous().float()
