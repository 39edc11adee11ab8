"""Stop conditions checked after every sampled token."""

from __future__ import annotations

from minivllm.request import Request, RequestStatus


# upstream: vllm/v1/core/sched/utils.py:94 — check_stop()
def check_stop(request: Request, max_model_len: int) -> bool:
    """Finish ``request`` if its newest token ends it; return whether it did.

    EOS and stop tokens are ignored until ``min_tokens`` tokens exist; the
    context-length cap is not, because positions past it have no rotary
    embedding and no room in the model.
    """
    params = request.sampling_params
    if request.num_tokens >= max_model_len:
        request.status = RequestStatus.FINISHED_LENGTH_CAPPED
        return True
    if request.num_output_tokens < params.min_tokens:
        return False
    last = request.output_token_ids[-1]
    if last == request.eos_token_id and not params.ignore_eos:
        request.status = RequestStatus.FINISHED_STOPPED
        return True
    if last in params.stop_token_ids:
        request.status = RequestStatus.FINISHED_STOPPED
        request.stop_reason = last
        return True
    if request.num_output_tokens >= params.max_tokens:
        request.status = RequestStatus.FINISHED_LENGTH_CAPPED
        return True
    return False


def check_stop_strings(request: Request, new_text: str) -> bool:
    """Finish ``request`` if its text now contains one of its stop strings."""
    params = request.sampling_params
    detok = request.detokenizer
    if detok is None or not params.stop or request.num_output_tokens <= params.min_tokens:
        return False
    stop_str = detok.truncate_at_stop(len(new_text), params.stop, params.include_stop_str_in_output)
    if stop_str is None:
        return False
    request.status = RequestStatus.FINISHED_STOPPED
    request.stop_reason = stop_str
    return True
