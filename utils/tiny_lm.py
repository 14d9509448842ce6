"""A tiny transformer language model, shared by the chapters that need "a language model".

Introduced in chapter 02 (language models as risk scores) and reused by chapter 08 (reStructured
pre-training: exams for a pre-trained model) and chapter 11 (implicit multimodal alignment:
hidden states per layer, perceptual tokens fed as embeddings, skipping feed-forward blocks).
No pretrained weights: every chapter trains its own model in seconds on a CPU.

The architecture is the GPT-2-style decoder of Radford et al. (2019), scaled down:

* token embedding plus a **learned** position embedding, ``h_0 = E[x_t] + P[t]``;
* ``n_layers`` **pre-LayerNorm** blocks (Vaswani et al. 2017, Eq. 1 for attention, Eq. 2 for the
  feed-forward network; LayerNorm before each sub-layer as in Xiong et al. 2020)::

      a = h + MultiHeadAttention(LN_1(h))            # causal mask when causal=True
      h' = a + keep * FFN(LN_2(a))                   # keep = ffn_keep[layer], 1 everywhere by default

* a final LayerNorm and a linear read-out to next-token logits.

One block computes exactly what ``torch.nn.TransformerEncoderLayer(norm_first=True,
batch_first=True, activation="gelu", dropout=0)`` computes (``tests/test_tiny_lm.py`` checks it
with copied weights), with one addition: ``keep`` lets a caller skip the feed-forward block at
chosen token positions (chapter 11's compute-saving experiment).

Shapes: ``B`` batch, ``T`` sequence length (at most ``max_len``), ``d`` model width, ``V`` vocabulary
size, ``L`` number of layers. ``hidden_states`` is a list of ``L + 1`` tensors ``[B, T, d]``: the
input embeddings, then the output of each block (before the final LayerNorm).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

__all__ = [
    "TinyLMConfig",
    "TinyLM",
    "Block",
    "SelfAttention",
    "attention_allowed",
    "WordTokenizer",
    "causal_mask",
    "next_token_loss",
    "train_next_token",
    "generate_greedy",
    "frozen_copy",
]


# --------------------------------------------------------------------------------- tokenizer
@dataclass
class WordTokenizer:
    """A word-level (``level="word"``, split on whitespace) or character-level tokenizer.

    Built from a corpus with :meth:`fit`; the vocabulary is the special tokens followed by every
    distinct word (or character) in order of first appearance, so it is deterministic. Unknown
    words raise ``KeyError`` naming the word: a tiny model has no ``<unk>`` to hide typos behind.
    """

    tokens: list[str]
    level: str = "word"
    index: dict[str, int] = field(init=False, repr=False)

    PAD = "<pad>"

    def __post_init__(self):
        if self.level not in ("word", "char"):
            raise ValueError(f"level must be 'word' or 'char', got {self.level!r}")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("the vocabulary has duplicate tokens")
        if not self.tokens:
            raise ValueError("the vocabulary is empty")
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    @classmethod
    def fit(cls, texts, level: str = "word", specials=("<pad>",)) -> WordTokenizer:
        """The tokenizer whose vocabulary is ``specials`` plus every unit seen in ``texts``."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not one string")
        vocab = list(dict.fromkeys(specials))
        seen = set(vocab)
        for text in texts:
            for unit in cls._split(text, level):
                if unit not in seen:
                    seen.add(unit)
                    vocab.append(unit)
        return cls(vocab, level)

    @staticmethod
    def _split(text: str, level: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        return text.split() if level == "word" else list(text)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        """Id of ``<pad>`` (``KeyError`` if the vocabulary has none)."""
        return self.index[self.PAD]

    def id(self, token: str) -> int:
        """Id of one token; ``KeyError`` names an unknown token."""
        try:
            return self.index[token]
        except KeyError:
            raise KeyError(
                f"unknown token {token!r} (not in the {len(self)}-token vocabulary)"
            ) from None

    def encode(self, text: str) -> list[int]:
        """Token ids of one text."""
        return [self.id(unit) for unit in self._split(text, self.level)]

    def encode_batch(self, texts, length: int | None = None) -> torch.Tensor:
        """``LongTensor[n, length]`` of the texts, right-padded with ``<pad>``.

        ``length`` defaults to the longest text; a longer text raises ``ValueError``.
        """
        rows = [self.encode(t) for t in texts]
        if not rows:
            raise ValueError("encode_batch needs at least one text")
        longest = max(len(r) for r in rows)
        length = longest if length is None else int(length)
        if longest > length:
            raise ValueError(f"a text has {longest} tokens, more than length={length}")
        # <pad> is looked up only when a row needs it (a vocabulary may have none)
        padded = [
            r + [self.pad_id] * (length - len(r)) if len(r) < length else r
            for r in rows
        ]
        return torch.tensor(padded, dtype=torch.long)

    def decode(self, ids, skip_pad: bool = True) -> str:
        """Text of a sequence of ids (words joined by spaces, characters joined directly)."""
        ids = [int(i) for i in ids]  # a list, tensor or array of ids
        bad = [i for i in ids if not 0 <= int(i) < len(self)]
        if bad:
            raise ValueError(
                f"token id {bad[0]} is outside the vocabulary [0, {len(self)})"
            )
        units = [self.tokens[int(i)] for i in ids]
        if skip_pad:
            units = [u for u in units if u != self.PAD]
        return (" " if self.level == "word" else "").join(units)


# ----------------------------------------------------------------------------------- model
@dataclass
class TinyLMConfig:
    """Sizes of a :class:`TinyLM`. The defaults are chapter 02's: a few thousand parameters per layer."""

    vocab_size: int
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2
    d_ff: int = 64
    max_len: int = 16
    causal: bool = True
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_len"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, np.integer))
                or value < 1
            ):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def _check_length(T) -> None:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 0:
        raise ValueError(f"T must be a non-negative integer, got {T!r}")


