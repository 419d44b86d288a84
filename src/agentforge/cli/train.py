"""`agent train ...`: the training pipeline's commands (data synthesis, SFT, RL, merging).

The commands themselves live beside the code they drive (training/sft/cli.py,
training/rl/cli.py, training/merge/cli.py, training/synth/*/cli.py) and are
light to import: torch loads when one runs. This module only mounts them
under `agent train`.
"""

from __future__ import annotations

import typer

import agentforge.training.synth.tools.cli  # noqa: F401  (registers `train synth tools` and `check`)
from agentforge.training.merge.cli import merge as merge_command
from agentforge.training.rl.cli import rl as rl_command
from agentforge.training.sft.cli import sft as sft_command
from agentforge.training.synth.swe.cli import synth_app

train_app = typer.Typer(help="The training pipeline: data synthesis, SFT, RL and merging.", no_args_is_help=True)
train_app.add_typer(synth_app, name="synth")
train_app.command("sft")(sft_command)
train_app.command("rl")(rl_command)
train_app.command("merge")(merge_command)
