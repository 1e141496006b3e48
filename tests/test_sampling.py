"""sample_next / filter_logits: greedy, top-k, top-p (nucleus), masks, reproducibility, arguments."""

from __future__ import annotations

import math

import pytest
import torch

from continuo.errors import ConfigError
from continuo.generation.sampling import check_sampling_args, filter_logits, sample_next


def _logits_of(probs: list[float], batch: int = 1) -> torch.Tensor:
    return torch.tensor([[math.log(p) if p > 0 else float("-inf") for p in probs]] * batch)


def _draw(logits: torch.Tensor, n: int, seed: int = 0, **kwargs) -> torch.Tensor:
    """``n`` independent draws per row, as one batch of ``n`` copies: shape ``[n * B]``."""
    generator = torch.Generator().manual_seed(seed)
    return sample_next(logits.repeat(n, 1), generator=generator, **kwargs)


def test_temperature_zero_is_argmax() -> None:
    logits = torch.randn(16, 50, generator=torch.Generator().manual_seed(1))
    chosen = sample_next(logits, temperature=0)
    assert chosen.dtype == torch.long and chosen.shape == (16,)
    assert torch.equal(chosen, logits.argmax(dim=1))
    # top-k / top-p never change the greedy choice
    assert torch.equal(sample_next(logits, temperature=0.0, top_k=3, top_p=0.1), chosen)


def test_top_k_never_leaves_the_top_k() -> None:
    logits = torch.randn(4, 30, generator=torch.Generator().manual_seed(2))
    draws = _draw(logits, 500, top_k=5, temperature=2.0).view(500, 4)
    top = torch.topk(logits, 5, dim=1).indices
    for row in range(4):
        assert set(draws[:, row].tolist()) <= set(top[row].tolist())
    # with a high temperature all five are reached
    assert len(set(draws[:, 0].tolist())) == 5


def test_top_k_is_exact_with_ties() -> None:
    logits = torch.zeros(1, 10)
    kept = torch.isfinite(filter_logits(logits, top_k=3))
    assert int(kept.sum()) == 3
    assert torch.equal(filter_logits(logits, top_k=100), logits)  # k >= V keeps all


def test_top_p_nucleus_on_a_crafted_distribution() -> None:
    probs = [0.5, 0.3, 0.15, 0.05]
    logits = _logits_of(probs)
    kept = lambda p: torch.isfinite(filter_logits(logits, top_p=p))[0].tolist()  # noqa: E731
    assert kept(0.5) == [True, False, False, False]  # 0.5 alone reaches 0.5
    assert kept(0.51) == [True, True, False, False]
    assert kept(0.8) == [True, True, False, False]  # exact sum: no extra token
    assert kept(0.81) == [True, True, True, False]
    assert kept(0.96) == [True, True, True, True]
    assert kept(1.0) == [True, True, True, True]
    assert kept(0.01) == [True, False, False, False]  # the most likely token always stays

    draws = _draw(logits, 4000, top_p=0.8)
    assert set(draws.tolist()) == {0, 1}
    share = (draws == 0).float().mean().item()
    assert abs(share - 0.5 / 0.8) < 0.03  # renormalised over the nucleus


def test_top_p_works_per_row_and_after_top_k() -> None:
    logits = torch.cat([_logits_of([0.9, 0.05, 0.05]), _logits_of([0.4, 0.35, 0.25])])
    kept = torch.isfinite(filter_logits(logits, top_p=0.85))
    assert kept.tolist() == [[True, False, False], [True, True, True]]
    kept = torch.isfinite(filter_logits(logits, top_k=2, top_p=0.85))
    assert kept.tolist() == [[True, False, False], [True, True, False]]


def test_masks_are_respected() -> None:
    logits = torch.tensor([[5.0, 1.0, 0.0, -1.0]] * 3)
    mask = torch.tensor([False, True, True, False])
    assert sample_next(logits, temperature=0, mask=mask).tolist() == [1, 1, 1]
    draws = _draw(logits, 300, mask=mask, temperature=3.0)
    assert set(draws.tolist()) == {1, 2}

    per_row = torch.tensor([[True, False, False, False], [False, False, False, True]])
    assert sample_next(logits[:2], temperature=0, mask=per_row).tolist() == [0, 3]
    draws = _draw(logits[:2], 100, mask=per_row.repeat(100, 1)).view(100, 2)
    assert set(draws[:, 0].tolist()) == {0} and set(draws[:, 1].tolist()) == {3}

    with pytest.raises(ValueError, match="masked out"):
        sample_next(logits, mask=torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must have shape"):
        sample_next(logits, mask=torch.ones(5, dtype=torch.bool))


def test_reproducible_with_a_seeded_generator() -> None:
    logits = torch.randn(8, 40, generator=torch.Generator().manual_seed(3))
    first = _draw(logits, 50, seed=1234, top_k=20, top_p=0.9, temperature=1.3)
    second = _draw(logits, 50, seed=1234, top_k=20, top_p=0.9, temperature=1.3)
    other = _draw(logits, 50, seed=4321, top_k=20, top_p=0.9, temperature=1.3)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


def test_temperature_sharpens_and_flattens() -> None:
    logits = _logits_of([0.6, 0.3, 0.1])
    cold = (_draw(logits, 3000, temperature=0.3) == 0).float().mean().item()
    warm = (_draw(logits, 3000, temperature=1.0) == 0).float().mean().item()
    hot = (_draw(logits, 3000, temperature=5.0) == 0).float().mean().item()
    assert cold > warm > hot
    assert abs(warm - 0.6) < 0.04


def test_half_precision_logits_are_fine() -> None:
    logits = torch.randn(2, 10).half()
    assert sample_next(logits, generator=torch.Generator().manual_seed(0)).shape == (2,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 0.0}, "top-p"),
        ({"top_p": 1.5}, "top-p"),
        ({"top_p": -0.2}, "top-p"),
        ({"top_k": 0}, "top-k"),
        ({"top_k": 2.5}, "top-k"),
        ({"top_k": True}, "top-k"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        sample_next(torch.zeros(1, 4), **kwargs)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError):
        check_sampling_args(**kwargs)


def test_bad_logits_shape_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="batch, vocab"):
        sample_next(torch.zeros(4))


def test_sampling_settings_check_themselves_and_seed_the_draws() -> None:
    from continuo.generation.sampling import Sampling

    with pytest.raises(ConfigError, match="temperature"):
        Sampling(temperature=-1.0)
    with pytest.raises(ConfigError, match="top-k"):
        Sampling(top_k=0)
    seeded = Sampling(rng_seed=7)
    draws = [torch.rand(3, generator=seeded.generator(torch.device("cpu"))) for _ in range(2)]
    assert torch.equal(draws[0], draws[1])
