"""Absorbing ("masking") discrete diffusion and RADD, from scratch (chapter 13).

Paper: J. Ou, S. Nie, K. Xue, F. Zhu, J. Sun, Z. Li, C. Li, *Your Absorbing Discrete Diffusion
Secretly Models the Conditional Distributions of Clean Data*, ICLR 2025, arXiv:2406.03736.
Official code: https://github.com/ML-GSAI/RADD (not used here; this module is written from the paper).

What lives here, in the order the chapter builds it:

* :class:`MarkovChainSource` -- the data with a known ground truth: sequences from a fixed Markov
  chain, with exact log-probabilities, entropy and the exact clean-data conditionals
  ``p0(x^i | unmasked tokens)`` for any mask pattern (a forward-backward pass).
* the forward process: :func:`mask_tokens` (each token masked independently with probability
  ``lambda = 1 - exp(-sigma_bar(t))``), :func:`log_linear_sigma_bar`;
* Theorem 1 of the paper: :func:`concrete_score_scalar` and :func:`concrete_score` (the concrete
  score = a time-only scalar times the clean-data conditional), checked against
  :func:`brute_force_concrete_score`, which sums over every clean sequence;
* the time-independent network :class:`ConditionalMLP` (RADD's parameterisation, no time input);
* the losses: :func:`lambda_dce_loss` (the lambda-DCE form) and :func:`ao_arm_loss` (the any-order
  autoregressive "k" form) of Theorem 2, with :func:`ao_arm_bound` (a Monte-Carlo estimate of the
  negative log-likelihood bound) and :func:`chain_rule_nll` (one generation order);
* the sampler :func:`sample_absorbing` (Tweedie tau-leaping) with and without RADD's caching,
  counting network evaluations per sample, and :func:`expected_nfe` (the paper's E-NFE formula).

Conventions: tokens are ``0 .. V-1`` and the mask is token ``V`` (``mask_id``). Tensors of tokens
have shape ``[B, L]``; conditionals have shape ``[B, L, V]``. A *conditional function*
``cond_fn(x_t) -> [B, L, V]`` returns, for every position, a probability vector over the ``V``
clean tokens given the unmasked tokens of ``x_t`` (only masked positions are ever used).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from utils.validation import check_positive_int

CondFn = Callable[[torch.Tensor], torch.Tensor]
MAX_BRUTE_FORCE_SEQUENCES = 100_000


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _check_tokens(
    x: torch.Tensor, vocab_size: int, *, allow_mask: bool = False, name: str = "x"
) -> None:
    """Raise a clear error unless ``x`` is a non-empty ``[B, L]`` integer tensor of valid tokens."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of token ids, got {type(x).__name__}"
        )
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape [B, L], got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    if x.dtype.is_floating_point or x.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer token ids, got dtype {x.dtype}")
    top = vocab_size if allow_mask else vocab_size - 1
    if int(x.min()) < 0 or int(x.max()) > top:
        what = (
            f"0..{vocab_size - 1} or the mask id {vocab_size}"
            if allow_mask
            else f"0..{vocab_size - 1}"
        )
        raise ValueError(
            f"{name} holds token ids outside {what} (min {int(x.min())}, max {int(x.max())})"
        )


def _as_float64(value, name: str) -> torch.Tensor:
    """``value`` as a float64 tensor; ``TypeError`` naming ``name`` when it is not numeric."""
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {value!r}"
        ) from None


def _check_mask_prob(
    mask_prob: torch.Tensor, batch: int, name: str = "mask_prob"
) -> torch.Tensor:
    """Turn ``mask_prob`` into a float64 ``[B]`` tensor in (0, 1]; raise a clear error otherwise."""
    lam = _as_float64(mask_prob, name)
    if lam.dim() == 0:
        lam = lam.expand(batch)
    if lam.shape != (batch,):
        raise ValueError(
            f"{name} must be a number or have shape [{batch}], got shape {tuple(lam.shape)}"
        )
    if (
        not bool(torch.isfinite(lam).all())
        or bool((lam <= 0).any())
        or bool((lam > 1).any())
    ):
        raise ValueError(
            f"{name} must lie in (0, 1]; got values from {float(lam.min())} to {float(lam.max())}"
        )
    return lam


