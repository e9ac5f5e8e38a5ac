/* duet render — one shot, as tools/duet_tiny/sample.py generate renders a clip: tokenizer ->
 * text encoder (prompt and both negatives) -> clean latents of the shot's references -> DiT
 * sampling with CFG from the shot's seeded noise (diffusion/generate.h) -> video VAE decode ->
 * audio VAE decode -> vocoder. A shot with reference audio keeps that audio as its sound ("the
 * audio is used as given"), so its audio decoders do not run.
 *
 * Continuation ("continue": true) is image-to-video from the previous shot's last decoded
 * frame: that frame is encoded as latent frame 0 and given clean, n_frames + 1 frames are
 * generated, and the first decoded frame (a re-rendering of the previous shot's last one) is
 * dropped with its 1 / fps of audio, so the picture flows on with no cut and the kept sound
 * stays in sync with the kept frames. One frame, not the previous shot's last latent frames:
 * duet-tiny was trained with 1-3 leading latent frames given, but the video encoder encodes
 * single images only (a clip needs the chunked, cached encode it lacks), and latent frame 0 of
 * the causal VAE is exactly one image, so a single frame is the continuation that is both
 * trained and encodable. The sound is the shot's own; the clip assembler smooths the join
 * (mux/assemble.h). With reference audio too, the given audio is the previous shot's sound
 * under the repeated frame followed by the reference. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/render.h"
#include "core/alloc.h"
#include "core/log.h"
#include "diffusion/generate.h"
#include "encoders/text_prompt.h"
#include "video/png_io.h"

/* What is generated for a shot and what of it is kept. */
typedef struct {
    int lead;             /* leading generated frames dropped: 1 for a continuation, else 0 */
    int64_t lead_samples; /* their audio: round(lead * rate / fps) */
    duet_dit_shape sh;    /* latent geometry of n_frames + lead frames */
} shot_plan;

/* Latent geometry as sample.py's (config.py: 16x16 px per latent cell, 4 frames per latent
 * frame after the first, 512 samples at 16 kHz per audio token; 49 frames at 16 fps -> 13
 * latent frames and 96 audio tokens). */
static shot_plan plan_shot(const duet_job *job, const duet_job_shot *s) {
    shot_plan p;
    p.lead = s->continues ? 1 : 0;
    p.lead_samples = ((int64_t)p.lead * DUET_RENDER_RATE_HZ + job->fps / 2) / job->fps;
    const int64_t n = s->n_frames + p.lead;
    p.sh.video_frames = 1 + (n - 1 + 3) / 4;
    p.sh.video_h = job->height / 16;
    p.sh.video_w = job->width / 16;
    p.sh.audio_len = (n * DUET_RENDER_RATE_HZ / job->fps + DUET_RENDER_TOKEN_SAMPLES - 1) /
                     DUET_RENDER_TOKEN_SAMPLES;
    return p;
}

typedef struct {
    const duet_render_args *a;
    int shot;
    duet_render_record *rec;
    double t0;
} stage_ctx;

static void stage_start(stage_ctx *c, duet_render_stage k) {
    duet_render_progress(c->a, c->shot, duet_render_stage_names[k], "start");
    c->t0 = duet_render_now_s();
}

static duet_status stage_end(stage_ctx *c, duet_render_stage k, duet_status st) {
    c->rec->t[k] = duet_render_now_s() - c->t0;
    duet_render_progress(c->a, c->shot, duet_render_stage_names[k],
                         st == DUET_OK ? "done" : "failed");
    return st;
}

/* The shot's prompt and its negative prompts: the shot's, else the job's (both in s), else the
 * model's own (config.json "sampler"; "" is Ovi's default, the lone EOS). */
static void shot_texts(const duet_render_model *m, const duet_job_shot *s, const char *t[3]) {
    t[0] = s->prompt;
    t[1] = s->negative_video ? s->negative_video : m->defaults.video_negative;
    t[2] = s->negative_audio ? s->negative_audio : m->defaults.audio_negative;
}

/* The prompt and the negatives tokenize (a broken tokenizer model is reported here). */
static duet_status tokenize_all(const duet_render_model *m, const duet_job_shot *s) {
    int32_t *ids = duet_malloc(sizeof *ids * DUET_RENDER_MAX_PROMPT_IDS);
    if (!ids) return DUET_ERR_OUT_OF_MEMORY;
    const char *texts[3];
    shot_texts(m, s, texts);
    duet_status st = DUET_OK;
    for (int k = 0; k < 3 && st == DUET_OK; k++) {
        size_t n = 0;
        bool trunc = false;
        if (!texts[k]) continue;
        st = duet_tokenizer_encode(m->tok, texts[k], NULL, ids, DUET_RENDER_MAX_PROMPT_IDS, &n,
                                   &trunc);
        if (st == DUET_OK && trunc)
            duet_log(DUET_LOG_WARN, "prompt truncated to %d tokens", DUET_RENDER_MAX_PROMPT_IDS);
    }
    duet_free(ids);
    return st;
}

