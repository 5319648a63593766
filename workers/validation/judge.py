"""The LLM judge: a strict rubric question about one output, put to a configured path's model,
answered "yes" or "no" and then the unsupported statement. The answer is parsed strictly: it
must begin with yes or no (any case, after markdown or a quote), or the check fails closed as
`judge_unparseable`. The judge runs only after every cheap check passed (pipeline.py), and its
GPU time is charged to the attempt it judged, so cost per accepted output stays honest."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from genroute.interfaces import Generation, GenerationRequest, ValidationInput, Verdict
from genroute.observability.tracing import record_model_call

JUDGE_SYSTEM_PROMPT = (
    "You are a strict reviewer of support-ticket summaries. You answer only from the ticket. "
    "Reply with 'yes' or 'no' as the first word, then name the unsupported statement, if any."
)
_ANSWER = re.compile(
    r"^[\s*_`>\"'#-]*(yes|no|ja|nein|oui|non|sí|si)\b[\s.,:;!)*_`-]*(.*)", re.I | re.S
)
_YES = frozenset({"yes", "ja", "oui", "sí", "si"})

Generate = Callable[[GenerationRequest], Generation]
CostOf = Callable[[Generation], dict[str, float]]


def judge_request(
    subject: ValidationInput, question: str, max_output_tokens: int
) -> GenerationRequest:
    prompt = f"Ticket:\n{subject.request_input}\n\nSummary:\n{subject.output}\n\n{question}"
    return GenerationRequest(JUDGE_SYSTEM_PROMPT, prompt, max_output_tokens, temperature=0.0)


def parse_answer(text: str) -> tuple[Literal["yes", "no"] | None, str]:
    """("yes" | "no", what follows it), or (None, "") when the answer does not begin with
    one; an answer in the ticket's language (ja, nein, oui, non, sí) is read the same."""
    match = _ANSWER.match(text)
    if match is None:
        return None, ""
    verdict: Literal["yes", "no"] = "yes" if match.group(1).lower() in _YES else "no"
    return verdict, match.group(2).strip()


@dataclass(frozen=True)
class Judge:
    """Asks `generate` (the judge path's engine) the rubric question about the output."""

    generate: Generate
    cost_of: CostOf
    path: str
    question: str
    max_output_tokens: int = 48
    name: str = "judge"
    model: str = ""

    def check(self, subject: ValidationInput) -> Verdict:
        generation = self.generate(judge_request(subject, self.question, self.max_output_tokens))
        usage = {
            "gen_ai.usage.input_tokens": generation.tokens_in,
            "gen_ai.usage.output_tokens": generation.tokens_out,
            "genroute.path": self.path,
            "genroute.judge": True,
        }
        record_model_call(self.model, generation.started_at, generation.finished_at, usage)
        verdict, rest = parse_answer(generation.text)
        details: dict[str, object] = {
            "path": self.path,
            "answer": generation.text,
            "verdict": verdict or "judge_unparseable",
            **{f"judge_{key}": value for key, value in self.cost_of(generation).items()},
        }
        if verdict == "no":
            details["unsupported"] = rest
        if verdict is None:
            details["reason"] = "judge_unparseable: the answer does not begin with yes or no"
        return Verdict(self.name, verdict == "yes", details)