def causal_mask(T: int, device=None) -> torch.Tensor:
    """``BoolTensor[T, T]``, True above the diagonal: position t may not attend to s > t."""
    _check_length(T)
    return torch.ones(T, T, dtype=torch.bool, device=device).triu(1)


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention (Vaswani et al. 2017, Eq. 1 and Section 3.2.2).

    ``softmax(Q K^T / sqrt(d_head) + mask) V`` per head, heads concatenated and projected. The
    parameters are named like ``nn.MultiheadAttention``'s (``in_proj_weight`` holds W_Q, W_K, W_V
    stacked, ``out_proj`` is W_O), so weights can be copied between the two.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(
        self, x: torch.Tensor, allowed: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``x [B, T, d] -> [B, T, d]``; ``allowed`` (bool, broadcastable to ``[B, H, T, T]``): True
        where query t may attend to key s."""
        B, T, d = x.shape
        qkv = nn.functional.linear(
            x, self.in_proj_weight, self.in_proj_bias
        )  # [B, T, 3d]
        q, k, v = qkv.view(B, T, 3, self.n_heads, d // self.n_heads).permute(
            2, 0, 3, 1, 4
        )
        # q, k, v: [B, H, T, d_head]
        out = nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0
        )
        out = out.transpose(1, 2).reshape(B, T, d)  # [B, T, d]
        return self.out_proj(out)


class Block(nn.Module):
    """One pre-LayerNorm transformer block (attention, then a GELU feed-forward network).

    Attribute names match ``nn.TransformerEncoderLayer`` (``self_attn``, ``linear1``, ``linear2``,
    ``norm1``, ``norm2``), so that layer's ``state_dict`` loads into this block unchanged.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.self_attn = SelfAttention(d_model, n_heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def ffn(self, x: torch.Tensor) -> torch.Tensor:
        """Position-wise feed-forward network ``W_2 GELU(W_1 x + b_1) + b_2`` (Vaswani et al., Eq. 2)."""
        return self.linear2(self.dropout(nn.functional.gelu(self.linear1(x))))

    def forward(
        self,
        h: torch.Tensor,
        allowed: torch.Tensor | None = None,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``h [B, T, d] -> [B, T, d]``; ``keep [B|1, T]`` (0/1) scales the FFN update per position."""
        h = h + self.dropout(self.self_attn(self.norm1(h), allowed))
        update = self.dropout(self.ffn(self.norm2(h)))  # [B, T, d]
        if keep is not None:
            update = update * keep.unsqueeze(-1).to(update.dtype)  # [B|1, T, 1]
        return h + update


def attention_allowed(
    T: int, causal: bool, pad_mask: torch.Tensor | None = None, device=None
) -> torch.Tensor | None:
    """Boolean mask ``[T, T]`` or ``[B, 1, T, T]``: True where a query may attend to a key.

    Causal: key s <= query t. ``pad_mask [B, T]`` (True at padding) removes padded keys.
    """
    _check_length(T)
    if pad_mask is not None and (
        not isinstance(pad_mask, torch.Tensor)
        or pad_mask.dtype != torch.bool
        or pad_mask.dim() != 2
        or pad_mask.shape[1] != T
    ):
        raise ValueError(
            f"pad_mask must be a BoolTensor [B, {T}], got "
            f"{getattr(pad_mask, 'dtype', type(pad_mask).__name__)} "
            f"{tuple(getattr(pad_mask, 'shape', ()))}"
        )
    allowed = ~causal_mask(T, device) if causal else None
    if pad_mask is None:
        return allowed
    keys = ~pad_mask[:, None, None, :]  # [B, 1, 1, T]
    return keys if allowed is None else keys & allowed  # [B, 1, T, T]


class TinyLM(nn.Module):
    """A small causal (or, with ``causal=False``, bidirectional) transformer language model.

    ``forward(tokens)`` gives next-token logits ``[B, T, V]``; ``forward_embeds(embeds)`` starts
    from input embeddings ``[B, T, d]`` (for tokens that are not words, e.g. image features
    projected into the model's space) and returns ``(logits, hidden_states)``.
    """

    def __init__(self, config: TinyLMConfig):
        super().__init__()
        if not isinstance(config, TinyLMConfig):
            raise TypeError("TinyLM takes a TinyLMConfig")
        self.config = config
        c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        self.pos_emb = nn.Embedding(c.max_len, c.d_model)
        self.blocks = nn.ModuleList(
            Block(c.d_model, c.n_heads, c.d_ff, c.dropout) for _ in range(c.n_layers)
        )
        self.norm_f = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)  # mean 0
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @property
    def n_layers(self) -> int:
        return self.config.n_layers

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token embeddings ``[B, T, d]`` of ``tokens [B, T]``, *without* positions.

        Concatenate these with other embeddings along T and pass the result to
        :meth:`forward_embeds`, which adds the positions.
        """
        self._check_tokens(tokens)
        return self.tok_emb(tokens)

    def forward(
        self,
        tokens: torch.Tensor,
        ffn_keep: torch.Tensor | None = None,
        pad_mask: torch.Tensor | None = None,
        return_hidden: bool = False,
    ):
        """Logits ``[B, T, V]`` of ``tokens [B, T]`` (and the hidden states if ``return_hidden``)."""
        logits, hidden = self.forward_embeds(
            self.embed(tokens), ffn_keep=ffn_keep, pad_mask=pad_mask
        )
        return (logits, hidden) if return_hidden else logits

    def forward_embeds(
        self,
        embeds: torch.Tensor,
        ffn_keep: torch.Tensor | None = None,
        pad_mask: torch.Tensor | None = None,
    ):
        """``(logits [B, T, V], hidden_states)`` from ``embeds [B, T, d]``; L+1 hidden states ``[B, T, d]``.

        ``ffn_keep`` (``[L, B, T]`` or ``[L, 1, T]``, values 0 or 1): where 0, layer l's feed-forward
        update is skipped for that token. ``pad_mask`` (``BoolTensor[B, T]``, True at padding):
        padded positions are never attended to; pad on the right when ``causal=True``.
        """
        B, T = self._check_embeds(embeds)
        keep = self._check_ffn_keep(ffn_keep, B, T, embeds.device)
        if pad_mask is not None and (
            pad_mask.shape != (B, T) or pad_mask.dtype != torch.bool
        ):
            raise ValueError(
                f"pad_mask must be a BoolTensor of shape {(B, T)}, got "
                f"{pad_mask.dtype} {tuple(pad_mask.shape)}"
            )
        positions = torch.arange(T, device=embeds.device)
        h = embeds + self.pos_emb(positions)  # [B, T, d]
        allowed = attention_allowed(T, self.config.causal, pad_mask, embeds.device)
        hidden = [h]
        for layer, block in enumerate(self.blocks):
            h = block(h, allowed, keep=None if keep is None else keep[layer])
            hidden.append(h)  # [B, T, d]
        logits = self.head(self.norm_f(h))  # [B, T, V]
        return logits, hidden

    # ------------------------------------------------------------------ input validation
    def _check_tokens(self, tokens, name: str = "tokens"):
        if not isinstance(tokens, torch.Tensor) or tokens.dtype != torch.long:
            raise TypeError(f"{name} must be a LongTensor of token ids")
        if tokens.dim() != 2:
            raise ValueError(
                f"{name} must have shape [B, T], got {tuple(tokens.shape)}"
            )
        if tokens.numel() == 0:
            raise ValueError(f"{name} is empty")
        if tokens.min() < 0 or tokens.max() >= self.config.vocab_size:
            raise ValueError(
                f"{name} must hold token ids in [0, {self.config.vocab_size}), got "
                f"[{int(tokens.min())}, {int(tokens.max())}]"
            )

    def _check_embeds(self, embeds):
        if not isinstance(embeds, torch.Tensor) or not embeds.is_floating_point():
            raise TypeError("embeds must be a float tensor [B, T, d]")
        if embeds.dim() != 3 or embeds.shape[-1] != self.config.d_model:
            raise ValueError(
                f"embeds must have shape [B, T, {self.config.d_model}], got "
                f"{tuple(embeds.shape)}"
            )
        B, T, _ = embeds.shape
        if B == 0 or T == 0:
            raise ValueError(f"embeds is empty: shape {tuple(embeds.shape)}")
        if T > self.config.max_len:
            raise ValueError(
                f"sequence length {T} exceeds max_len={self.config.max_len}"
            )
        return B, T

    def _check_ffn_keep(self, ffn_keep, B, T, device):
        if ffn_keep is None:
            return None
        ffn_keep = torch.as_tensor(ffn_keep, device=device)
        L = self.config.n_layers
        if (
            ffn_keep.dim() != 3
            or ffn_keep.shape[0] != L
            or ffn_keep.shape[1] not in (1, B)
            or ffn_keep.shape[2] != T
        ):
            raise ValueError(
                f"ffn_keep must have shape [{L}, {B} or 1, {T}], got "
                f"{tuple(ffn_keep.shape)}"
            )
        if not torch.all((ffn_keep == 0) | (ffn_keep == 1)):
            raise ValueError("ffn_keep must hold only 0s and 1s")
        return ffn_keep


# ------------------------------------------------------------------------- training, decoding
def next_token_loss(model: TinyLM, batch) -> torch.Tensor:
    """Mean cross-entropy of predicting token t+1 from tokens <= t (the language-modelling objective).

    ``batch`` is ``tokens [B, T]`` or ``(tokens [B, T], weight [B, T-1])``; ``weight`` (e.g. 1 only on
    answer tokens, 0 on padding) weights each predicted position. Padding in ``tokens`` should get
    weight 0.
    """
    tokens, weight = batch if isinstance(batch, (tuple, list)) else (batch, None)
    model._check_tokens(tokens, name="batch")
    if tokens.shape[1] < 2:
        raise ValueError(
            f"batch needs at least 2 tokens per row, got {tokens.shape[1]}"
        )
    logits = model(tokens[:, :-1])  # [B, T-1, V]
    targets = tokens[:, 1:]  # [B, T-1]
    losses = nn.functional.cross_entropy(
        logits.transpose(1, 2), targets, reduction="none"
    )
    if weight is None:
        return losses.mean()
    if weight.shape != targets.shape:
        raise ValueError(
            f"weight must have shape {tuple(targets.shape)}, got {tuple(weight.shape)}"
        )
    if not bool(torch.isfinite(weight).all()):
        raise ValueError("weight must be finite")
    total = weight.sum()
    if total <= 0:
        raise ValueError("weight is zero everywhere: nothing to learn from")
    return (losses * weight).sum() / total


def train_next_token(
    model: TinyLM,
    tokens: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 256,
    lr: float = 3e-3,
    weight: torch.Tensor | None = None,
    seed: int = 0,
    weight_decay: float = 0.0,
    desc: str = "next-token training",
):
    """Train ``model`` on random mini-batches of ``tokens [N, T]`` with :func:`next_token_loss`.

    Uses the course's one training loop, :func:`utils.training.train` (AdamW). Batches are drawn
    without replacement epoch by epoch from a generator seeded with ``seed``. Returns the
    :class:`~utils.training.TrainLog`; the model is left in eval mode.
    """
    from utils.training import train

    if tokens.dim() != 2 or tokens.shape[0] == 0:
        raise ValueError(
            f"tokens must be a non-empty [N, T] tensor, got {tuple(tokens.shape)}"
        )
    model._check_tokens(tokens)
    if weight is not None and weight.shape != (tokens.shape[0], tokens.shape[1] - 1):
        raise ValueError(
            f"weight must have shape {(tokens.shape[0], tokens.shape[1] - 1)}, got "
            f"{tuple(weight.shape)}"
        )
    device = next(model.parameters()).device
    n = tokens.shape[0]
    batch_size = min(int(batch_size), n)
    generator = torch.Generator().manual_seed(int(seed))
    order: list[torch.Tensor] = []

    def next_batch(step):
        if not order or order[0].numel() < batch_size:
            order[:] = [torch.randperm(n, generator=generator)]
        idx, order[0] = order[0][:batch_size], order[0][batch_size:]
        batch = tokens[idx].to(device)
        return batch if weight is None else (batch, weight[idx].to(device))

    return train(
        model,
        next_token_loss,
        next_batch,
        steps=steps,
        lr=lr,
        weight_decay=weight_decay,
        desc=desc,
    )


@torch.no_grad()
def generate_greedy(
    model: TinyLM,
    prompt: torch.Tensor,
    n_new: int,
    allowed: list[int] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Greedy decoding: append the arg-max next token ``n_new`` times; returns ``[B, T + n_new]``.

    ``allowed`` restricts the arg-max to a set of token ids (e.g. the digits, as when a risk is
    read as a number). Needs ``causal=True``: an encoder has no "next" token.
    """
    if not model.config.causal:
        raise ValueError("greedy generation needs a causal model (causal=True)")
    model._check_tokens(prompt, name="prompt")
    if n_new < 1:
        raise ValueError(f"n_new must be at least 1, got {n_new}")
    if prompt.shape[1] + n_new > model.config.max_len:
        raise ValueError(
            f"prompt length {prompt.shape[1]} + n_new {n_new} exceeds "
            f"max_len={model.config.max_len}"
        )
    was_training = model.training
    model.eval()
    out = prompt
    if allowed is not None:
        allowed = torch.as_tensor(allowed, dtype=torch.long, device=prompt.device)
        if allowed.numel() == 0:
            raise ValueError("allowed is empty")
        if allowed.min() < 0 or allowed.max() >= model.config.vocab_size:
            raise ValueError(
                f"allowed must hold token ids in [0, {model.config.vocab_size}), got "
                f"{allowed.tolist()}"
            )
    for _ in range(n_new):
        logits = model(out)[:, -1]  # [B, V]
        if allowed is None:
            nxt = logits.argmax(-1)
        else:
            nxt = allowed[logits[:, allowed].argmax(-1)]
        out = torch.cat([out, nxt[:, None]], dim=1)  # [B, T + k]
    model.train(was_training)
    return out


def frozen_copy(model: TinyLM) -> TinyLM:
    """A deep copy in eval mode with ``requires_grad=False`` everywhere (a fixed reference model)."""
    clone = copy.deepcopy(model).eval()
    for p in clone.parameters():
        p.requires_grad_(False)
    return clone
