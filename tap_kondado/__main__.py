"""`python -m tap_kondado`."""

from tap_kondado.tap import TapKondado

TapKondado.cli()