/* The prompt and both negative prompts -> context rows (Ovi's padded [dim, text_len]). */
static duet_status encode_texts(const duet_render_model *m, duet_arena *ar,
                                const duet_job_shot *s, duet_tensor *ctx[3]) {
    const char *texts[3];
    shot_texts(m, s, texts);
    duet_status st = DUET_OK;
    for (int k = 0; k < 3 && st == DUET_OK; k++) {
        ctx[k] = duet_tensor_new4(ar, m->be, DUET_F32, m->tcfg.dim, m->tcfg.text_len, 1, 1);
        st = ctx[k] ? duet_text_encode_prompt(m->text_s, m->tok, texts[k], ctx[k], NULL)
                    : DUET_ERR_OUT_OF_MEMORY;
    }
    if (st == DUET_OK) st = duet_backend_sync(m->be);
    return st;
}

/* The previous shot's sound under its last frame (the lead of a continuation's given audio):
 * samples [len - n, len) of its track, len its length on the timeline; zeros past its end. */
static float *previous_tail(const duet_job *job, const duet_render_shot_out *prev, int64_t n) {
    float *t = duet_calloc((size_t)(n > 0 ? n : 1), sizeof *t);
    int64_t len = (prev->n_frames * DUET_RENDER_RATE_HZ + job->fps / 2) / job->fps;
    for (int64_t k = 0; t && k < n; k++) {
        int64_t j = len - n + k;
        if (j >= 0 && j < prev->n_samples) t[k] = prev->pcm[j];
    }
    return t;
}

/* Clean latents of the shot's references into *in (none: nothing to do, no stage). */
static duet_status encode_given(const duet_render_model *m, const duet_job *job, int i,
                                const duet_render_refs *ref, const duet_render_shot_out *outs,
                                const shot_plan *p, duet_arena *ar, duet_generate_inputs *in) {
    const duet_job_shot *s = &job->shots[i];
    const size_t fb = (size_t)job->width * (size_t)job->height * 3;
    duet_status st = DUET_OK;
    duet_tensor *v = NULL, *au = NULL;
    if (s->continues) {
        const duet_render_shot_out *prev = &outs[i - 1];
        st = duet_render_encode_frame(m, job, prev->rgb + fb * (size_t)(prev->n_frames - 1), ar,
                                      &v);
    } else if (ref->image) {
        st = duet_render_encode_frame(m, job, ref->image, ar, &v);
    }
    if (st == DUET_OK && ref->audio) {
        float *lead = s->continues ? previous_tail(job, &outs[i - 1], p->lead_samples) : NULL;
        st = s->continues && !lead ? DUET_ERR_OUT_OF_MEMORY
                                   : duet_render_encode_audio(m, lead, p->lead_samples, ref->audio,
                                                              ref->n_audio, p->sh.audio_len, ar,
                                                              &au);
        duet_free(lead);
    }
    in->video_given = v;
    in->audio_given = au;
    return st;
}

static bool on_step(int step, int n_steps, void *user) {
    const stage_ctx *c = user;
    double el = duet_render_now_s() - c->t0, eta = el / step * (n_steps - step);
    if (c->a->json) {
        printf("{\"shot\":%d,\"stage\":\"sample\",\"step\":%d,\"steps\":%d,"
               "\"eta_s\":%.1f}\n", c->shot, step, n_steps, eta);
        fflush(stdout);
    } else if (!c->a->quiet && isatty(STDERR_FILENO)) {
        fprintf(stderr, "\r[shot %d] sample %3d/%d  ETA %5.1f s\033[K%s", c->shot, step,
                n_steps, eta, step == n_steps ? "\n" : "");
    }
    return true;
}

/* DiT sampling with CFG (diffusion/generate.h) from noise seeded by the shot's seed, the given
 * latents kept clean. */
