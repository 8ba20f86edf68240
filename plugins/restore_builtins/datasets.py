"""Built-in datasets: the embedded default (scikit-image's photographs) and the standard public sets.

The embedded sets use only the natural photographs that ship inside scikit-image's wheel, so they
work offline on any machine: astronaut, chelsea, coffee, motorcycle_left and rocket in colour, plus
camera and coins in the gray variant. Textures (brick, grass, gravel), microscopy (cell, ihc,
retina), astronomy (hubble), synthetic and text images are left out: they are not what a denoiser or
an upscaler of photographs is judged on.

The public sets record their source, count, mode, citation and per-file checksums (from
`dataset_checksums.json`, made from the files as their publishers distribute them).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from restore_core import hookimpl
from restore_core.data.datasets import Dataset, ImageRecord, PublicDataset
from restore_core.errors import DatasetError

SKIMAGE_COLOUR = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")
SKIMAGE_GRAY_ONLY = ("camera.png", "coins.png")


class SkimageDataset:
    """The embedded default: scikit-image's bundled photographs, in colour or gray (BT.601 luma)."""

    def __init__(self, gray: bool) -> None:
        self.gray = gray
        self.name = "skimage-gray" if gray else "skimage"
        self.count = 7 if gray else 5
        self.mode = "gray" if gray else "rgb"
        self.description = ("scikit-image photographs in gray, 7 images (embedded default)" if gray
                            else "scikit-image colour photographs, 5 images (embedded default)")

    def __call__(self) -> Dataset:
        """Return the set; the files ship inside scikit-image, so it is always available."""
        import skimage

        from restore_core.imaging.io import read_image

        root = Path(skimage.__file__).parent / "data"
        files = SKIMAGE_COLOUR + (SKIMAGE_GRAY_ONLY if self.gray else ())
        missing = [f for f in files if not (root / f).is_file()]
        if missing:
            raise DatasetError(f"scikit-image's bundled images are missing: {', '.join(missing)}")

        def loader(path: Path):
            return lambda mode: read_image(path, mode=mode)

        records = tuple(ImageRecord(Path(f).stem, loader(root / f), root / f) for f in sorted(files))
        return Dataset(self.name, records, "gray" if self.gray else "rgb", self.description)


def _checksums(layout: str) -> dict[str, str]:
    table = json.loads(resources.files(__package__).joinpath("dataset_checksums.json").read_text())
    return table[layout]


_FFDNET = "https://raw.githubusercontent.com/cszn/FFDNet/master/testsets/"
_BSDS = "Martin, Fowlkes, Tal, Malik, ICCV 2001 (Berkeley Segmentation Dataset); research use"


def public_datasets() -> list[PublicDataset]:
    """Return the standard public sets this plugin knows."""
    kodak = {f"kodim{i:02d}.png": None for i in range(1, 25)}
    mcmaster = {f"{i}.tif": None for i in range(1, 19)}
    return [
        PublicDataset("set12", "Set12: 12 gray images, classic denoising test set", "test/set12",
                      _checksums("test/set12"), 12, "gray", "github.com/cszn/FFDNet testsets/Set12",
                      "Zhang et al., DnCNN, IEEE TIP 2017; research use", _FFDNET + "Set12/"),
        PublicDataset("bsd68", "BSD68: 68 gray 481x321 images, denoising test set", "test/bsd68",
                      _checksums("test/bsd68"), 68, "gray", "github.com/cszn/FFDNet testsets/BSD68",
                      f"Roth and Black, CVPR 2005; {_BSDS}", _FFDNET + "BSD68/"),
        PublicDataset("cbsd68", "CBSD68: 68 colour 481x321 images, colour denoising test set", "test/cbsd68",
                      _checksums("test/cbsd68"), 68, "rgb", "github.com/cszn/FFDNet testsets/CBSD68",
                      f"Roth and Black, CVPR 2005; {_BSDS}", _FFDNET + "CBSD68/"),
        PublicDataset("set5", "Set5: 5 colour images, super-resolution test set", "test/set5",
                      _checksums("test/set5"), 5, "rgb",
                      "github.com/cszn/DnCNN testsets/Set5 (BMP; converted losslessly to PNG, so not downloadable "
                      "byte-identical)", "Bevilacqua et al., BMVC 2012; research use"),
        PublicDataset("set14", "Set14: 14 images (2 gray), super-resolution test set", "test/set14",
                      _checksums("test/set14"), 14, "auto",
                      "github.com/cszn/DnCNN testsets/Set14 (BMP; converted losslessly to PNG)",
                      "Zeyde, Elad, Protter, Curves and Surfaces 2010; research use"),
        PublicDataset("bsd400", "BSD400: 400 gray 180x180 crops, DnCNN gray training set", "train/bsd400",
                      _checksums("train/bsd400"), 400, "gray", "github.com/SaoYan/DnCNN-PyTorch data/train",
                      f"Chen and Pock, TNRD 2017 (the crops); {_BSDS}",
                      "https://raw.githubusercontent.com/SaoYan/DnCNN-PyTorch/master/data/train/"),
        PublicDataset("cbsd432", "CBSD432: 432 colour images, BSDS500 minus CBSD68 (colour training set)",
                      "train/cbsd432", _checksums("train/cbsd432"), 432, "rgb",
                      "github.com/BIDS/BSDS500 BSDS500/data/images (train, val and test folders)",
                      f"Arbelaez et al., TPAMI 2011; {_BSDS}"),
        PublicDataset("kodak24", "Kodak24: 24 colour 768x512 photographs (no checksums recorded)", "test/kodak24",
                      kodak, 24, "rgb", "r0k.us/graphics/kodak", "Eastman Kodak; free for research use"),
        PublicDataset("mcmaster", "McMaster: 18 colour 500x500 crops (no checksums recorded)", "test/mcmaster",
                      mcmaster, 18, "rgb", "www4.comp.polyu.edu.hk/~cslzhang/CDM_Dataset.htm",
                      "Zhang, Wu, Buades, Li, J. Electronic Imaging 2011; research use"),
        PublicDataset("fashion-mnist", "Fashion-MNIST test split: 10,000 gray 28x28 clothing images",
                      "test/fashion-mnist", _checksums("test/fashion-mnist"), 10_000, "gray",
                      "github.com/zalandoresearch/fashion-mnist data/fashion (publisher's MD5s)",
                      "Xiao, Rasul, Vollgraf, arXiv:1708.07747, 2017; MIT licence",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                      reader="idx"),
        PublicDataset("fashion-mnist-sample", "900 real Fashion-MNIST images (90 per class), gray 28x28",
                      "test/fashion-mnist-sample", _checksums("test/fashion-mnist-sample"), 900, "gray",
                      "github.com/zalandoresearch/fashion-mnist doc/img/fashion-mnist-sprite.png (cut into IDX)",
                      "Xiao, Rasul, Vollgraf, arXiv:1708.07747, 2017; MIT licence", reader="idx"),
    ]


@hookimpl
def register_datasets(register) -> None:
    """Register the embedded default and the standard public sets."""
    register(SkimageDataset(gray=False), aliases=("default",))
    register(SkimageDataset(gray=True), aliases=("default-gray",))
    for entry in public_datasets():
        register(entry)
