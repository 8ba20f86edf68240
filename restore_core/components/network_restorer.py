"""Restorers backed by a torch network: weight lookup, caching and inference conventions.

Importing this module (as every network plugin does to subclass NetworkRestorer) does not import
torch, the tiling code or safetensors: they load when a network is built, run or read, so that
registering and listing restorers stays cheap.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from restore_core.components.backends import Backend, Runner, ShapeRange
from restore_core.components.interfaces import DegradationInfo, TrainableRestorer
from restore_core.errors import OutputError, UsageError, WeightsNotFoundError

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
        """Return the tile side used for a network input of `shape` (None: untiled)."""
        if self.tile == "auto":
            import torch

            from restore_core.imaging.tiling import auto_tile

            device = self.backend.target_device() if self.backend is not None else torch.device("cpu")
            return auto_tile(self.network, shape, device)
        return self.tile or None

    def untiled(self, x: torch.Tensor) -> torch.Tensor:
        """Run the network on the whole of `x`, through the backend."""
        return self._runner(tuple(x.shape))(x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Run the network on `x`, tiling when it is larger than the tile."""
        return self.tiled(self.untiled, x)

    def tiled(self, pipeline: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, scale: int = 1,
              context: int = 0, channels: int | None = None) -> torch.Tensor:
        """Apply `pipeline` to `x` tile by tile when the network's input would exceed the tile.

        `pipeline` turns an input into `scale` times as many pixels (up-sampling, colour conversion)
        and calls `untiled` on what the network sees, which has `channels` channels (None: those of
        `x`); it needs `context` input pixels around each output pixel besides the network's own
        receptive field. So every step holds one tile at a time, and the result equals
        `pipeline(x)` within floating-point rounding.
        """
        from restore_core.imaging.tiling import BLEND, run_tiled, size_multiple

        n, c, h, w = x.shape
        c = c if channels is None else channels
        tile = self.tile_for((n, c, h * scale, w * scale))
        if tile is None or (h * scale <= tile and w * scale <= tile):
            return pipeline(x)
        # margins and blend in input pixels, enough to cover the network's reach in output pixels
        margin = context + -(-self.margin // scale)
        blend = -(-BLEND // scale)
        side = tile // scale
        if side <= 2 * margin + blend:
            raise UsageError(f"--tile {tile} is too small for {type(self.network).__name__} at x{scale}: its "
                             f"tiles overlap by {(2 * margin + blend) * scale} output pixels; use a tile "
                             f"larger than {(2 * margin + blend + 1) * scale} or --tile auto")
        align = size_multiple(self.network)
        longest = (side + align - 1) * scale  # the last tile may run a little longer
        # prepare the backend for the largest tile first, so every later tile fits its shape range
        self._runner((n, c, min(longest, h * scale), min(longest, w * scale)))
        return run_tiled(pipeline, x, side, margin, blend=blend, align=align, scale=scale)


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

    def inference_description(self) -> str:
        """Say what inference runs with: backend, precision, memory format (`Backend.describe`)."""
        if self.backend is None:
            return "plain PyTorch fp32 channels-last (no backend configured)"
        return self.backend.describe()

    def network_for(self, info: DegradationInfo, channels: int) -> torch.nn.Module:
        """Return the trained network for `info` and `channels`, loading its weights once (e.g. to export it)."""
        self.prepare(info, channels)
        return self._networks[self.weights_key(info, channels)]

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
            # the key names the configuration (scale, sigma, channels) the weights were trained for; a
            # file that does not say is taken only under the name of what it is used for, never for any
            stored = read_metadata(path).get("key")
            if stored is None and path.stem != key:
                raise WeightsError(f"weights {str(path)!r} do not record what they were trained for (no key in "
                                   f"their metadata); to use them as {key}, name the file {key}.safetensors")
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
            if not all_finite(out):
                path = self.weights_path(info, channels)
                raise OutputError(f"{self.short_spec()} returned values that are not finite numbers (NaN or "
                                  f"infinity) with weights {str(path)!r}: the weights are broken; nothing written")
            out = out.contiguous().float()
            # in place unless the network handed back its input: the output may be most of the memory used
            shared = out.untyped_storage().data_ptr() == degraded.untyped_storage().data_ptr()
            return out.clamp(0.0, 1.0) if shared else out.clamp_(0.0, 1.0)


def all_finite(images: torch.Tensor) -> bool:
    """Whether every value of `images` is a finite number, checked a band of rows at a time."""
    import torch

    # a band at a time: a whole-image mask would cost a quarter of a float image
    return all(bool(torch.isfinite(band).all()) for band in images.split(256, dim=-2))
