"""duet-tiny text side: a SentencePiece unigram tokenizer trained on the world's captions and a
small umT5-style encoder whose output feeds both DiT towers' text MLPs.

Mirrors Wan's T5 encoder (Wan2.2 wan/modules/t5.py, T5Encoder with shared_pos=False as umT5-XXL
uses): per-layer relative position bias (32 buckets, bidirectional, max distance 128), no 1/sqrt(d)
score scaling, gated-GELU(tanh) FFN fc2(fc1(x) * gelu(gate(x))), T5 RMSNorm (no mean, eps 1e-6),
final RMSNorm. Key names are Wan's T5 names (the names inside models_t5_umt5-xxl-enc-bf16.pth),
so one loader reads both: token_embedding.weight, blocks.N.norm1.weight,
blocks.N.attn.{q,k,v,o}.weight, blocks.N.norm2.weight, blocks.N.ffn.gate.0.weight,
blocks.N.ffn.fc1.weight, blocks.N.ffn.fc2.weight, blocks.N.pos_embedding.embedding.weight,
norm.weight. In model.safetensors they sit under the prefix `text_encoder.`.

Tokenizer conventions follow google/umt5-xxl as Wan calls it: pad 0, eos 1, unk 2, no bos; an
EOS is appended; text is whitespace-cleaned first; truncation keeps the EOS last. Ovi's tags
(<S>, <E>, <AUDCAP>, <ENDAUDCAP>) are user-defined pieces so each is one token.
"""
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

TAGS = ['<S>', '<E>', '<AUDCAP>', '<ENDAUDCAP>']
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2


def clean_text(text):
    """Wan's 'whitespace' cleaning (without ftfy/html unescape, which ASCII captions never need)."""
    return re.sub(r'\s+', ' ', text).strip()


def train_tokenizer(captions, model_prefix, vocab_size):
    """Train a unigram SentencePiece model on captions; writes model_prefix + '.model'."""
    import sentencepiece as spm
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([clean_text(c) for c in captions]), model_prefix=model_prefix,
        model_type='unigram', vocab_size=vocab_size, byte_fallback=True,
        character_coverage=1.0, pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1,
        user_defined_symbols=TAGS, hard_vocab_limit=False, num_threads=1,
        normalization_rule_name='nmt_nfkc', minloglevel=2)
    return model_prefix + '.model'


class Tokenizer:
    def __init__(self, path):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=str(path))
        self.vocab_size = self.sp.get_piece_size()

    def encode(self, text, text_len):
        """Ids of one caption: pieces, then EOS; at most text_len ids (EOS kept last)."""
        ids = self.sp.encode(clean_text(text))[:text_len - 1]
        return ids + [EOS_ID]

    def batch(self, texts, text_len):
        """[B, L] ids padded with PAD_ID and the [B, L] bool mask of real tokens."""
        rows = [self.encode(t, text_len) for t in texts]
        n = max(len(r) for r in rows)
        ids = torch.full((len(rows), n), PAD_ID, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r)
        return ids, ids != PAD_ID


class T5LayerNorm(nn.Module):
    """RMSNorm without mean subtraction or bias (T5)."""

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def relative_bucket(rel_pos, num_buckets, max_dist):
    """Bidirectional T5 bucket of rel_pos = key position - query position."""
    half = num_buckets // 2
    buckets = (rel_pos > 0).long() * half
    rel = rel_pos.abs()
    max_exact = half // 2
    large = max_exact + (torch.log(rel.float().clamp(min=1) / max_exact) /
                         math.log(max_dist / max_exact) * (half - max_exact)).long()
    large = large.clamp(max=half - 1)
    return buckets + torch.where(rel < max_exact, rel, large)


class T5RelativeEmbedding(nn.Module):
    def __init__(self, num_buckets, num_heads, max_dist=128):
        super().__init__()
        self.num_buckets, self.max_dist = num_buckets, max_dist
        self.embedding = nn.Embedding(num_buckets, num_heads)

    def forward(self, lq, lk):
        dev = self.embedding.weight.device
        rel = torch.arange(lk, device=dev)[None, :] - torch.arange(lq, device=dev)[:, None]
        bias = self.embedding(relative_bucket(rel, self.num_buckets, self.max_dist))
        return bias.permute(2, 0, 1).unsqueeze(0)  # [1, heads, Lq, Lk]


