"""Tests for minivllm.sample.sampler."""

from __future__ import annotations

import torch

from minivllm.sample.metadata import SamplingMetadata
from minivllm.sample.sampler import Sampler, gather_logprobs


def _md(temps: list[float], **kw: object) -> SamplingMetadata:
    t = torch.tensor(temps)
    return SamplingMetadata(temperature=t, all_greedy=bool((t == 0).all()), **kw)


def test_greedy_rows_take_argmax() -> None:
    """Greedy rows return the argmax even when other rows sample randomly."""
    torch.manual_seed(0)
    logits = torch.randn(4, 30)
    out = Sampler()(logits, _md([0.0, 1.0, 0.0, 1.0]))
    assert out.sampled_token_ids[[0, 2]].tolist() == logits.argmax(-1)[[0, 2]].tolist()
    assert out.logprobs is None


def test_top_k_one_is_greedy_even_when_hot() -> None:
    """With top_k=1 the only candidate is the argmax, whatever the temperature."""
    torch.manual_seed(1)
    logits = torch.randn(3, 40)
    out = Sampler(seed=5)(logits, _md([5.0, 5.0, 5.0], top_k=torch.tensor([1, 1, 1])))
    assert out.sampled_token_ids.tolist() == logits.argmax(-1).tolist()


def test_blocked_tokens_are_never_sampled() -> None:
    """A blocked token (e.g. EOS before min_tokens) cannot be picked, even if it is the argmax."""
    logits = torch.zeros(2, 5)
    logits[:, 3] = 10.0
    blocked = torch.zeros(2, 5, dtype=torch.bool)
    blocked[:, 3] = True
    out = Sampler()(logits, _md([0.0, 1.0], blocked_tokens=blocked))
    assert 3 not in out.sampled_token_ids.tolist()


def test_penalties_change_the_greedy_choice() -> None:
    """A frequency penalty on the argmax token makes greedy pick the runner-up."""
    logits = torch.tensor([[1.0, 3.0, 2.5]])
    counts = torch.tensor([[0.0, 1.0, 0.0]])
    md = _md(
        [0.0],
        prompt_mask=torch.zeros(1, 3, dtype=torch.bool),
        output_counts=counts,
        repetition_penalties=torch.ones(1),
        presence_penalties=torch.zeros(1),
        frequency_penalties=torch.tensor([1.0]),
    )
    assert Sampler()(logits, md).sampled_token_ids.tolist() == [2]


def test_logprobs_are_raw_log_softmax_with_ranks() -> None:
    """Returned log-probs come from the unprocessed logits; the rank of the argmax is 1."""
    logits = torch.tensor([[0.0, 2.0, 1.0, -1.0]])
    out = Sampler()(logits, _md([0.0], max_num_logprobs=2))
    lp = logits.log_softmax(-1)
    assert out.logprobs is not None
    assert out.logprobs.topk_ids.tolist() == [[1, 2]]
    torch.testing.assert_close(out.logprobs.topk_logprobs, lp[:, [1, 2]])
    assert out.logprobs.sampled_ranks.tolist() == [1]


def test_gather_logprobs_rank_of_unlikely_token() -> None:
    """The rank of a sampled token is one plus the number of more likely tokens."""
    lp = torch.tensor([[-0.1, -3.0, -1.0, -2.0]])
    res = gather_logprobs(lp, 1, torch.tensor([3]))
    assert res.sampled_ranks.tolist() == [3]
    assert res.sampled_logprobs.tolist() == [-2.0]


def test_shared_generator_is_reproducible() -> None:
    """Two samplers with the same seed draw the same tokens."""
    logits = torch.zeros(6, 100)
    a = Sampler(seed=3)(logits, _md([1.0] * 6)).sampled_token_ids
    b = Sampler(seed=3)(logits, _md([1.0] * 6)).sampled_token_ids
    assert a.tolist() == b.tolist()


def test_process_matches_what_sample_draws_from() -> None:
    """process() keeps greedy argmaxes and gives random rows their truncated distribution."""
    torch.manual_seed(1)
    logits = torch.randn(3, 30)
    md = _md([0.0, 0.7, 1.2], top_k=torch.tensor([0, 5, 0]), top_p=torch.tensor([1.0, 1.0, 0.8]))
    processed = Sampler().process(logits, md)
    assert processed.argmax(-1).tolist() == logits.argmax(-1).tolist()
    assert int(torch.isfinite(processed[1]).sum()) == 5
    torch.testing.assert_close(processed[1][torch.isfinite(processed[1])],
                               (logits[1] / 0.7)[torch.isfinite(processed[1])])
    kept = torch.isfinite(processed[2])
    assert float((logits[2] / 1.2).softmax(-1)[kept].sum()) >= 0.8
