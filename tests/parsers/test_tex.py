"""Tests for parsers/tex.py: examples, and properties (total, idempotent, identity on prose)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.records import title_key
from parsers.tex import render_tex


@pytest.mark.parametrize(
    ("tex", "rendered"),
    [
        ("PanGu-$α$: Large-scale Models", "PanGu-α: Large-scale Models"),
        (r"$\alpha$-Entmax", "α-Entmax"),
        (r"$\Gamma$, $\varepsilon$, $\epsilon$, $\varphi$, $\Omega$", "Γ, ε, ϵ, φ, Ω"),
        (r"$4 \times 4$ \to $\infty$", "4 × 4 → ∞"),
        (r"$\leq$ $\geq$ $\pm$ $\cdot$ $\approx$ $\sim$ $\in$", "≤ ≥ ± · ≈ ∼ ∈"),
        (r"$\ell_2$ and $\partial$, $\nabla$", "ℓ₂ and ∂, ∇"),
        (r"P $\neq$ NP", "P ≠ NP"),
        (r"$x^2$ $^2$ $_1$ $10^{-3}$ $a_{ij}$", "x² ² ₁ 10⁻³ aᵢⱼ"),
        (r"$O(1)$ inference, $O(L \log L)$", "O(1) inference, O(L log L)"),
        (r"$\mathcal{X}$ $\mathbf{W}$ $\text{softmax}$", "X W softmax"),
        (r"\textbf{Bold} \emph{new} $\textit{THE-X}$ \textsc{Ofa}", "Bold new THE-X Ofa"),
        (r"Q\&A with 5\% data", "Q&A with 5% data"),
        (r"$\sqrt{2}$ $\sqrt{n+1}$", "√2 √(n+1)"),
        (r"$\mathbb{R}^d$", "ℝᵈ"),
        (r"Schr\"odinger and Erd\H{o}s, \'{e}t\'e", "Schrödinger and Erdős, été"),
        ("$ProbSparse$ attention", "ProbSparse attention"),
        (r"a $\unknown{x}$ command", r"a \unknown{x} command"),
        (r"framework named \name to", r"framework named \name to"),
        (r"$W_q$ keeps what has no subscript form", "W_q keeps what has no subscript form"),
        ("costs $5 and $10", "costs $5 and $10"),
        ("--help and 1--2", "--help and 1--2"),
        ("plain title, nothing to do", "plain title, nothing to do"),
        ("", ""),
        ("$", "$"),
        ("\\", "\\"),
        (r"$$E = mc^2$$", "E = mc²"),
    ],
)
def test_examples(tex: str, rendered: str) -> None:
    assert render_tex(tex) == rendered
    assert render_tex(rendered) == rendered


def test_title_key_sees_rendered_tex() -> None:
    assert title_key("PanGu-$α$: X") == title_key(r"PanGu-$\alpha$: X") == title_key("PanGu-α: X")


_TOKENS = list("\\$^_{} ab1-'\"") + [
    r"\alpha",
    r"\mathbf",
    r"\sqrt",
    r"\text",
    r"\$",
    r"\{",
    r"\^",
    r"\c",
    r"\left",
    r"\'",
    r"\unknown",
    "α",
    "x2",
]
_TEXISH = st.lists(st.sampled_from(_TOKENS), max_size=30).map("".join)
_PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))


@_PROPERTY
@given(st.one_of(_TEXISH, st.text(max_size=200)))
def test_total_and_idempotent(text: str) -> None:
    once = render_tex(text)
    assert isinstance(once, str)
    assert render_tex(once) == once


@_PROPERTY
@given(st.text(alphabet=st.characters(blacklist_characters="\\$"), max_size=200))
def test_identity_without_tex(text: str) -> None:
    assert render_tex(text) == text


def test_deep_nesting_does_not_hit_the_recursion_limit() -> None:
    deep = r"\textbf{" * 500 + "x" + "}" * 500
    assert render_tex(deep) == "x"
