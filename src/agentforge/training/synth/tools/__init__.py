"""Tool-use training data: `agent train synth tools` (and `agent train synth check`).

- catalog/: the function families, written here (~280 in ~110 domains);
- values, schema, languages, phrasing, shapes: a family rendered as a tool in
  one of many styles (BFCL FC-mode format), a user request, and the gold
  assistant turn, in six single-turn shapes mixed by mix.py;
- generate: the deterministic procedural generator (dedupe, validation, filter);
- records: validation of any `{messages, tools}` record, from any source;
- contamination: overlap with BFCL v3 and the filter that keeps it out;
- tokens: token counts under the embedded model's chat template;
- build, cli: the commands.
Two more sources plug in by module when present: episodes/ (multi-turn
stateful episodes, the `multi_turn` shape) and teacher.py (`--teacher`).
"""
