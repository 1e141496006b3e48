"""The model zoo: one interface, checked for every registered model at its debug size."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from continuo.errors import ConfigError
from continuo.models import (
    MODELS,
    PRESETS,
    LanguageModel,
    NotIncrementalError,
    RecurrentConfig,
    build_model,
    config_from_dict,
    model_config,
)

V = 17  # vocabulary size of the tests
ALL = list(MODELS)
CAUSAL = [name for name in MODELS if MODELS[name].causal]
ATTENTION = ["attention_lstm", "transformer"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a busy 2-core machine two spinning OpenMP
    threads made this file 25x slower (12 s -> 5 min). Restored after the module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def debug_model(name: str, seed: int = 0, **overrides) -> LanguageModel:
    torch.manual_seed(seed)
    return build_model(model_config(name, "debug", vocab_size=V, **overrides))


def random_ids(batch: int, length: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, V, (batch, length), generator=torch.Generator().manual_seed(seed))


def test_registry_is_complete():
    assert set(MODELS) == {"rnn", "gru", "lstm", "bilstm", "attention_lstm", "transformer"}
    assert [name for name in MODELS if not MODELS[name].causal] == ["bilstm"]
    for name in MODELS:
        assert set(PRESETS[name]) == {"debug", "small", "base"}


def test_the_settings_agree_with_the_modules_and_load_without_torch():
    """configs.py (no torch) describes each registered module: its config, presets, causality."""
    import subprocess
    import sys

    from continuo.models import CONFIGS, MODEL_NAMES, is_causal

    assert tuple(MODELS) == MODEL_NAMES == tuple(CONFIGS)
    for name, model in MODELS.items():
        assert model.config_class is CONFIGS[name] and model.presets is PRESETS[name]
        assert model.causal == is_causal(name)
    code = "import sys, continuo.models as m; m.model_config('gru', vocab_size=3); print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("name", ALL)
def test_shapes_and_loss(name):
    model = debug_model(name)
    idx = random_ids(3, 11)
    logits, loss = model(idx)
    assert logits.shape == (3, 11, V)
    assert loss is None
    assert model.config.name == name
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())

    targets = random_ids(3, 11, seed=2)
    targets[0, :4] = -100
    targets[2, -1] = -100
    logits, loss = model(idx, targets)
    expected = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
    assert loss.shape == ()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", ALL)
def test_causality(name):
    model = debug_model(name, block_size=8) if name in ATTENTION else debug_model(name)
    model.eval()
    idx = random_ids(2, 14)
    changed = idx.clone()
    changed[:, 9] = (changed[:, 9] + 1) % V
    with torch.no_grad():
        before, _ = model(idx)
        after, _ = model(changed)
    if model.causal:
        torch.testing.assert_close(before[:, :9], after[:, :9], rtol=0, atol=1e-6)
        assert not torch.allclose(before[:, 9:], after[:, 9:])
    else:  # bilstm: every position sees the whole window
        assert not torch.allclose(before[:, :9], after[:, :9])


@pytest.mark.parametrize("name", CAUSAL)
@pytest.mark.parametrize("block_size", [None, 6])
def test_prefill_forward_and_step_agree(name, block_size):
    """forward == prefill (in two chunks) == token-by-token step, also past the window."""
    if block_size is not None and name not in ATTENTION:
        pytest.skip("no attention window")
    overrides = {} if block_size is None else {"block_size": block_size}
    model = debug_model(name, **overrides).eval()
    idx = random_ids(3, 20)
    with torch.no_grad():
        full, _ = model(idx)
        head, state = model.prefill(idx[:, :7])
        tail, _ = model.prefill(idx[:, 7:], state)
        state = model.init_state(3, "cpu")
        stepped = []
        for t in range(idx.size(1)):
            logits, state = model.step(idx[:, t], state)
            stepped.append(logits)
    torch.testing.assert_close(torch.cat([head, tail], dim=1), full, rtol=0, atol=1e-5)
    torch.testing.assert_close(torch.stack(stepped, dim=1), full, rtol=0, atol=1e-5)
    # prefill after steps: the state a step returns is a valid state for prefill
    with torch.no_grad():
        again, _ = model.prefill(idx[:, 10:], model.prefill(idx[:, :10])[1])
    torch.testing.assert_close(again, full[:, 10:], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ATTENTION)
def test_rolling_cache_past_the_context(name):
    model = debug_model(name, block_size=8).eval()
    state = model.init_state(2, "cpu")
    token = torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        for _ in range(60):  # 7.5 x the window
            logits, state = model.step(token, state)
            assert logits.shape == (2, V)
            assert torch.isfinite(logits).all()
            token = logits.argmax(-1)
    caches = state.kv if isinstance(state.kv, list) else [state.kv]
    assert state.pos == 60
    assert all(k.size(2) == 7 and v.size(2) == 7 for k, v in caches)


def test_transformer_forward_longer_than_block_size():
    model = debug_model("transformer", block_size=8).eval()
    idx = random_ids(1, 40)
    with torch.no_grad():
        logits, _ = model(idx)
        # each layer reaches 8 positions back (itself included), two layers 2 * 7 + 1 = 15:
        # a different beginning before that changes nothing at the last position
        other = idx.clone()
        other[:, :25] = (other[:, :25] + 3) % V
        other_logits, _ = model(other)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(logits[:, -1], other_logits[:, -1], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("preset", ["debug", "small"])
def test_config_round_trip_through_json(name, preset):
    config = model_config(name, preset, vocab_size=V)
    text = json.dumps(dataclasses.asdict(config))
    rebuilt = config_from_dict(json.loads(text))
    assert rebuilt == config
    if preset != "debug":
        return
    model = debug_model(name, seed=3)
    blob = save_safetensors(model.state_dict())  # fails on shared (tied) tensors
    twin = build_model(rebuilt)
    twin.load_state_dict(load_safetensors(blob), strict=True)
    idx = random_ids(2, 9)
    model.eval(), twin.eval()
    with torch.no_grad():
        torch.testing.assert_close(twin(idx)[0], model(idx)[0], rtol=0, atol=0)


@pytest.mark.parametrize("name", ["lstm", "transformer", "attention_lstm"])
def test_tied_weights_are_stored_once(name):
    overrides = {"tie_weights": True}
    if name != "transformer":
        overrides["hidden_size"] = 32
        overrides["n_embd"] = 32
    model = debug_model(name, **overrides)
    assert getattr(model, "head", None) is None
    save_safetensors(model.state_dict())
    _, loss = model(random_ids(2, 5), random_ids(2, 5))
    loss.backward()
    assert model.wte.weight.grad is not None


def test_model_config_options_and_errors():
    config = model_config("lstm", "small", vocab_size=131, hidden_size="64", dropout="0.25")
    assert (config.hidden_size, config.dropout, config.vocab_size) == (64, 0.25, 131)
    assert model_config("transformer", vocab_size=5, tie_weights="false").tie_weights is False
    with pytest.raises(ConfigError, match="unknown model 'mamba'"):
        model_config("mamba", vocab_size=5)
    with pytest.raises(ConfigError, match="no preset 'huge'"):
        model_config("gru", "huge", vocab_size=5)
    with pytest.raises(ConfigError, match="'gru' has no setting --n-head"):
        model_config("gru", vocab_size=5, n_head=4)
    with pytest.raises(ConfigError, match="--n-layer must be a whole number, not 'two'"):
        model_config("gru", vocab_size=5, n_layer="two")
    with pytest.raises(ConfigError, match="--dropout must be a number"):
        RecurrentConfig("gru", 5, dropout="lots")  # a config checks itself when it is made
    with pytest.raises(ConfigError, match="--tie-weights must be true or false"):
        model_config("gru", vocab_size=5, tie_weights="maybe")
    with pytest.raises(ConfigError, match="even head size"):
        model_config("transformer", vocab_size=5, n_embd=30, n_head=4)
    with pytest.raises(ConfigError, match="tie_weights needs hidden_size == n_embd"):
        build_model(model_config("lstm", vocab_size=5, tie_weights=True))
    with pytest.raises(ConfigError, match="has no 'name'"):
        config_from_dict({"vocab_size": 5})
    with pytest.raises(ConfigError, match="vocab_size must be positive"):
        model_config("rnn", vocab_size=0)


@pytest.mark.parametrize("name", ALL)
def test_small_preset_is_a_cpu_model_for_melodies(name):
    """vocab 131 (the melody codec): small is roughly 0.5-2 M parameters."""
    model = build_model(model_config(name, "small", vocab_size=131))
    assert 0.5e6 <= model.num_parameters() <= 2e6


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_base_preset_is_a_gpu_model_for_melodies(name):
    model = build_model(model_config(name, "base", vocab_size=131))
    assert 5e6 <= model.num_parameters() <= 20e6


@pytest.mark.parametrize("name", ALL)
def test_debug_preset_overfits_a_repeating_sequence(name):
    """A repeating 9-token phrase, fixed windows: the loss falls to near zero in 150 steps."""
    torch.manual_seed(0)
    model = debug_model(name)
    phrase = torch.tensor([3, 5, 7, 5, 3, 10, 12, 10, 1])  # needs context: 5 is followed by 7 or 3
    song = phrase.repeat(12)
    T = 24
    starts = torch.arange(0, len(song) - T - 1)
    idx = torch.stack([song[s : s + T] for s in starts])
    targets = torch.stack([song[s + 1 : s + T + 1] for s in starts])
    if not model.causal:  # window objective: only the symbol after the window
        targets[:, :-1] = -100
    else:  # the first two positions can't know where in the phrase they are
        targets[:, :2] = -100
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        _, loss = model(idx, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
    assert first > 2.0
    assert loss.item() < 0.1, f"{name}: loss {first:.3f} -> {loss.item():.3f}"


def test_bilstm_is_not_incremental():
    model = debug_model("bilstm")
    assert model.causal is False
    with pytest.raises(NotIncrementalError, match=r"bidirectional.*window"):
        model.step(torch.zeros(2, dtype=torch.long), None)
    with pytest.raises(NotIncrementalError):
        model.init_state(2, "cpu")
    with pytest.raises(NotIncrementalError):
        model.prefill(random_ids(2, 5))
    assert issubclass(NotIncrementalError, ConfigError)
