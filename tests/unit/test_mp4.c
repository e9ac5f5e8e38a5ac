/* duet — unit tests for mux/: an MP4 written by mp4_writer and read back by media_reader.
 * Checks: streams are H.264 (yuv420p) + AAC (mono, 48 kHz); frame count; video and audio
 * start at 0 and their durations match the video's n_frames / fps within one frame; the
 * index (moov) precedes the media data (faststart); decoded frames match the input with
 * PSNR >= 35 dB on a smooth moving gradient; an audio onset placed at 0.5 s comes back at
 * 0.5 s (+-3 ms: A/V alignment through resampling, AAC priming and the edit list); audio
 * longer than the video is cut and shorter audio padded; integer upscaling (nearest and
 * bicubic) with odd sizes padded to even; no file under the output name (nor its temporary)
 * after abort or failure, and a pre-existing target left untouched; bad parameters; probe
 * of a non-media file. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io_test_util.h"
#include "mux/media_reader.h"
#include "mux/mp4_writer.h"

enum { W = 64, H = 48, FPS = 24, N_FRAMES = 36, RATE = 16000 };

static uint8_t *gradient_frames(int w, int h, int n) {
    uint8_t *f = malloc((size_t)w * h * 3 * n);
    for (int t = 0; t < n; t++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = f + (((size_t)t * h + y) * w + x) * 3;
                p[0] = (uint8_t)(20 + 200 * x / (w - 1));
                p[1] = (uint8_t)(30 + 180 * y / (h - 1));
                p[2] = (uint8_t)lrint(128 + 90 * sin(2 * M_PI * ((double)x / w + (double)t / n)));
            }
    return f;
}

/* Silence, then from 0.5 s a 440 Hz tone at amplitude 0.5. */
static float *onset_audio(int64_t n) {
    float *a = malloc(sizeof *a * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        a[i] = i < RATE / 2 ? 0.0f : (float)(0.5 * sin(2 * M_PI * 440 * (double)(i - RATE / 2) / RATE));
    return a;
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += (double)(a[i] - b[i]) * (a[i] - b[i]);
    return se == 0 ? 99.0 : 10 * log10(255.0 * 255.0 * (double)n / se);
}

/* Top-level MP4 boxes: returns 1 when moov comes before mdat. */
static int moov_first(const char *path) {
    size_t n = 0;
    unsigned char *d = io_read_file(path, &n);
    long moov = -1, mdat = -1;
    size_t pos = 0;
    while (d && pos + 8 <= n) {
        uint64_t size = (uint64_t)d[pos] << 24 | d[pos + 1] << 16 | d[pos + 2] << 8 | d[pos + 3];
        if (size == 1 && pos + 16 <= n) {
            size = 0;
            for (int i = 0; i < 8; i++) size = size << 8 | d[pos + 8 + i];
        }
        if (!memcmp(d + pos + 4, "moov", 4)) moov = (long)pos;
        if (!memcmp(d + pos + 4, "mdat", 4)) mdat = (long)pos;
        if (size < 8) break;
        pos += size;
    }
    free(d);
    return moov >= 0 && mdat >= 0 && moov < mdat;
}

static const duet_media_stream_info *find_stream(const duet_media_info *mi, duet_media_kind k) {
    for (int i = 0; i < mi->n_streams && i < DUET_MEDIA_MAX_STREAMS; i++)
        if (mi->streams[i].kind == k) return &mi->streams[i];
    return NULL;
}

/* Writes the test clip: audio in uneven pieces around the frames, 0.3 s longer than them. */
static void write_clip(const char *path) {
    uint8_t *frames = gradient_frames(W, H, N_FRAMES);
    int64_t n_audio = RATE * 9 / 5; /* 1.8 s: 0.3 s longer than the video, to be cut */
    float *audio = onset_audio(n_audio);
    duet_mp4_params p = duet_mp4_default_params();
    p.width = W;
    p.height = H;
    p.fps_num = FPS;
    p.sample_rate_hz = RATE;
    p.video_encoder = "libx264"; /* the encoder the project relies on: no silent fallback here */
    duet_mp4_writer *w = NULL;
    T_CHECK_OK(duet_mp4_writer_open(path, &p, &w));
    T_CHECK(io_exists(io_path("clip.tmp.mp4")) && !io_exists(path));
    /* audio in uneven pieces, some before the frames they belong to */
    T_CHECK_OK(duet_mp4_writer_add_audio(w, audio, 1000));
    int64_t fed = 1000;
    for (int i = 0; i < N_FRAMES; i++) {
        T_CHECK_OK(duet_mp4_writer_add_frame(w, frames + (size_t)i * W * H * 3));
        int64_t upto = fed + 777 > n_audio ? n_audio : fed + 777;
        T_CHECK_OK(duet_mp4_writer_add_audio(w, audio + fed, upto - fed));
        fed = upto;
    }
    T_CHECK_OK(duet_mp4_writer_add_audio(w, audio + fed, n_audio - fed));
    T_CHECK(duet_mp4_writer_n_frames(w) == N_FRAMES);
    T_CHECK_OK(duet_mp4_writer_close(&w));
    T_CHECK(w == NULL && io_exists(path) && !io_exists(io_path("clip.tmp.mp4")));
    T_CHECK(moov_first(path));
    free(frames);
    free(audio);
}

static void check_probe(const char *path) {
    duet_media_info mi;
    T_CHECK_OK(duet_media_probe(path, &mi));
    const duet_media_stream_info *v = find_stream(&mi, DUET_MEDIA_VIDEO);
    const duet_media_stream_info *a = find_stream(&mi, DUET_MEDIA_AUDIO);
    const double dur = (double)N_FRAMES / FPS, frame_s = 1.0 / FPS;
    T_CHECK(mi.n_streams == 2 && v && a && strstr(mi.format, "mp4"));
    if (v && a) {
        printf("probe: %s %s %dx%d %s %d/%d fps, %lld frames, start %.6f s, duration %.6f s\n",
               v->codec, v->profile, v->width, v->height, v->pix_fmt, v->fps_num, v->fps_den,
               (long long)v->n_frames, v->start_s, v->duration_s);
        printf("probe: %s %s %d Hz %d ch, start %.6f s, duration %.6f s; container %.6f s\n",
               a->codec, a->profile, a->sample_rate_hz, a->n_channels, a->start_s, a->duration_s,
               mi.duration_s);
        T_CHECK(!strcmp(v->codec, "h264") && !strcmp(a->codec, "aac"));
        T_CHECK(!strcmp(v->pix_fmt, "yuv420p") && v->width == W && v->height == H);
        T_CHECK(v->n_frames == N_FRAMES && v->fps_num == FPS && v->fps_den == 1);
        T_CHECK(a->sample_rate_hz == 48000 && a->n_channels == 1);
        T_CHECK(fabs(v->start_s) < 1e-9 && fabs(a->start_s) < 1e-9);
        T_CHECK(fabs(v->duration_s - dur) < 1e-6);
        /* the brief asks for one frame; the writer achieves one audio sample */
        T_CHECK(fabs(a->duration_s - dur) < frame_s && fabs(a->duration_s - dur) <= 1.0 / 48000);
        T_CHECK(fabs(mi.duration_s - dur) <= 1.0 / 48000);
    }
}

static void check_decoded(const char *path) {
    uint8_t *frames = gradient_frames(W, H, N_FRAMES);
    duet_media_read_params rp = duet_media_default_read_params();
    rp.audio_rate_hz = RATE;
    duet_media_clip c;
    T_CHECK_OK(duet_media_read(path, &rp, &c));
    T_CHECK(c.n_frames == N_FRAMES && c.width == W && c.height == H && c.fps_num == FPS);
    T_CHECK(fabs(c.video_start_s) < 1e-9 && fabs(c.audio_start_s) < 1e-9);
    double worst = 99;
    for (int64_t i = 0; i < c.n_frames && i < N_FRAMES; i++)
        worst = fmin(worst, psnr(c.rgb + (size_t)i * W * H * 3, frames + (size_t)i * W * H * 3,
                                 (size_t)W * H * 3));
    printf("decoded frames: worst PSNR %.2f dB (need >= 35)\n", worst);
    T_CHECK(worst >= 35.0);
    printf("decoded audio: %lld samples at %d Hz (video lasts %lld)\n", (long long)c.n_samples,
           c.sample_rate_hz, (long long)(RATE * N_FRAMES / FPS));
    T_CHECK(c.sample_rate_hz == RATE && llabs(c.n_samples - RATE * N_FRAMES / FPS) <= 1);
    int64_t onset = -1;
    for (int64_t i = 0; i < c.n_samples && onset < 0; i++)
        if (fabsf(c.pcm[i]) > 0.1f) onset = i;
    double onset_ms = 1000.0 * (double)onset / RATE;
    printf("audio onset at %.2f ms (placed at 500 ms)\n", onset_ms);
    T_CHECK(fabs(onset_ms - 500.0) <= 3.0);
    /* level of the tone survives AAC: RMS over 0.6..1.4 s within 0.5 dB of 0.5/sqrt(2) */
    double ss = 0;
    for (int64_t i = RATE * 6 / 10; i < RATE * 14 / 10 && i < c.n_samples; i++) ss += c.pcm[i] * c.pcm[i];
    double rms_db = 10 * log10(ss / (RATE * 8 / 10) / 0.125);
    printf("tone level after AAC: %+.3f dB\n", rms_db);
    T_CHECK(fabs(rms_db) < 0.5);
    duet_media_clip_free(&c);
    T_CHECK(c.rgb == NULL && c.pcm == NULL);
    free(frames);
}

static void test_round_trip(void) {
    const char *path = io_path("clip.mp4");
    write_clip(path);
    check_probe(path);
    check_decoded(path);
}

/* Short audio is padded with silence; a clip without audio has one stream. */
static void test_padding_and_silent(void) {
    uint8_t *frames = gradient_frames(32, 32, 12);
    float tone[800];
    for (int i = 0; i < 800; i++) tone[i] = 0.3f;
    duet_mp4_params p = duet_mp4_default_params();
    p.width = p.height = 32;
    p.fps_num = 12;
    p.sample_rate_hz = 8000;
    p.audio_rate_hz = 0; /* keep 8 kHz */
    const char *path = io_path("short_audio.mp4");
    T_CHECK_OK(duet_mp4_write(path, &p, frames, 12, tone, 800));
    duet_media_info mi;
    T_CHECK_OK(duet_media_probe(path, &mi));
    const duet_media_stream_info *a = find_stream(&mi, DUET_MEDIA_AUDIO);
    T_CHECK(a && a->sample_rate_hz == 8000 && fabs(a->duration_s - 1.0) < 1.0 / 12);
    p.sample_rate_hz = 0;
    path = io_path("silent.mp4");
    T_CHECK_OK(duet_mp4_write(path, &p, frames, 12, NULL, 0));
    T_CHECK_OK(duet_media_probe(path, &mi));
    T_CHECK(mi.n_streams == 1 && find_stream(&mi, DUET_MEDIA_VIDEO));
    duet_media_clip c;
    T_CHECK_OK(duet_media_read(path, NULL, &c));
    T_CHECK(c.n_frames == 12 && c.pcm == NULL && c.n_samples == 0 && isnan(c.audio_start_s));
    duet_media_clip_free(&c);
    free(frames);
}

static void test_scaling(void) {
    enum { SW = 21, SH = 15, S = 3 }; /* 63x45 after scaling: padded to 64x46 */
    uint8_t *frames = gradient_frames(SW, SH, 4);
    duet_mp4_params p = duet_mp4_default_params();
    p.width = SW;
    p.height = SH;
    p.sample_rate_hz = 0;
    p.scale = S;
    p.crf = 10;
    const char *path = io_path("nearest.mp4");
    T_CHECK_OK(duet_mp4_write(path, &p, frames, 4, NULL, 0));
    duet_media_clip c;
    T_CHECK_OK(duet_media_read(path, NULL, &c));
    T_CHECK(c.width == 64 && c.height == 46 && c.n_frames == 4);
    if (c.width == 64 && c.height == 46 && c.n_frames == 4) {
        /* the expected image: each source pixel a 3x3 block, the last column/row repeated */
        uint8_t *want = malloc(64 * 46 * 3);
        for (int y = 0; y < 46; y++)
            for (int x = 0; x < 64; x++)
                memcpy(want + (y * 64 + x) * 3,
                       frames + ((y / S < SH ? y / S : SH - 1) * SW + (x / S < SW ? x / S : SW - 1)) * 3, 3);
        double q = psnr(c.rgb, want, 64 * 46 * 3);
        printf("nearest x3 with padding: PSNR %.2f dB\n", q);
        T_CHECK(q >= 35.0);
        free(want);
    }
    duet_media_clip_free(&c);
    p.width = 32;
    p.height = 24;
    p.scale = 2;
    p.scale_filter = DUET_SCALE_BICUBIC;
    uint8_t *big = gradient_frames(32, 24, 2), *ref = gradient_frames(64, 48, 2);
    path = io_path("bicubic.mp4");
    T_CHECK_OK(duet_mp4_write(path, &p, big, 2, NULL, 0));
    T_CHECK_OK(duet_media_read(path, NULL, &c));
    T_CHECK(c.width == 64 && c.height == 48 && c.n_frames == 2);
    if (c.n_frames == 2 && c.width == 64) {
        /* a smooth gradient enlarged is close to the same gradient drawn at 64x48 */
        double q = psnr(c.rgb, ref, 64 * 48 * 3);
        printf("bicubic x2 vs the gradient drawn large: PSNR %.2f dB\n", q);
        T_CHECK(q >= 30.0);
    }
    duet_media_clip_free(&c);
    free(big);
    free(ref);
    free(frames);
}

static void test_abort_and_errors(void) {
    uint8_t *frames = gradient_frames(W, H, 3);
    duet_mp4_params p = duet_mp4_default_params();
    p.width = W;
    p.height = H;
    const char *path = io_path("aborted.mp4"), *tmp = io_path("aborted.tmp.mp4");
    duet_mp4_writer *w = NULL;
    T_CHECK_OK(duet_mp4_writer_open(path, &p, &w));
    T_CHECK_OK(duet_mp4_writer_add_frame(w, frames));
    duet_mp4_writer_abort(&w);
    T_CHECK(w == NULL && !io_exists(path) && !io_exists(tmp));
    duet_mp4_writer_abort(&w); /* NULL accepted */
    /* a pre-existing target survives an aborted and a failed rewrite */
    io_write_file(path, "keep", 4);
    T_CHECK_OK(duet_mp4_writer_open(path, &p, &w));
    T_CHECK_OK(duet_mp4_writer_add_frame(w, frames));
    duet_mp4_writer_abort(&w);
    size_t n = 0;
    unsigned char *d = io_read_file(path, &n);
    T_CHECK(d && n == 4 && !memcmp(d, "keep", 4) && !io_exists(tmp));
    free(d);
    io_capture_begin();
    T_CHECK_OK(duet_mp4_writer_open(path, &p, &w));
    T_CHECK(duet_mp4_writer_close(&w) == DUET_ERR_INVALID_ARG); /* no frames */
    T_CHECK(io_error_has("aborted.mp4: no video frames"));
    d = io_read_file(path, &n);
    T_CHECK(w == NULL && d && n == 4 && !io_exists(tmp));
    free(d);
    /* bad parameters and paths leave nothing behind */
    duet_mp4_params bad = p;
    bad.crf = 60;
    T_CHECK(duet_mp4_writer_open(io_path("bad.mp4"), &bad, &w) == DUET_ERR_INVALID_ARG && !w);
    T_CHECK(io_error_has("bad.mp4: invalid MP4 parameters: crf"));
    bad = p;
    bad.width = 0;
    T_CHECK(duet_mp4_writer_open(io_path("bad.mp4"), &bad, &w) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_mp4_writer_open(io_path("no/dir/x.mp4"), &p, &w) == DUET_ERR_NOT_FOUND && !w);
    T_CHECK(io_error_has("x.tmp.mp4: cannot create"));
    bad = p;
    bad.video_encoder = "no_such_encoder";
    T_CHECK(duet_mp4_writer_open(io_path("bad.mp4"), &bad, &w) == DUET_ERR_UNSUPPORTED && !w);
    T_CHECK(io_error_has("bad.mp4: 'no_such_encoder' is not an encoder in this FFmpeg build"));
    bad.video_encoder = "aac";
    T_CHECK(duet_mp4_writer_open(io_path("bad.mp4"), &bad, &w) == DUET_ERR_UNSUPPORTED && !w);
    T_CHECK(io_error_has("'aac' is not an H.264 encoder"));
    T_CHECK(!io_exists(io_path("bad.mp4")) && !io_exists(io_path("bad.tmp.mp4")));
    p.sample_rate_hz = 0;
    T_CHECK_OK(duet_mp4_writer_open(io_path("noaudio.mp4"), &p, &w));
    T_CHECK(duet_mp4_writer_add_audio(w, (const float *)frames, 10) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_mp4_writer_add_frame(w, frames) == DUET_ERR_INVALID_ARG); /* sticky */
    T_CHECK(duet_mp4_writer_close(&w) == DUET_ERR_INVALID_ARG);
    T_CHECK(!io_exists(io_path("noaudio.mp4")) && !io_exists(io_path("noaudio.tmp.mp4")));
    /* reading things that are not media */
    io_write_file(io_path("notes.mp4"), "this is not a video file at all", 31);
    duet_media_info mi;
    T_CHECK(duet_media_probe(io_path("notes.mp4"), &mi) == DUET_ERR_FORMAT);
    T_CHECK(io_error_has("notes.mp4: cannot open"));
    duet_media_clip c;
    T_CHECK(duet_media_read(io_path("absent.mp4"), NULL, &c) == DUET_ERR_NOT_FOUND);
    T_CHECK(c.rgb == NULL && c.pcm == NULL);
    io_capture_end();
    free(frames);
}

int main(void) {
    test_round_trip();
    test_padding_and_silent();
    test_scaling();
    test_abort_and_errors();
    io_scratch_cleanup();
    return duet_test_end(NULL, 0);
}
