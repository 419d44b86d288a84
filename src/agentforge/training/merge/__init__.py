"""`agent train merge`: merge fine-tuned checkpoints of one base model (linear, task arithmetic,
TIES, SCE) into one Hugging Face checkpoint that `agent serve -m embedded:PATH` can serve.

The tensor math is mergekit's (it installs beside our pins: the `merge` extra). This package
turns our options into a mergekit configuration (spec.py), checks the inputs before any tensor
is read (checkpoints.py), runs the merge and completes the output with the tokenizer, chat
template and generation config (run.py); cli.py is the typer command.
"""
