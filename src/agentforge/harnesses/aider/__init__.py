"""Aider Polyglot (`agent bench aider`): 225 Exercism exercises in 6 languages, Aider's protocol.

    data.py          the exercises, their file roles, fresh copies (agentic: hidden files absent)
    toolchains.py    the per-language test commands, offline (scripts/setup-polyglot.sh installs them)
    grading.py       tests restored and preprocessed as Aider does, run in the sandbox, pass = exit 0
    check.py         --check-toolchains
    aider_texts.py   Aider's prompt texts, read at run time from the aider-chat sdist
    chat.py          Aider's chat framing; edit_whole.py / edit_diff.py its edit formats
    protocol.py      the tries, the reflections, the test output fed back
    agentic.py       --agentic: our code agent on the exercise
    aider_metrics.py pass_rate_k, percent well-formed, .aider.results.json
    bench.py         the Harness; options.py the command's options
"""