# --------------------------------------------------------------------------------------------
# the data: a Markov chain with exact probabilities and exact conditionals
# --------------------------------------------------------------------------------------------
class MarkovChainSource:
    """Sequences from a first-order Markov chain: the chapter's data with a known ground truth.

    ``transition[a, b] = P(x^{i+1} = b | x^i = a)`` (rows sum to 1), ``initial[a] = P(x^1 = a)``.
    Everything the paper can only estimate is exact here: ``log_prob``, ``entropy`` and the clean-data
    conditionals ``p0(x^i | x^UM)`` that, by Theorem 1, the concrete score is made of.

    Paper: course addition — a source whose exact conditionals p0(x^i | x^UM) are known.
    """

    def __init__(self, transition, initial):
        P = torch.as_tensor(transition, dtype=torch.float64)
        pi0 = torch.as_tensor(initial, dtype=torch.float64)
        if P.dim() != 2 or P.shape[0] != P.shape[1] or P.shape[0] < 2:
            raise ValueError(
                f"transition must be a square [V, V] matrix with V >= 2, got shape {tuple(P.shape)}"
            )
        if pi0.shape != (P.shape[0],):
            raise ValueError(
                f"initial must have shape [{P.shape[0]}], got shape {tuple(pi0.shape)}"
            )
        for name, probs in (("transition", P), ("initial", pi0)):
            if (
                not bool(torch.isfinite(probs).all())
                or bool((probs < 0).any())
                or bool((probs > 1).any())
            ):
                raise ValueError(f"{name} holds probabilities outside [0, 1]")
        if not torch.allclose(
            P.sum(1), torch.ones(P.shape[0], dtype=torch.float64), atol=1e-9
        ):
            raise ValueError(
                f"every row of transition must sum to 1, got row sums {P.sum(1).tolist()}"
            )
        if abs(float(pi0.sum()) - 1) > 1e-9:
            raise ValueError(f"initial must sum to 1, got {float(pi0.sum())}")
        self.transition, self.initial = P, pi0

    @property
    def vocab_size(self) -> int:
        return self.transition.shape[0]

    @property
    def mask_id(self) -> int:
        return self.vocab_size

    def sample(
        self, n: int, length: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` sequences of ``length`` tokens, shape ``[n, length]`` (int64)."""
        if n < 1 or length < 1:
            raise ValueError(f"need n >= 1 and length >= 1, got n={n}, length={length}")
        x = torch.empty(n, length, dtype=torch.long)
        x[:, 0] = torch.multinomial(
            self.initial.expand(n, -1), 1, generator=generator
        ).squeeze(1)
        for i in range(1, length):
            x[:, i] = torch.multinomial(
                self.transition[x[:, i - 1]], 1, generator=generator
            ).squeeze(1)
        return x

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact ``log p0(x)`` in nats for clean sequences ``x`` of shape ``[B, L]``; returns ``[B]``."""
        _check_tokens(x, self.vocab_size)
        logp = torch.log(self.initial[x[:, 0]])
        if x.shape[1] > 1:
            logp = logp + torch.log(self.transition[x[:, :-1], x[:, 1:]]).sum(1)
        return logp

    def entropy(self, length: int) -> float:
        """Exact entropy ``H(x^1..x^L)`` in nats: ``H(initial) + sum_i E_{x^i} H(transition[x^i])``."""
        if length < 1:
            raise ValueError(f"length must be at least 1, got {length}")

        def h(p):
            return -(p * torch.log(p.clamp_min(1e-300))).sum(-1)

        total, marginal = float(h(self.initial)), self.initial
        row_entropy = h(self.transition)  # [V]
        for _ in range(length - 1):
            total += float(marginal @ row_entropy)
            marginal = marginal @ self.transition
        return total

    def conditionals(self, x_t: torch.Tensor) -> torch.Tensor:
        """Exact clean-data conditionals ``p0(x^i = v | x_t^UM)``, shape ``[B, L, V]`` (float64).

        ``x_t`` is ``[B, L]`` with masked positions equal to :attr:`mask_id`. A forward-backward pass
        over the chain: the forward message carries the evidence left of ``i``, the backward message
        the evidence right of ``i``. At an unmasked position the result is the one-hot of its token.
        """
        _check_tokens(x_t, self.vocab_size, allow_mask=True, name="x_t")
        B, L = x_t.shape
        V, P = self.vocab_size, self.transition
        masked = x_t == self.mask_id
        # evidence[b, i, v] = 1 if token v is compatible with what is seen at position i
        evidence = torch.nn.functional.one_hot(x_t.clamp(max=V - 1).long(), V).to(
            torch.float64
        )
        evidence[masked] = 1.0  # [B, L, V]
        prior = torch.empty(B, L, V, dtype=torch.float64)  # p(x^i | evidence left of i)
        after = torch.empty(
            B, L, V, dtype=torch.float64
        )  # p(evidence right of i | x^i)
        message = self.initial.expand(B, V)
        for i in range(L):
            prior[:, i] = message
            filtered = message * evidence[:, i]
            filtered = filtered / filtered.sum(1, keepdim=True)
            message = filtered @ P
        back = torch.ones(B, V, dtype=torch.float64)
        for i in range(L - 1, -1, -1):
            after[:, i] = back
            back = (evidence[:, i] * back) @ P.T
            back = back / back.sum(1, keepdim=True)
        joint = prior * after * evidence
        return joint / joint.sum(-1, keepdim=True)


def sticky_chain(vocab_size: int = 4, stay: float = 0.65) -> MarkovChainSource:
    """The chapter's fixed "sticky" chain: stay with probability ``stay``, else move to another
    state with fixed unequal probabilities (nearer states likelier); uniform start. Deterministic.

    Paper: course addition — the chapter's 4-state sticky chain.
    """
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
    if not 0 < stay < 1:
        raise ValueError(f"stay must lie in (0, 1), got {stay}")
    states = torch.arange(vocab_size, dtype=torch.float64)
    distance = (states[:, None] - states[None, :]).abs()
    closeness = 1.0 / distance.clamp_min(1)  # 1, 1/2, 1/3, ... off the diagonal
    closeness.fill_diagonal_(0.0)
    P = (1 - stay) * closeness / closeness.sum(1, keepdim=True)
    P.fill_diagonal_(stay)
    return MarkovChainSource(
        P, torch.full((vocab_size,), 1.0 / vocab_size, dtype=torch.float64)
    )


# --------------------------------------------------------------------------------------------
# the forward (noising) process and Theorem 1
# --------------------------------------------------------------------------------------------
def log_linear_sigma_bar(t, eps: float = 1e-3) -> torch.Tensor:
    """The log-linear noise schedule ``sigma_bar(t) = -log(1 - (1 - eps) t)`` (SEDD's and RADD's default):
    at time ``t`` each token is masked with probability ``(1 - eps) t``. ``t`` must lie in [0, 1].

    Paper: log-linear noise schedule sigma_bar(t) = -log(1 - (1 - eps) t), §4.1 (arXiv:2406.03736v4).
    """
    t = _as_float64(t, "t")
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or bool((t > 1).any()):
        raise ValueError("t must lie in [0, 1]")
    if not 0 <= eps < 1:
        raise ValueError(f"eps must lie in [0, 1), got {eps}")
    if eps == 0 and bool((t == 1).any()):
        raise ValueError(
            "t = 1 with eps = 0 gives sigma_bar = infinity (every token masked); "
            "use eps > 0 or t < 1"
        )
    return -torch.log1p(-(1 - eps) * t)


def mask_tokens(
    x0: torch.Tensor, mask_prob, mask_id: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The absorbing forward process at one time: mask each token of ``x0`` independently.

    ``mask_prob`` (a number or ``[B]``, in (0, 1]) is ``lambda = 1 - exp(-sigma_bar(t))`` for each row.
    Returns ``(x_t, masked)``, both ``[B, L]``: the noisy tokens and the boolean mask pattern.

    Paper: absorbing forward process, masking each token with probability lambda, §2 (arXiv:2406.03736v4).
    """
    _check_tokens(x0, mask_id, name="x0")
    lam = _check_mask_prob(mask_prob, x0.shape[0]).to(torch.float32)
    masked = torch.rand(x0.shape, generator=generator) < lam[:, None]
    return torch.where(masked, torch.full_like(x0, mask_id), x0), masked


def mask_k_tokens(
    x0: torch.Tensor,
    k: torch.Tensor,
    mask_id: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask exactly ``k[b]`` positions of row ``b``, chosen uniformly at random (the AO-ARM view).

    ``k`` is ``[B]`` with values in ``1..L``. Returns ``(x_t, masked)``, both ``[B, L]``.

    Paper: masking exactly k tokens, the AO-ARM form of Theorem 2 (Eq. 2.16) (arXiv:2406.03736v4).
    """
    _check_tokens(x0, mask_id, name="x0")
    B, L = x0.shape
    k = torch.as_tensor(k)
    if k.shape != (B,) or k.dtype.is_floating_point:
        raise ValueError(
            f"k must be an integer tensor of shape [{B}], got {tuple(k.shape)} {k.dtype}"
        )
    if int(k.min()) < 1 or int(k.max()) > L:
        raise ValueError(
            f"k must lie in 1..{L}, got values from {int(k.min())} to {int(k.max())}"
        )
    ranks = (
        torch.rand(B, L, generator=generator).argsort(1).argsort(1)
    )  # a random permutation per row
    masked = ranks < k[:, None]
    return torch.where(masked, torch.full_like(x0, mask_id), x0), masked


def concrete_score_scalar(sigma_bar) -> torch.Tensor:
    """The time-only factor of Theorem 1: ``exp(-sigma_bar) / (1 - exp(-sigma_bar))``.

    It is the odds that a token is still clean at time ``t``. ``sigma_bar`` must be positive (at
    ``sigma_bar = 0`` nothing is masked and the ratio is undefined).

    Paper: the time-only factor exp(-sigma_bar) / (1 - exp(-sigma_bar)), Theorem 1 (arXiv:2406.03736v4).
    """
    s = _as_float64(sigma_bar, "sigma_bar")
    if not bool(torch.isfinite(s).all()) or bool((s <= 0).any()):
        raise ValueError("sigma_bar must be positive and finite")
    return 1.0 / torch.expm1(s)  # = e^{-s} / (1 - e^{-s}), computed stably


def concrete_score(
    conditionals: torch.Tensor, x_t: torch.Tensor, sigma_bar, mask_id: int
) -> torch.Tensor:
    """RADD's concrete score (Theorem 1): ``p_t(x_hat) / p_t(x_t) = scalar(sigma_bar) * p0(x_hat^i | x_t^UM)``.

    ``conditionals`` is ``[B, L, V]`` (clean-data conditionals, exact or from the network), ``x_t`` is
    ``[B, L]``, ``sigma_bar`` a number or ``[B]``. Returns ``[B, L, V]``: the ratio for changing a
    masked position ``i`` to token ``v``; zero at unmasked positions (the absorbing process never
    changes a clean token, so no ratio is needed there).

    Paper: Theorem 1, the concrete score as scalar times clean conditional (arXiv:2406.03736v4).
    """
    _check_conditionals(conditionals, x_t, mask_id)
    scalar = concrete_score_scalar(sigma_bar)
    scalar = scalar.expand(x_t.shape[0]) if scalar.dim() == 0 else scalar
    if scalar.shape != (x_t.shape[0],):
        raise ValueError(
            f"sigma_bar must be a number or have shape [{x_t.shape[0]}], got {tuple(scalar.shape)}"
        )
    masked = (x_t == mask_id).unsqueeze(-1)
    return torch.where(
        masked,
        scalar[:, None, None] * conditionals,
        0.0,  # float64: scalar is
    )


def _check_conditionals(
    conditionals: torch.Tensor, x_t: torch.Tensor, mask_id: int
) -> None:
    _check_tokens(x_t, mask_id, allow_mask=True, name="x_t")
    if not isinstance(conditionals, torch.Tensor) or conditionals.shape != (
        *x_t.shape,
        mask_id,
    ):
        shape = (
            tuple(conditionals.shape)
            if isinstance(conditionals, torch.Tensor)
            else type(conditionals).__name__
        )
        raise ValueError(
            f"conditionals must have shape [B, L, V] = {(*x_t.shape, mask_id)}, got {shape}"
        )
    if not conditionals.is_floating_point():
        raise TypeError(
            f"conditionals must be a float tensor, got dtype {conditionals.dtype}"
        )
    if (
        not bool(torch.isfinite(conditionals).all())
        or bool((conditionals < 0).any())
        or bool((conditionals > 1 + 1e-6).any())
    ):
        raise ValueError("conditionals must be probabilities in [0, 1]")


def all_sequences(vocab_size: int, length: int) -> torch.Tensor:
    """Every clean sequence, shape ``[V**L, L]`` (for brute-force checks; at most 100 000 rows).

    Paper: course addition — enumeration for brute-force checks.
    """
    check_positive_int(vocab_size, "vocab_size")
    check_positive_int(length, "length")
    if vocab_size**length > MAX_BRUTE_FORCE_SEQUENCES:
        raise ValueError(
            f"{vocab_size}**{length} sequences are too many to enumerate "
            f"(limit {MAX_BRUTE_FORCE_SEQUENCES}); use a shorter length"
        )
    return torch.tensor(
        list(itertools.product(range(vocab_size), repeat=length)), dtype=torch.long
    )


def noisy_marginal(
    source: MarkovChainSource, x_t: torch.Tensor, sigma_bar: float
) -> torch.Tensor:
    """``p_t(x_t)`` by brute force: sum over every clean ``x0`` of ``p0(x0) * prod_i q_t(x_t^i | x0^i)``.

    ``q_t`` keeps a token with probability ``exp(-sigma_bar)`` and masks it otherwise. ``x_t``: ``[B, L]``;
    returns ``[B]`` (float64). Exponential in ``L``: for checks on tiny cases only.

    Paper: course addition — p_t(x_t) by enumeration, to check Theorem 1.
    """
    _check_tokens(x_t, source.vocab_size, allow_mask=True, name="x_t")
    if not sigma_bar > 0:
        raise ValueError(f"sigma_bar must be positive, got {sigma_bar}")
    clean = all_sequences(source.vocab_size, x_t.shape[1])  # [N, L]
    p0 = source.log_prob(clean).exp()  # [N]
    keep = math.exp(-sigma_bar)
    masked = (x_t == source.mask_id)[:, None, :]  # [B, 1, L]
    agrees = x_t[:, None, :] == clean[None, :, :]  # [B, N, L]
    f64 = dict(dtype=torch.float64)
    per_token = torch.where(
        masked,
        torch.tensor(1 - keep, **f64),
        torch.where(agrees, torch.tensor(keep, **f64), 0.0),
    )
    return per_token.prod(-1) @ p0  # [B]


def brute_force_concrete_score(
    source: MarkovChainSource, x_t: torch.Tensor, sigma_bar: float
) -> torch.Tensor:
    """The concrete score ``p_t(x_hat) / p_t(x_t)`` from its definition, by enumerating clean sequences.

    Same layout as :func:`concrete_score`: ``[B, L, V]``, zero at unmasked positions. Used to check
    Theorem 1 numerically.

    Paper: course addition — the concrete score by enumeration, to check Theorem 1.
    """
    base = noisy_marginal(source, x_t, sigma_bar)  # [B]
    B, L = x_t.shape
    score = torch.zeros(B, L, source.vocab_size, dtype=torch.float64)
    for i in range(L):
        rows = (x_t[:, i] == source.mask_id).nonzero().squeeze(1)
        if rows.numel() == 0:
            continue
        for v in range(source.vocab_size):
            changed = x_t[rows].clone()
            changed[:, i] = v
            score[rows, i, v] = noisy_marginal(source, changed, sigma_bar) / base[rows]
    return score


# --------------------------------------------------------------------------------------------
# the time-independent network (RADD's parameterisation)
# --------------------------------------------------------------------------------------------
class ConditionalMLP(nn.Module):
    """RADD's network ``c_theta(x_t)`` as a small MLP: **no time input**, by design.

    Tokens (``0..V-1`` and the mask ``V``) are embedded, the ``L`` embeddings are concatenated, two
    hidden layers follow, and the output is ``L x V`` log-probabilities: for each position, the
    estimated ``log p0(x^i = v | x_t^UM)``. ``forward([B, L]) -> [B, L, V]``.

    Paper: RADD's time-free network c_theta(x_t) (Eq. 3.3), as a small MLP (arXiv:2406.03736v4).
    """

    def __init__(
        self, length: int, vocab_size: int, embed_dim: int = 16, hidden: int = 256
    ):
        super().__init__()
        if min(length, vocab_size, embed_dim, hidden) < 1:
            raise ValueError(
                "length, vocab_size, embed_dim and hidden must all be positive"
            )
        self.length, self.vocab_size = length, vocab_size
        self.embed = nn.Embedding(vocab_size + 1, embed_dim)  # +1: the mask token
        self.body = nn.Sequential(
            nn.Linear(length * embed_dim, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, length * vocab_size),
        )

    def forward(self, x_t: torch.Tensor) -> torch.Tensor:
        _check_tokens(x_t, self.vocab_size, allow_mask=True, name="x_t")
        if x_t.shape[1] != self.length:
            raise ValueError(
                f"x_t must have {self.length} positions, got {x_t.shape[1]}"
            )
        h = self.embed(x_t).flatten(1)  # [B, L * embed]
        logits = self.body(h).view(-1, self.length, self.vocab_size)  # [B, L, V]
        return torch.log_softmax(logits, dim=-1)


def network_conditionals(model: nn.Module) -> CondFn:
    """Wrap a network returning log-probabilities ``[B, L, V]`` as a conditional function
    (probabilities, no gradient, eval mode): what the sampler and the bound consume.

    Paper: c_theta's conditionals p(x^i | x^UM) as probabilities (Eq. 3.3) (arXiv:2406.03736v4).
    """
    model.eval()

    @torch.no_grad()
    def cond_fn(x_t: torch.Tensor) -> torch.Tensor:
        return model(x_t).exp()

    return cond_fn


# --------------------------------------------------------------------------------------------
# the losses and the likelihood bound (Theorem 2: diffusion bound = AO-ARM expected NLL)
# --------------------------------------------------------------------------------------------
def _check_log_probs(
    log_cond: torch.Tensor, masked: torch.Tensor, atol: float = 1e-3
) -> None:
    """``log_cond`` holds log-probabilities: no NaN, nothing above 0, and at every masked position
    (the ones a loss reads) ``exp(log_cond)`` sums to 1 over the vocabulary (within ``atol``)."""
    values = log_cond.detach()
    if bool(torch.isnan(values).any()) or bool((values > atol).any()):
        raise ValueError(
            "log_cond must hold log-probabilities (<= 0, no NaN), got a largest "
            f"value {float(values.nan_to_num(nan=math.inf).max())!r}; "
            "pass log_softmax(logits), not logits"
        )
    log_total = torch.logsumexp(values[masked].double(), dim=1)  # [n_masked]
    if log_total.numel() and not bool((log_total.abs() <= atol).all()):
        worst = float(log_total[log_total.abs().argmax()].exp())
        raise ValueError(
            "log_cond must hold log-probabilities: exp(log_cond) must sum to 1 over "
            f"the vocabulary at each masked position, got a sum of {worst:.4g}; "
            "pass log_softmax(logits), not logits"
        )


def _masked_nll(
    log_cond: torch.Tensor, x0: torch.Tensor, masked: torch.Tensor
) -> torch.Tensor:
    """``sum_{i masked} -log c(x0^i | x_t)`` per row, ``[B]``, with clear shape errors."""
    if not isinstance(log_cond, torch.Tensor):
        raise TypeError(
            f"log_cond must be a torch.Tensor, got {type(log_cond).__name__}"
        )
    if log_cond.dim() != 3:
        raise ValueError(
            f"log_cond must be a [B, L, V] tensor, got shape {tuple(log_cond.shape)}"
        )
    _check_tokens(x0, log_cond.shape[2], name="x0")
    if log_cond.shape[:2] != x0.shape:
        raise ValueError(
            f"log_cond must have shape [B, L, V] with [B, L] = x0's shape "
            f"{tuple(x0.shape)}, got {tuple(log_cond.shape)}"
        )
    if masked.shape != x0.shape or masked.dtype != torch.bool:
        raise ValueError(
            f"masked must be a boolean tensor of shape {tuple(x0.shape)}, "
            f"got {tuple(masked.shape)} {masked.dtype}"
        )
    _check_log_probs(log_cond, masked)
    nll = -log_cond.gather(-1, x0.unsqueeze(-1)).squeeze(-1)  # [B, L]
    return torch.where(masked, nll, torch.zeros_like(nll)).sum(1)  # [B]


def lambda_dce_loss(
    log_cond: torch.Tensor, x0: torch.Tensor, masked: torch.Tensor, mask_prob
) -> torch.Tensor:
    """The lambda-DCE loss of the paper (Theorem 2), one Monte-Carlo term per sequence, ``[B]`` nats.

    ``(1 / lambda) * sum_{i: x_t^i = mask} -log c_theta(x0^i | x_t)``, where ``x_t`` masked each token of
    ``x0`` with probability ``lambda`` (``mask_prob``, in (0, 1]). Averaged over ``lambda ~ U(0, 1)`` it
    is an upper bound on ``-log p_theta(x0)``. ``log_cond``: ``[B, L, V]``; ``x0``, ``masked``: ``[B, L]``.

    Paper: lambda-DCE loss (Eq. 3.6), one Monte-Carlo term, Theorem 2 (arXiv:2406.03736v4).
    """
    lam = _check_mask_prob(mask_prob, x0.shape[0]).to(log_cond.dtype)
    return _masked_nll(log_cond, x0, masked) / lam


def ao_arm_loss(
    log_cond: torch.Tensor, x0: torch.Tensor, masked: torch.Tensor
) -> torch.Tensor:
    """The any-order autoregressive ("k") form of the bound (Theorem 2), ``[B]`` nats.

    With ``k = |masked|`` drawn uniformly from ``1..L`` and the masked set uniform among sets of size ``k``:
    ``(L / k) * sum_{i masked} -log c_theta(x0^i | x0 unmasked)``; its mean is the expected NLL of an
    AO-ARM over uniformly random generation orders.

    Paper: any-order autoregressive loss (Eq. 2.16), Theorem 2 (arXiv:2406.03736v4).
    """
    nll = _masked_nll(log_cond, x0, masked)  # checks the shapes
    k = masked.sum(1)
    if bool((k == 0).any()):
        raise ValueError("every row must have at least one masked position (k >= 1)")
    return nll * x0.shape[1] / k  # k is cast to nll's dtype


def stratified_mask_probs(
    batch: int, generator: torch.Generator | None = None, floor: float = 1e-3
) -> torch.Tensor:
    """``batch`` mask probabilities, one in each of ``batch`` equal slices of (0, 1], in random order,
    clamped below at ``floor``: a low-variance sample of ``lambda ~ U(0, 1)`` for :func:`lambda_dce_loss`.

    Paper: course addition — low-variance draws of lambda for Eq. 3.8.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    if not 0 <= floor <= 1:
        raise ValueError(f"floor must lie in [0, 1], got {floor}")
    u = (
        torch.arange(batch)
        + torch.rand(batch, generator=generator, dtype=torch.float64)
    ) / batch
    return u[torch.randperm(batch, generator=generator)].clamp(min=floor)  # u < 1


@dataclass
class BoundEstimate:
    """A Monte-Carlo estimate of the NLL bound: per-sequence values (nats) and summaries per token.

    Paper: course addition — holds a Monte-Carlo estimate of the NLL bound.
    """

    per_sequence: torch.Tensor  # [B] mean over draws, nats per sequence
    length: int

    @property
    def per_token(self) -> float:
        return float(self.per_sequence.mean()) / self.length

    @property
    def stderr_per_token(self) -> float:
        return (
            float(self.per_sequence.std(unbiased=True))
            / math.sqrt(len(self.per_sequence))
            / self.length
        )


@torch.no_grad()
def ao_arm_bound(
    cond_fn: CondFn,
    x0: torch.Tensor,
    n_draws: int = 8,
    generator: torch.Generator | None = None,
) -> BoundEstimate:
    """Estimate the diffusion NLL bound of each sequence in its AO-ARM form (Theorem 2).

    For each of ``n_draws`` draws: ``k ~ U{1..L}``, a uniform set of ``k`` masked positions, and the term
    ``(L / k) sum_{i masked} -log c(x0^i | x0 unmasked)`` (:func:`ao_arm_loss`). ``x0``: ``[B, L]``.
    With exact conditionals the expectation is exactly ``-log p0(x0)``; with a learned ``c_theta`` it is
    an upper bound on the model's NLL.

    Paper: the bound in its AO-ARM form (Eq. 2.16), Theorem 2 (arXiv:2406.03736v4).
    """
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}")
    if not isinstance(x0, torch.Tensor) or x0.dim() != 2 or x0.numel() == 0:
        raise ValueError("x0 must be a non-empty [B, L] tensor of tokens")
    B, L = x0.shape
    total = torch.zeros(B, dtype=torch.float64)
    for _ in range(n_draws):
        k = torch.randint(1, L + 1, (B,), generator=generator)
        vocab = _infer_vocab(cond_fn)
        x_t, masked = mask_k_tokens(x0, k, vocab, generator)
        log_cond = torch.log(cond_fn(x_t).to(torch.float64).clamp_min(1e-300))
        total += ao_arm_loss(log_cond, x0, masked)
    return BoundEstimate(total / n_draws, L)


@torch.no_grad()
def lambda_dce_bound(
    cond_fn: CondFn,
    x0: torch.Tensor,
    n_draws: int = 8,
    generator: torch.Generator | None = None,
    final_mask_prob: float = 1.0,
) -> BoundEstimate:
    """Estimate the diffusion NLL bound of each sequence in its lambda-DCE form (Theorem 2).

    For each of ``n_draws`` draws: a mask probability per sequence, stratified over
    ``(0, final_mask_prob]`` (:func:`stratified_mask_probs`, scaled), masking, and the term
    ``final_mask_prob * (1 / lambda) * sum_{i masked} -log c(x0^i | x_lambda)``
    (:func:`lambda_dce_loss`), a Monte-Carlo estimate of the integral of the lambda-DCE loss over
    ``lambda in (0, final_mask_prob]``. With ``final_mask_prob = 1`` (every token masked at the
    final time, the theorem's condition) its expectation equals the AO-ARM form
    (:func:`ao_arm_bound`); with a smaller value the schedule stops early and the integral misses
    the most-masked part, so the two forms disagree. ``x0``: ``[B, L]``.

    Paper: the bound in its lambda-DCE form (Eqs. 3.6, 3.8), Theorem 2 (arXiv:2406.03736v4).
    """
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}")
    if not 0.0 < final_mask_prob <= 1.0:
        raise ValueError(f"final_mask_prob must be in (0, 1], got {final_mask_prob!r}")
    if not isinstance(x0, torch.Tensor) or x0.dim() != 2 or x0.numel() == 0:
        raise ValueError("x0 must be a non-empty [B, L] tensor of tokens")
    vocab = _infer_vocab(cond_fn)
    B, L = x0.shape
    total = torch.zeros(B, dtype=torch.float64)
    for _ in range(n_draws):
        lam = stratified_mask_probs(B, generator) * final_mask_prob  # [B]
        x_t, masked = mask_tokens(x0, lam, vocab, generator)
        log_cond = torch.log(cond_fn(x_t).to(torch.float64).clamp_min(1e-300))
        total += final_mask_prob * lambda_dce_loss(log_cond, x0, masked, lam)
    return BoundEstimate(total / n_draws, L)


def _infer_vocab(cond_fn: CondFn) -> int:
    """The vocabulary size a conditional function was labelled with by :func:`conditional_fn`."""
    vocab = getattr(cond_fn, "vocab_size", None)
    if vocab is None:
        raise ValueError(
            "cond_fn must carry a vocab_size attribute; wrap it with conditional_fn(...)"
        )
    return int(vocab)


@torch.no_grad()
def chain_rule_nll(cond_fn: CondFn, x0: torch.Tensor, order) -> torch.Tensor:
    """``-log`` of the AO-ARM probability of ``x0`` along one generation ``order``, ``[B]`` nats.

    Start fully masked; for ``l = 1..L`` add ``-log c(x0^{order[l]} | x0^{order[<l]})`` and reveal that
    position. With exact conditionals this is ``-log p0(x0)`` for **every** order (the chain rule);
    Theorem 2's bound is its average over uniformly random orders. ``order`` is a permutation of ``0..L-1``.

    Paper: AO-ARM likelihood along one generation order (Eq. 2.16) (arXiv:2406.03736v4).
    """
    vocab = _infer_vocab(cond_fn)
    _check_tokens(x0, vocab, name="x0")
    B, L = x0.shape
    order = torch.as_tensor(order, dtype=torch.long)
    if order.shape != (L,) or not torch.equal(order.sort().values, torch.arange(L)):
        raise ValueError(
            f"order must be a permutation of 0..{L - 1}, got {order.tolist()}"
        )
    x_t = torch.full_like(x0, vocab)
    nll = torch.zeros(B, dtype=torch.float64)
    for position in order.tolist():
        probs = cond_fn(x_t)[:, position].to(torch.float64)  # [B, V]
        nll -= torch.log(
            probs.gather(1, x0[:, position, None]).squeeze(1).clamp_min(1e-300)
        )
        x_t[:, position] = x0[:, position]
    return nll


def conditional_fn(
    fn: Callable[[torch.Tensor], torch.Tensor], vocab_size: int
) -> CondFn:
    """Label a function ``x_t [B, L] -> probabilities [B, L, V]`` with its vocabulary size, and check
    its output on every call (shape, probabilities in [0, 1] summing to 1).

    Paper: course addition — labels a conditional function with its vocabulary.
    """

    def cond_fn(x_t: torch.Tensor) -> torch.Tensor:
        probs = fn(x_t)
        if probs.shape != (*x_t.shape, vocab_size):
            raise ValueError(
                f"the conditional function returned shape {tuple(probs.shape)}, "
                f"expected {(*x_t.shape, vocab_size)}"
            )
        if bool((probs < 0).any()) or bool((probs > 1 + 1e-6).any()):
            raise ValueError("the conditional function returned values outside [0, 1]")
        return probs

    cond_fn.vocab_size = vocab_size
    return cond_fn


def exact_conditional_fn(source: MarkovChainSource) -> CondFn:
    """The oracle conditional function of a :class:`MarkovChainSource` (forward-backward).

    Paper: course addition — the source's exact conditionals as a cond_fn.
    """
    return conditional_fn(source.conditionals, source.vocab_size)


def model_conditional_fn(model: nn.Module, vocab_size: int) -> CondFn:
    """The conditional function of a trained network (eval mode, no gradient).

    Paper: c_theta as a cond_fn for sampling and bounds (Eq. 3.3) (arXiv:2406.03736v4).
    """
    return conditional_fn(network_conditionals(model), vocab_size)


# --------------------------------------------------------------------------------------------
# sampling: Tweedie tau-leaping, with and without RADD's caching
# --------------------------------------------------------------------------------------------
@dataclass
class SampleResult:
    """Samples ``[n, L]`` and the number of network evaluations each sample needed, ``[n]``.

    Paper: course addition — samples with their network-evaluation counts.
    """

    samples: torch.Tensor
    nfe: torch.Tensor

    @property
    def mean_nfe(self) -> float:
        return float(self.nfe.double().mean())


def reveal_probability(step: int, steps: int, eps: float = 0.0) -> float:
    """Tweedie tau-leaping's chance that a still-masked token is revealed in step ``step`` of ``steps``.

    From time ``t`` to ``s < t`` on the uniform grid ``t_i = 1 - i / steps``:
    ``(exp(-sigma_bar(s)) - exp(-sigma_bar(t))) / (1 - exp(-sigma_bar(t)))``. With the log-linear
    schedule and ``eps = 0`` this is exactly ``1 / (steps - step)``, so a token's reveal step is uniform
    over the ``steps`` steps; the last step reveals everything left.

    Paper: Tweedie tau-leaping reveal probability, §3.2 and App. D (arXiv:2406.03736v4).
    """
    if steps < 1 or not 0 <= step < steps:
        raise ValueError(f"need 0 <= step < steps, got step={step}, steps={steps}")
    if not 0 <= eps < 1:
        raise ValueError(f"eps must lie in [0, 1), got {eps}")
    t, s = 1 - step / steps, 1 - (step + 1) / steps
    if step == steps - 1:
        return 1.0
    clean_t = 1 - (1 - eps) * t  # exp(-sigma_bar(t)) for the log-linear schedule
    clean_s = 1 - (1 - eps) * s
    return (clean_s - clean_t) / (1 - clean_t)


@torch.no_grad()
def sample_absorbing(
    cond_fn: CondFn,
    n: int,
    length: int,
    steps: int,
    *,
    cache: bool = True,
    generator: torch.Generator | None = None,
) -> SampleResult:
    """Generate ``n`` sequences by Tweedie tau-leaping from the fully masked state (RADD, §3 of the paper).

    Each of ``steps`` steps reveals every still-masked token with :func:`reveal_probability` and draws
    its value from ``cond_fn(x)`` (the clean-data conditionals; the time-dependent scalar of Theorem 1
    cancels out of Tweedie's update). The random stream is consumed identically with or without caching
    (one ``[n, L]`` uniform draw per step, then one categorical draw per revealed token, in the same
    order), so both give the same samples from the same generator.

    ``cache=False``: evaluate ``cond_fn`` for every sample at every step (``nfe = steps`` each), as a
    time-conditioned network must. ``cache=True``: because ``cond_fn`` has no time input, a sample whose
    tokens did not change in the previous step reuses its last output, and a fully revealed sample is not
    evaluated; a sample is then evaluated once per step in which it reveals something, so its ``nfe`` is
    the number of *occupied* steps (:func:`expected_nfe`).

    Paper: sampling with the cache of §3.2 (Tweedie tau-leaping, App. I) (arXiv:2406.03736v4).
    """
    vocab = _infer_vocab(cond_fn)
    if n < 1 or length < 1 or steps < 1:
        raise ValueError(
            f"need n, length and steps >= 1, got n={n}, length={length}, steps={steps}"
        )
    x = torch.full((n, length), vocab, dtype=torch.long)
    probs = torch.zeros(n, length, vocab, dtype=torch.float64)
    nfe = torch.zeros(n, dtype=torch.long)
    changed = torch.ones(n, dtype=torch.bool)
    for step in range(steps):
        masked = x == vocab  # [n, L]
        rows = masked.any(1) & changed if cache else torch.ones(n, dtype=torch.bool)
        if bool(rows.any()):
            probs[rows] = cond_fn(x[rows]).to(torch.float64)
            nfe += rows.long()
        u = torch.rand(n, length, generator=generator)
        reveal = masked & (u < reveal_probability(step, steps))  # [n, L]
        if bool(reveal.any()):
            x[reveal] = torch.multinomial(
                probs[reveal], 1, generator=generator
            ).squeeze(1)
        changed = reveal.any(1)
    return SampleResult(x, nfe)


def expected_nfe(steps: int, length: int) -> float:
    """Expected network evaluations per sample of the cached sampler: ``N (1 - (1 - 1/N)^L)``.

    Each of the ``L`` tokens is revealed in a step drawn uniformly from the ``N`` steps
    (:func:`reveal_probability`), and the cached sampler evaluates once per occupied step. This is the
    paper's E-NFE (e.g. about 647 for ``N = L = 1024``).

    Paper: E-NFEs(n) = n (1 - (1 - 1/n)^l), Eq. 3.4 (arXiv:2406.03736v4).
    """
    if steps < 1 or length < 1:
        raise ValueError(f"steps and length must be at least 1, got {steps}, {length}")
    return steps * (1 - (1 - 1 / steps) ** length)


def oracle_nll_per_token(source: MarkovChainSource, samples: torch.Tensor) -> float:
    """Sample quality: the true chain's mean NLL per token of generated sequences (nats/token);
    the chain's own samples score ``entropy(L) / L`` on average.

    Paper: course addition — sample quality under the known source.
    """
    _check_tokens(samples, source.vocab_size, name="samples")
    return float(-source.log_prob(samples).mean()) / samples.shape[1]
