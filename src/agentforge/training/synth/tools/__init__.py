"""Tool-use training data: `agent train synth tools`.

- catalog/: the function families (written here, many domains);
- values, schema, phrasing, shapes: a family rendered as a tool, a user
  request, and the gold assistant turn, in several shapes (mix.py);
- generate: the deterministic procedural generator;
- records: validation of any `{messages, tools}` record;
- contamination: overlap with BFCL v3 and the filter that keeps it out;
- build, cli: the command.
Other sources plug in by module: episodes/ (multi-turn stateful episodes) and
teacher.py (teacher mode).
"""
