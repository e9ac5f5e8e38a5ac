/* duet — the text encoder: token ids -> the context rows both DiT towers read. One
 * implementation serves umT5-XXL (Ovi's text encoder, from the Wan release's
 * models_t5_umt5-xxl-enc-bf16.pth converted by tools/convert_umt5.py) and duet-tiny's small
 * encoder (model.safetensors under "text_encoder."): both use Wan's T5 names.
 *
 * Upstream: Wan-Video/Wan2.2 wan/modules/t5.py, T5Encoder with shared_pos=False (a relative
 * position table per layer, as umT5 has), called by T5EncoderModel; the project's PyTorch
 * statement is tools/duet_tiny/text.py, the golden test tools/golden/text_encoder.py.
 *
 *   x = token_embedding[ids]                                     [dim, L]
 *   per layer:  h = RMSNorm(x) norm1;  q, k, v = Wq h, Wk h, Wv h (dim_attn wide, n_heads)
 *               x += Wo softmax(q k^T + bias) v       scores NOT scaled by 1/sqrt(head_dim)
 *               h = RMSNorm(x) norm2;  x += fc2(fc1(h) * gelu_tanh(gate(h)))
 *   out = RMSNorm(x) norm                                        (T5 RMSNorm: no mean, eps)
 *   bias[k, q, head] = pos_embedding.embedding[bucket(k - q), head], bucket (T5,
 *   bidirectional): n_buckets / 2 per direction (keys after the query in the upper half);
 *   |rel| < n_buckets / 4 exact, beyond that logarithmic up to max_dist, then saturated.
 *
 * Padding: upstream encodes a padded batch with the padded keys masked, then keeps each
 * prompt's first n rows (Wan's T5EncoderModel) and Ovi zero-pads them to text_len rows.
 * Masked keys contribute nothing and the bias depends only on k - q, so encoding each prompt
 * alone at its true length gives the same rows: duet does that (no mask, less work) and writes
 * zeros into the rows past the prompt when the caller's output has more rows.
 *
 * Model vs run state: a duet_text_encoder (weights, immutable, on one backend) serves many
 * sessions; a session holds every activation for up to max_tokens ids, planned when created, so
 * encoding allocates nothing. Computed in f32; matrices and the token embedding stay in the
 * file's dtype (umT5-XXL: bf16; duet-tiny: f16) unless the load parameters ask for another. */
#ifndef DUET_TEXT_ENCODER_H
#define DUET_TEXT_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct {
    int64_t vocab_size; /* token_embedding rows: 256384 (umT5-XXL) */
    int64_t dim;        /* model width d_model: 4096 */
    int64_t dim_attn;   /* q/k/v width, n_heads * head_dim: 4096 */
    int64_t dim_ffn;    /* gated FFN hidden width: 10240 */
    int64_t n_heads;    /* 64 */
    int64_t n_layers;   /* 24 */
    int64_t n_buckets;  /* relative position buckets, both directions: 32 */
    int64_t max_dist;   /* distance where the buckets saturate: 128 */
    int64_t text_len;   /* most ids per prompt (tokenizer truncation) and rows of Ovi's padded
                           context: 512 (duet-tiny: 64) */
    float eps;          /* every RMSNorm: 1e-6 */
} duet_text_encoder_config;

/* umT5-XXL as Wan and Ovi use it (the sizes above). */
duet_text_encoder_config duet_text_encoder_config_umt5_xxl(void);

/* Reads the encoder's settings from JSON text: either an object with the fields below, or one
 * holding such an object under "text_encoder" (duet-tiny's config.json). Fields (duet-tiny's
 * names, those of text.py's config dict): vocab_size, dim, num_heads, num_layers (required),
 * dim_attn (default dim), dim_ffn (required), num_buckets 32, max_dist 128, text_len 512,
 * eps 1e-6; other fields are ignored. `name` stands for the file in messages (may be NULL).
 * Returns DUET_OK, DUET_ERR_FORMAT (bad JSON, a field missing, mistyped or out of range,
 * dim_attn not a multiple of num_heads; logged as "name: text_encoder.dim: ...") or
 * DUET_ERR_INVALID_ARG. *out is written only on success. Thread-safe. */
duet_status duet_text_encoder_config_parse(const char *text, size_t len, const char *name,
                                           duet_text_encoder_config *out);
/* The same from a file. DUET_ERR_IO when it cannot be read. */
duet_status duet_text_encoder_config_load(const char *path, duet_text_encoder_config *out);

/* T5's bidirectional relative-position bucket of rel = key position - query position, computed
 * as upstream does (float32 logarithm, truncated): in [0, n_buckets). n_buckets >= 4 even,
 * max_dist > n_buckets / 4. */
int32_t duet_text_encoder_bucket(int64_t rel, int64_t n_buckets, int64_t max_dist);

typedef struct duet_text_encoder duet_text_encoder;
typedef struct duet_text_encoder_session duet_text_encoder_session;

/* Where the token embedding table lives. A lookup reads only L of its rows, so keeping a large
 * table in host memory costs one small upload per prompt ([dim, L] f32) and saves device
 * memory: umT5-XXL's table is 2.1 GB in bf16, more than some devices bind at once
 * (maxStorageBufferRange is 128 MiB on lavapipe, 2^32 - 1 on NVIDIA). */
