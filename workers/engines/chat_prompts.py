"""A request's messages through a model's chat template (templates without a system role get
the system prompt folded into the first user turn), with a marker where each of its images
goes: before the last user turn's text, each after its label."""

from typing import Any

from genroute.interfaces import GenerationRequest, ImageInput


def chat_text(tokenizer: Any, request: GenerationRequest, image_marker: str = "") -> str:
    """The request through the model's chat template; templates without a system role get the
    system prompt folded into the first user turn. With `image_marker`, the marker stands
    where each of the request's images goes (the caller puts the image's tokens there)."""
    messages = request.chat_messages()
    if image_marker and request.images:
        messages = with_images_first(messages, request.images, image_marker)
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception:  # jinja raises its own error types for unsupported roles
        return tokenizer.apply_chat_template(
            _system_folded(messages), tokenize=False, add_generation_prompt=True
        )


def with_images_first(
    messages: list[dict[str, str]], images: tuple[ImageInput, ...], marker: str
) -> list[dict[str, str]]:
    """`messages` with the last user turn led by each image's label and marker."""
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    shown = "".join(f"{image.label}: {marker}\n" for image in images)
    turn = messages[last_user]
    return [
        *messages[:last_user],
        {"role": "user", "content": f"{shown}\n{turn['content']}"},
        *messages[last_user + 1 :],
    ]


def _system_folded(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns = [m for m in messages if m["role"] != "system"]
    first = turns[0]
    return [{"role": first["role"], "content": f"{system}\n\n{first['content']}"}, *turns[1:]]
