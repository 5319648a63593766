"""Prompts with images for a Gemma-family model in this process (DiffusionGemma): each image
goes through the Gemma 4 image processor (patches, and how many soft tokens it becomes), and
the prompt's ids get `<start_of_image>`, that many image tokens and `<end_of_image>` where the
chat text marks it. The model's vision tower turns the patches into the soft tokens, so
`tokens_in` counts them as the model sees them. The token ids come from the model's config,
so the tiny development checkpoint (SmolLM2's tokenizer) and the real one work alike."""

import io
from collections.abc import Sequence
from typing import Any

from genroute.interfaces import GenerationRequest
from genroute.workers.engines.chat_prompts import chat_text

# Stands where an image goes in the chat text; never tokenised (the text is split on it).
IMAGE_MARKER = "\ue000"


class VisionPrompts:
    """Builds a batch's model inputs when any of its requests shows images."""

    def __init__(self, tokenizer: Any, config: Any, soft_tokens: int, pad_id: int) -> None:
        from transformers.models.gemma4.image_processing_pil_gemma4 import (
            Gemma4ImageProcessorPil,
        )

        vision = config.vision_config
        self._processor = Gemma4ImageProcessorPil(
            max_soft_tokens=soft_tokens,
            patch_size=vision.patch_size,
            pooling_kernel_size=vision.pooling_kernel_size,
        )
        self._tokenizer = tokenizer
        self._begin, self._end = config.boi_token_id, config.eoi_token_id
        self._image = config.image_token_id
        self._pad = pad_id

    def inputs(self, requests: Sequence[GenerationRequest]) -> dict[str, Any]:
        """input_ids, attention_mask, mm_token_type_ids (1 on image tokens), pixel_values and
        image_position_ids for the batch, padded on the tokenizer's side."""
        import torch
        from PIL import Image

        images = [image for request in requests for image in request.images]
        pictures = [Image.open(io.BytesIO(image.data)).convert("RGB") for image in images]
        processed = self._processor(images=pictures, return_tensors="pt")
        soft_tokens = iter(int(n) for n in processed["num_soft_tokens_per_image"])
        rows = [self._ids(request, soft_tokens) for request in requests]
        width = max(len(row) for row in rows)
        left = self._tokenizer.padding_side == "left"
        ids, mask = [], []
        for row in rows:
            padding = [self._pad] * (width - len(row))
            ids.append(padding + row if left else row + padding)
            ones, zeros = [1] * len(row), [0] * len(padding)
            mask.append(zeros + ones if left else ones + zeros)
        input_ids = torch.tensor(ids)
        return {
            "input_ids": input_ids,
            "attention_mask": torch.tensor(mask),
            "mm_token_type_ids": (input_ids == self._image).long(),
            "pixel_values": processed["pixel_values"],
            "image_position_ids": processed["image_position_ids"],
        }

    def _ids(self, request: GenerationRequest, soft_tokens: Any) -> list[int]:
        pieces = chat_text(self._tokenizer, request, IMAGE_MARKER).split(IMAGE_MARKER)
        ids = self._tokenizer(pieces[0], add_special_tokens=False)["input_ids"]
        for piece in pieces[1:]:
            ids += [self._begin, *[self._image] * next(soft_tokens), self._end]
            ids += self._tokenizer(piece, add_special_tokens=False)["input_ids"]
        return ids