static duet_status sample_shot(stage_ctx *c, const duet_render_model *m, const duet_job *job,
                               const shot_plan *p, duet_arena *ar,
                               const duet_generate_inputs *in, duet_tensor **v_out,
                               duet_tensor **a_out) {
    const duet_job_shot *s = &job->shots[c->shot];
    duet_dit_session *ses = NULL;
    duet_status st = duet_dit_session_new(m->dit, &p->sh, &ses);
    if (st != DUET_OK) return st;
    const duet_dit_config *cfg = duet_dit_get_config(m->dit);
    duet_tensor *v = duet_tensor_new4(ar, m->be, DUET_F32, p->sh.video_w, p->sh.video_h,
                                      p->sh.video_frames, cfg->video.in_dim);
    duet_tensor *au = duet_tensor_new4(ar, m->be, DUET_F32, cfg->audio.in_dim, p->sh.audio_len,
                                       1, 1);
    duet_generate_params gp = duet_generate_default_params();
    gp.solver = m->defaults.solver;
    gp.n_steps = job->steps;
    gp.shift = m->defaults.shift;
    gp.slg_layer = m->defaults.slg_layer;
    gp.video_guidance = job->guidance_video;
    gp.audio_guidance = job->guidance_audio;
    gp.seed = s->seed;
    gp.progress = on_step;
    gp.progress_user_data = c;
    st = v && au ? duet_generate(m->dit, ses, &gp, in, v, au) : DUET_ERR_OUT_OF_MEMORY;
    duet_dit_session_free(&ses);
    *v_out = v;
    *a_out = au;
    return st;
}

/* Latents [w, h, F, z] -> RGB8 frames (the video VAE): 1 + 4 (F - 1) decoded, the shot keeps
 * n_frames of them after the lead; written to --frames DIR as PNGs. */
static duet_status decode_video(const duet_render_args *a, const duet_render_model *m,
                                const duet_job *job, int i, const shot_plan *p,
                                const duet_tensor *v, duet_render_shot_out *out) {
    duet_vae_session *vs = NULL;
    duet_status st = duet_vae_session_new(m->vae, v->ne[1], v->ne[0], &vs);
    if (st != DUET_OK) return st;
    int64_t n_dec = duet_vae_frames_out(m->vae, v->ne[2]);
    size_t frame = (size_t)job->width * (size_t)job->height * 3;
    uint8_t *rgb = duet_malloc(frame * (size_t)n_dec);
    st = rgb ? duet_vae_decode(vs, v, rgb, frame * (size_t)n_dec) : DUET_ERR_OUT_OF_MEMORY;
    duet_vae_session_free(&vs);
    int64_t n_keep = job->shots[i].n_frames;
    if (st == DUET_OK && p->lead + n_keep > n_dec) st = DUET_ERR_FORMAT; /* geometry broken */
    if (st == DUET_OK && p->lead) memmove(rgb, rgb + frame * (size_t)p->lead, frame * (size_t)n_keep);
    char path[4400];
    for (int64_t f = 0; st == DUET_OK && a->frames_dir && f < n_keep; f++) {
        snprintf(path, sizeof path, "%s/shot%02d_%04lld.png", a->frames_dir, i, (long long)f);
        st = duet_png_write(path, rgb + frame * (size_t)f, job->width, job->height);
    }
    if (st != DUET_OK) {
        duet_free(rgb);
        return st;
    }
    out->rgb = rgb;
    out->n_frames = n_keep;
    return DUET_OK;
}

/* Audio latents [C, L] -> mel (audio VAE decoder; stage audio_vae) -> waveform (vocoder; stage
 * vocoder) at 16 kHz; the lead's samples are dropped, the run-on past the shot kept. */
