"""A request's messages through a model's chat template (templates without a system role get
the system prompt folded into the first user turn)."""

from typing import Any

from genroute.interfaces import GenerationRequest


def chat_text(tokenizer: Any, request: GenerationRequest) -> str:
    """The request through the model's chat template; templates without a system role get the
    system prompt folded into the first user turn."""
    messages = request.chat_messages()
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception:  # jinja raises its own error types for unsupported roles
        return tokenizer.apply_chat_template(
            _system_folded(messages), tokenize=False, add_generation_prompt=True
        )


def _system_folded(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns = [m for m in messages if m["role"] != "system"]
    first = turns[0]
    return [{"role": first["role"], "content": f"{system}\n\n{first['content']}"}, *turns[1:]]