typedef enum {
    DUET_TEXT_EMBEDDING_AUTO = 0,   /* host when the table is above 64 MiB, else device */
    DUET_TEXT_EMBEDDING_DEVICE = 1, /* on the backend, looked up with duet_get_rows */
    DUET_TEXT_EMBEDDING_HOST = 2,   /* copied to host memory, rows gathered there */
    DUET_TEXT_EMBEDDING_COUNT = 3,
} duet_text_embedding_place;

typedef struct {
    /* DUET_DTYPE_COUNT (default): matrices and the token embedding as the file stores them;
     * DUET_F32, DUET_F16 or DUET_BF16: converted to that. Norm weights and position tables
     * are always f32. (umT5-XXL's embedding is 2.1 GB in bf16, 4.2 GB in f32.) */
    duet_dtype weight_dtype;
    duet_text_embedding_place embedding; /* default DUET_TEXT_EMBEDDING_AUTO */
} duet_text_encoder_load_params;

duet_text_encoder_load_params duet_text_encoder_default_load_params(void);

/* Loads the encoder's weights from `st`, each named `prefix` + Wan's T5 name (prefix
 * "text_encoder." for duet-tiny's bundle and tools/convert_umt5.py's output, "" for a file
 * holding the encoder alone): token_embedding.weight [vocab_size, dim], norm.weight [dim], and
 * per layer N blocks.N.{norm1,norm2}.weight [dim], blocks.N.attn.{q,k,v}.weight
 * [dim_attn, dim], blocks.N.attn.o.weight [dim, dim_attn], blocks.N.ffn.gate.0.weight and
 * blocks.N.ffn.fc1.weight [dim_ffn, dim], blocks.N.ffn.fc2.weight [dim, dim_ffn],
 * blocks.N.pos_embedding.embedding.weight [n_buckets, n_heads]. Checked strictly against
 * `cfg`: a missing tensor (DUET_ERR_NOT_FOUND), a wrong shape or a tensor under the prefix
 * that the encoder does not use (DUET_ERR_FORMAT; e.g. a shared pos_embedding, or more layers
 * than cfg has) is refused and logged with the tensor's name. Weights are uploaded to `be`
 * once. p may be NULL (defaults). Returns DUET_OK, those errors, DUET_ERR_INVALID_ARG,
 * DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM or a backend error; *out is NULL on failure.
 * The model keeps `be` (which must outlive it) but neither `st` nor `cfg`. Not thread-safe
 * against other users of `be`. */
duet_status duet_text_encoder_load(const duet_text_encoder_config *cfg,
                                   const duet_safetensors *st, const char *prefix,
                                   duet_backend *be, const duet_text_encoder_load_params *p,
                                   duet_text_encoder **out);
/* Releases the weights. Accepts NULL; clears *m. Sessions must be freed first. */
void duet_text_encoder_free(duet_text_encoder **m);
const duet_text_encoder_config *duet_text_encoder_get_config(const duet_text_encoder *m);
/* Whether the token table was placed in host memory (see duet_text_embedding_place). */
bool duet_text_encoder_embedding_on_host(const duet_text_encoder *m);
duet_backend *duet_text_encoder_get_backend(const duet_text_encoder *m);

/* Plans runs of up to max_tokens ids (1 .. 4096; Ovi: text_len): allocates every activation
 * on the model's backend, including the [max_tokens, max_tokens, n_heads] f32 position bias
 * twice (umT5-XXL at 512 ids: 2 x 64 MiB; a device that binds at most 128 MiB at once, such
 * as lavapipe, then caps umT5-XXL sessions at 724 ids: its ops report the binding). Returns
 * DUET_OK, DUET_ERR_INVALID_ARG, DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM or a backend
 * error; *out NULL on failure. */
duet_status duet_text_encoder_session_new(const duet_text_encoder *m, int64_t max_tokens,
                                          duet_text_encoder_session **out);
/* Accepts NULL; clears *s. */
void duet_text_encoder_session_free(duet_text_encoder_session **s);
int64_t duet_text_encoder_session_max_tokens(const duet_text_encoder_session *s);
/* The session's model's config. */
const duet_text_encoder_config *duet_text_encoder_session_config(
    const duet_text_encoder_session *s);

/* Encodes one prompt: ids (host, n_ids of them, 1 <= n_ids <= max_tokens, each in
 * [0, vocab_size); the tokenizer's ids including its EOS, without padding) -> out, a
 * contiguous f32 [dim, n_rows] tensor on the model's backend (PyTorch [n_rows, dim]) with
 * n_ids <= n_rows <= max_tokens: rows 0 .. n_ids - 1 receive the encoder's output, the rest
 * zeros (n_rows = text_len gives Ovi's padded context; n_rows = n_ids the trimmed one, which
 * duet_dit_eval pads itself). Ops are recorded on the backend; results are ready when it syncs
 * (duet_tensor_download syncs). Returns DUET_OK, DUET_ERR_INVALID_ARG (sizes, an id out of
 * range: logged with its position) or the first failing op's status. Not thread-safe for one
 * session; sessions of one model run one at a time. */
duet_status duet_text_encoder_encode(duet_text_encoder_session *s, const int32_t *ids,
                                     int64_t n_ids, duet_tensor *out);

#endif