class T5Attention(nn.Module):
    def __init__(self, dim, dim_attn, num_heads):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim_attn // num_heads
        self.q = nn.Linear(dim, dim_attn, bias=False)
        self.k = nn.Linear(dim, dim_attn, bias=False)
        self.v = nn.Linear(dim, dim_attn, bias=False)
        self.o = nn.Linear(dim_attn, dim, bias=False)

    def forward(self, x, bias):
        b, n, d = x.size(0), self.num_heads, self.head_dim
        q = self.q(x).view(b, -1, n, d).transpose(1, 2)
        k = self.k(x).view(b, -1, n, d).transpose(1, 2)
        v = self.v(x).view(b, -1, n, d).transpose(1, 2)
        # T5 adds the position bias to unscaled scores.
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
        return self.o(y.transpose(1, 2).reshape(b, -1, n * d))


class T5FeedForward(nn.Module):
    def __init__(self, dim, dim_ffn):
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(dim, dim_ffn, bias=False), nn.GELU('tanh'))
        self.fc1 = nn.Linear(dim, dim_ffn, bias=False)
        self.fc2 = nn.Linear(dim_ffn, dim, bias=False)

    def forward(self, x):
        return self.fc2(self.fc1(x) * self.gate(x))


class T5Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = T5LayerNorm(c['dim'], c['eps'])
        self.attn = T5Attention(c['dim'], c['dim_attn'], c['num_heads'])
        self.norm2 = T5LayerNorm(c['dim'], c['eps'])
        self.ffn = T5FeedForward(c['dim'], c['dim_ffn'])
        self.pos_embedding = T5RelativeEmbedding(c['num_buckets'], c['num_heads'],
                                                 c['max_dist'])

    def forward(self, x, mask_bias):
        bias = self.pos_embedding(x.size(1), x.size(1)) + mask_bias
        x = x + self.attn(self.norm1(x), bias)
        return x + self.ffn(self.norm2(x))


class T5Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cfg = dict(c)
        self.token_embedding = nn.Embedding(c['vocab_size'], c['dim'])
        self.blocks = nn.ModuleList([T5Block(c) for _ in range(c['num_layers'])])
        self.norm = T5LayerNorm(c['dim'], c['eps'])
        self.reset_parameters()

    def reset_parameters(self):
        # Wan's init_weights, with a unit-variance embedding.
        nn.init.normal_(self.token_embedding.weight, std=1.0)
        for blk in self.blocks:
            a, f = blk.attn, blk.ffn
            dim, da = a.q.in_features, a.q.out_features
            nn.init.normal_(a.q.weight, std=(dim * da) ** -0.5)
            for lin in (a.k, a.v, f.gate[0], f.fc1):
                nn.init.normal_(lin.weight, std=dim ** -0.5)
            nn.init.normal_(a.o.weight, std=da ** -0.5)
            nn.init.normal_(f.fc2.weight, std=f.fc2.in_features ** -0.5)
            nn.init.normal_(blk.pos_embedding.embedding.weight,
                            std=(2 * blk.pos_embedding.num_buckets * a.num_heads) ** -0.5)

    def forward(self, ids, mask=None):
        """ids [B, L]; mask [B, L] (True = token) hides padded keys. Returns [B, L, dim]."""
        x = self.token_embedding(ids)
        if mask is None:
            mask_bias = torch.zeros((), device=x.device)
        else:
            mask_bias = torch.zeros(mask.shape, device=x.device)
            mask_bias = mask_bias.masked_fill(~mask, float('-inf'))[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, mask_bias)
        return self.norm(x)


def encode_context(encoder, ids, mask, text_len):
    """Ovi's text context: encoder output trimmed to each caption's true length, zero-padded to
    text_len rows ([B, text_len, dim]); this is what the DiT's text MLP sees."""
    out = encoder(ids, mask) * mask[..., None].to(torch.float32)
    b, n, d = out.shape
    if n < text_len:
        out = torch.cat([out, out.new_zeros(b, text_len - n, d)], dim=1)
    return out[:, :text_len]
