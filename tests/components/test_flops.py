"""FLOP counting: the closed forms of a plain and a downsampling network."""

from __future__ import annotations

import pytest
from torch import nn

from restore_core.components.flops import flops_per_pixel
from restore_core.plugins.host import default_host

HOST = default_host()


def test_dncnn17_costs_its_closed_form():
    network = HOST.registry("restorer").build("dncnn:layers=17").build_network(1)
    expected = 2 * 9 * (1 * 64 + 15 * 64 * 64 + 64 * 1)
    assert flops_per_pixel(network, 1) == pytest.approx(expected)


def test_strided_and_transposed_convolutions_are_priced_at_their_resolution():
    network = nn.Sequential(nn.Conv2d(4, 8, 2, stride=2), nn.ConvTranspose2d(8, 4, 2, stride=2))
    # the down conv: one output per 4 pixels, 2*2*4 MACs per output channel; the up conv: the same
    expected = 2 * (8 * 16 / 4 + 8 * 4 * 4 / 4)
    assert flops_per_pixel(network, 4, size=32) == pytest.approx(expected)