static duet_status decode_audio(stage_ctx *c, const duet_render_model *m, const shot_plan *p,
                                const duet_tensor *au, duet_render_shot_out *out) {
    int64_t L = au->ne[1], T = duet_audio_vae_mel_len(&m->acfg.vae, L);
    int64_t n = duet_vocoder_n_samples(&m->acfg.vocoder, T);
    duet_arena *ar = duet_arena_new(0);
    duet_audio_vae_session *as = NULL;
    duet_vocoder_session *vs = NULL;
    duet_tensor *mel = ar ? duet_tensor_new4(ar, m->be, DUET_F32, T, m->acfg.vae.data_dim, 1, 1)
                          : NULL;
    duet_tensor *pcm = ar ? duet_tensor_new4(ar, m->be, DUET_F32, n, 1, 1, 1) : NULL;
    float *host = duet_malloc(sizeof *host * (size_t)(n > 0 ? n : 1));
    duet_status st = mel && pcm && host ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
    if (st == DUET_OK && (T <= 0 || n <= p->lead_samples)) st = DUET_ERR_FORMAT; /* geometry */
    stage_start(c, DUET_RENDER_ST_AUDIO_VAE);
    if (st == DUET_OK) st = duet_audio_vae_decoder_session_new(m->adec, L, &as);
    if (st == DUET_OK) st = duet_audio_vae_decode(as, au, mel);
    if (st == DUET_OK) st = duet_backend_sync(m->be);
    stage_end(c, DUET_RENDER_ST_AUDIO_VAE, st);
    if (st == DUET_OK) {
        stage_start(c, DUET_RENDER_ST_VOCODER);
        st = duet_vocoder_session_new(m->voc, T, &vs);
        if (st == DUET_OK) st = duet_vocoder_eval(vs, mel, pcm);
        if (st == DUET_OK) st = duet_tensor_download(pcm, host, DUET_F32);
        stage_end(c, DUET_RENDER_ST_VOCODER, st);
    }
    duet_vocoder_session_free(&vs);
    duet_audio_vae_session_free(&as);
    duet_arena_free(&ar);
    if (st != DUET_OK) {
        duet_free(host);
        return st;
    }
    memmove(host, host + p->lead_samples, sizeof *host * (size_t)(n - p->lead_samples));
    out->pcm = host;
    out->n_samples = n - p->lead_samples;
    return DUET_OK;
}

/* The shot's sound when it has reference audio: that audio, as given. */
static duet_status copy_reference_audio(const duet_render_refs *ref, duet_render_shot_out *out) {
    out->pcm = duet_malloc(sizeof *out->pcm * (size_t)ref->n_audio);
    if (!out->pcm) return DUET_ERR_OUT_OF_MEMORY;
    memcpy(out->pcm, ref->audio, sizeof *out->pcm * (size_t)ref->n_audio);
    out->n_samples = ref->n_audio;
    return DUET_OK;
}

/* Everything after the text: references, sampling, decoding. */
static duet_status generate_and_decode(stage_ctx *c, const duet_render_model *m,
                                       const duet_job *job, const duet_render_refs *ref,
                                       duet_render_shot_out *outs, duet_arena *ar,
                                       duet_tensor *ctx[3]) {
    const int i = c->shot;
    const duet_job_shot *s = &job->shots[i];
    shot_plan p = plan_shot(job, s);
    duet_generate_inputs in = {.context = ctx[0], .context_video_neg = ctx[1],
                               .context_audio_neg = ctx[2]};
    duet_status st = DUET_OK;
    if (s->continues || ref->image || ref->audio) {
        stage_start(c, DUET_RENDER_ST_REFERENCE);
        st = stage_end(c, DUET_RENDER_ST_REFERENCE,
                       encode_given(m, job, i, ref, outs, &p, ar, &in));
    }
    duet_tensor *v = NULL, *au = NULL;
    if (st == DUET_OK) {
        stage_start(c, DUET_RENDER_ST_SAMPLE);
        st = stage_end(c, DUET_RENDER_ST_SAMPLE, sample_shot(c, m, job, &p, ar, &in, &v, &au));
    }
    if (st == DUET_OK) {
        stage_start(c, DUET_RENDER_ST_VIDEO_VAE);
        st = stage_end(c, DUET_RENDER_ST_VIDEO_VAE, decode_video(c->a, m, job, i, &p, v, &outs[i]));
    }
    if (st == DUET_OK) st = ref->audio ? copy_reference_audio(ref, &outs[i])
                                       : decode_audio(c, m, &p, au, &outs[i]);
    return st;
}

duet_status duet_render_shot(const duet_render_args *a, const duet_render_model *m,
                             const duet_job *job, int i, const duet_render_refs *refs,
                             duet_render_shot_out *outs, duet_render_record *rec) {
    stage_ctx c = {a, i, rec, 0};
    stage_start(&c, DUET_RENDER_ST_TOKENIZE);
    duet_status st = stage_end(&c, DUET_RENDER_ST_TOKENIZE, tokenize_all(m, &job->shots[i]));
    if (st != DUET_OK) return st;
    duet_arena *ar = duet_arena_new(0);
    if (!ar) return DUET_ERR_OUT_OF_MEMORY;
    duet_tensor *ctx[3] = {NULL, NULL, NULL};
    stage_start(&c, DUET_RENDER_ST_TEXT);
    st = stage_end(&c, DUET_RENDER_ST_TEXT, encode_texts(m, ar, &job->shots[i], ctx));
    if (st == DUET_OK) st = generate_and_decode(&c, m, job, &refs[i], outs, ar, ctx);
    duet_arena_free(&ar);
    return st;
}
