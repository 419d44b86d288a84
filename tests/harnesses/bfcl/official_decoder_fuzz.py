"""Differential fuzz, run by the official bfcl-eval venv's python (see
test_official_agreement.py): random raw texts decoded by the official decoders
(Qwen prompting handler for Python/Java/JavaScript, Qwen FC handler) and by our
official_decode module, which is loaded from its file (it needs only the
standard library and tree-sitter, which that venv has at the same versions).

    python official_decoder_fuzz.py OUR_MODULE_PATH SEED N   -> prints {"compared", "differ", "examples"}
"""

import importlib.util
import json
import random
import sys
from types import SimpleNamespace

from bfcl_eval.model_handler.local_inference.qwen import QwenHandler
from bfcl_eval.model_handler.local_inference.qwen_fc import QwenFCHandler

spec = importlib.util.spec_from_file_location("official_decode", sys.argv[1])
ours = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ours)
rng = random.Random(int(sys.argv[2]))
PROMPT, FC = object.__new__(QwenHandler), object.__new__(QwenFCHandler)

VALUES = ["1", "-2", "3.5", "'x'", '"y z"', "True", "true", "None", "null", "[1, 'a']", "{'k': 1}", "(1, 2)", "g(x=1)",
          "g(1)", "a.b", "a[0]", "1+2", "'a'*3", "-x", "+3", "not 0", "~1", "lambda: 1", "...", "f'{1}'", "{1, 2}", "1/0",
          "2**10", "new int[]{1,2}", "5L", "1.5f", "'c'", "new ArrayList<>(Arrays.asList(1, 2))", "{a: 1}", "`t`", "10n",
          "'é'", '"ü"', "b'x'", "3j", "-3j", "-True", "-'s'", "x if y else z", "1 < 2", "[*a]", "{**a}", "a and b"]
NAMES = ["f", "obj.f", "a.b.c", "f_v2", "math.hypot"]
WRAPS = ["[{}]", "{}", "[ {} ]", "[[{}]]", "```python\n[{}]\n```", "```\n[{}]\n```", "Sure: [{}]", "[{}]\nok",
         "<think>x</think>\n[{}]", "\t[{}]", "[{}];", "'[{}]'", "({})", "{{{}}}", "`[{}]`", "\n\n[{}]  ", "[{}]\r\n"]
CALLS = [{"name": "f", "arguments": {"a": 1}}, {"name": "g"}, {"arguments": {}}, {"name": "h", "arguments": "{\"a\": 1}"},
         {"name": 7, "arguments": {}}, {"name": ["x"], "arguments": {}}, {"name": "k", "arguments": [1]}]


def response(text):
    return SimpleNamespace(choices=[SimpleNamespace(text=text)], usage=SimpleNamespace(prompt_tokens=0, completion_tokens=0))


def call_text():
    parts = [v if rng.random() < 0.1 else f"{rng.choice('abca')}={v}" for v in rng.choices(VALUES, k=rng.randint(0, 3))]
    return f"{rng.choice(NAMES)}({', '.join(parts)})"


def prompt_text():
    calls = [call_text() for _ in range(rng.randint(0, 3))]
    return rng.choice(WRAPS).format(rng.choice([", ", ",\n", "\n", "; "]).join(calls))


def fc_text():
    blocks = []
    for call in rng.choices(CALLS, k=rng.randint(0, 3)):
        body = rng.choice([json.dumps(call), json.dumps(call) + ",", repr(call), json.dumps([call]), "{bad"])
        blocks.append(rng.choice(["<tool_call>\n{}\n</tool_call>", "<tool_call>{}</tool_call>", "<tool_call>\n{}\n"]).format(body))
    return rng.choice(["{}", "x\n{}", "<think>a</think>\n{}"]).format("\n".join(blocks))


def outcome(fn):
    try:
        return repr(fn())
    except Exception:
        return "decode error"


compared, differ = 0, []
for _ in range(int(sys.argv[3])):
    text = prompt_text()
    stored = PROMPT._parse_query_response_prompting(response(text))["model_responses"]
    for language in ("Python", "Java", "JavaScript"):
        official = outcome(lambda: PROMPT.decode_ast(stored, language))
        mine = outcome(lambda: ours.decode_prompt_text(text, language))
        compared += 1
        if official != mine:
            differ.append([language, text, official, mine])
    text = fc_text()
    stored = FC._parse_query_response_prompting(response(text))["model_responses"]
    compared += 1
    official, mine = outcome(lambda: FC.decode_ast(stored)), outcome(lambda: ours.decode_fc_text(text))
    if official != mine:
        differ.append(["FC", text, official, mine])
print(json.dumps({"compared": compared, "differ": len(differ), "examples": differ[:10]}))
