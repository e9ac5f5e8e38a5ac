/* duet — MP4 writer (see mp4_writer.h): the last stage of a render. RGB frames go through
 * swscale into yuv420p and libx264; mono PCM through libswresample into the AAC encoder;
 * libavformat's mp4 muxer interleaves them. Follows the encode/mux flow of FFmpeg's
 * doc/examples/mux.c (send_frame / receive_packet / av_interleaved_write_frame). */
#include "mp4_writer.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "mux_internal.h"

#define AUDIO_CHUNK 4096 /* input samples converted per swr call */

struct duet_mp4_writer {
    char *path, *tmp;
    duet_mp4_params p;
    duet_status failed; /* first error; sticky */
    AVFormatContext *oc;
    AVPacket *pkt;
    /* video */
    AVCodecContext *venc;
    AVStream *vst;
    AVFrame *vframe;
    struct SwsContext *sws_up, *sws_yuv;
    uint8_t *staging; /* out_w x out_h RGB when scaling or padding, else NULL */
    int scaled_w, scaled_h, out_w, out_h;
    int64_t n_frames;
    /* audio */
    AVCodecContext *aenc;
    AVStream *ast;
    AVFrame *aframe;
    SwrContext *swr; /* NULL when the input rate is the AAC rate */
    AVAudioFifo *fifo;
    float *abuf;     /* swr output for one chunk */
    int abuf_cap;
    int64_t a_encoded; /* samples given to the AAC encoder */
    int tmp_exists;    /* the temporary file was created and not yet renamed */
};

duet_mp4_params duet_mp4_default_params(void) {
    duet_mp4_params p = {0};
    p.fps_num = 24;
    p.fps_den = 1;
    p.sample_rate_hz = 16000;
    p.scale = 1;
    p.scale_filter = DUET_SCALE_NEAREST;
    p.crf = 18;
    p.preset = "medium";
    p.audio_rate_hz = 48000;
    p.audio_bitrate = 128000;
    return p;
}

static duet_status check_params(const char *path, const duet_mp4_params *p) {
    const char *bad = NULL;
    if (p->width <= 0 || p->height <= 0 || p->width > 16384 || p->height > 16384) bad = "frame size";
    else if (p->fps_num <= 0 || p->fps_den <= 0 || p->fps_num / p->fps_den > 1000) bad = "frame rate";
    else if (p->sample_rate_hz < 0 || p->sample_rate_hz > 768000) bad = "sample_rate_hz";
    else if (p->scale < 1 || p->scale > 16 || (int64_t)p->width * p->scale > 16384 ||
             (int64_t)p->height * p->scale > 16384) bad = "scale";
    else if ((int)p->scale_filter < 0 || p->scale_filter >= DUET_SCALE_FILTER_COUNT) bad = "scale_filter";
    else if (p->crf < 0 || p->crf > 51) bad = "crf";
    else if (p->audio_rate_hz < 0 || p->audio_rate_hz > 96000) bad = "audio_rate_hz";
    else if (p->audio_bitrate < 8000 || p->audio_bitrate > 512000) bad = "audio_bitrate";
    if (bad) {
        DUET_LOGE("%s: invalid MP4 parameters: %s (%dx%d, %d/%d fps, %d Hz, scale %d, crf %d)",
                  path, bad, p->width, p->height, p->fps_num, p->fps_den, p->sample_rate_hz,
                  p->scale, p->crf);
        return DUET_ERR_INVALID_ARG;
    }
    return DUET_OK;
}

static duet_status fail(duet_mp4_writer *w, duet_status st) {
    if (!w->failed) w->failed = st;
    return w->failed;
}

static duet_status av_fail(duet_mp4_writer *w, int err, const char *what) {
    return fail(w, duet_mux_averror(err, w->path, what));
}

/* ---- video encoder ---- */

static int supports_yuv420p(const AVCodec *c) {
    if (!c->pix_fmts) return 1;
    for (const enum AVPixelFormat *f = c->pix_fmts; *f != AV_PIX_FMT_NONE; f++)
        if (*f == AV_PIX_FMT_YUV420P) return 1;
    return 0;
}

/* Configures and opens `codec`; returns an AVERROR (the context is freed on failure). */
static int try_h264(duet_mp4_writer *w, const AVCodec *codec) {
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c) return AVERROR(ENOMEM);
    c->width = w->out_w;
    c->height = w->out_h;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){w->p.fps_den, w->p.fps_num};
    c->framerate = (AVRational){w->p.fps_num, w->p.fps_den};
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->color_range = AVCOL_RANGE_MPEG;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (!strcmp(codec->name, "libx264")) {
        char crf[16];
        snprintf(crf, sizeof crf, "%d", w->p.crf);
        av_opt_set(c->priv_data, "crf", crf, 0);
        if (w->p.preset && av_opt_set(c->priv_data, "preset", w->p.preset, 0) < 0)
            DUET_LOGW("%s: unknown x264 preset '%s'; using the default", w->path, w->p.preset);
    } else {
        /* no CRF outside x264: a generous bit rate for short clips */
        double fps = (double)w->p.fps_num / w->p.fps_den;
        c->bit_rate = (int64_t)(0.2 * w->out_w * w->out_h * fps) + 500000;
    }
    int err = avcodec_open2(c, codec, NULL);
    if (err < 0) {
        avcodec_free_context(&c);
        return err;
    }
    w->venc = c;
    return 0;
}

/* The named encoder only, or libx264 and then any H.264 encoder that opens. */
static duet_status pick_h264(duet_mp4_writer *w) {
    const char *name = w->p.video_encoder;
    if (name) {
        const AVCodec *c = avcodec_find_encoder_by_name(name);
        if (!c || c->id != AV_CODEC_ID_H264) {
            DUET_LOGE("%s: '%s' is %s", w->path, name, c ? "not an H.264 encoder" : "not an encoder in this FFmpeg build");
            return fail(w, DUET_ERR_UNSUPPORTED);
        }
        int err = try_h264(w, c);
        if (err < 0) { /* hardware encoders fail here without their device or driver */
            duet_mux_averror(err, w->path, name);
            return fail(w, DUET_ERR_UNSUPPORTED);
        }
        return DUET_OK;
    }
    const AVCodec *x264 = avcodec_find_encoder_by_name("libx264");
    int err = x264 ? try_h264(w, x264) : AVERROR_ENCODER_NOT_FOUND;
    void *it = NULL;
    const AVCodec *c;
    while (!w->venc && (c = av_codec_iterate(&it)) != NULL) {
        if (c == x264 || !av_codec_is_encoder(c) || c->id != AV_CODEC_ID_H264 || !supports_yuv420p(c))
            continue;
        if (try_h264(w, c) == 0)
            DUET_LOGW("%s: libx264 unavailable; encoding H.264 with %s", w->path, c->name);
    }
    if (!w->venc) {
        DUET_LOGE("%s: no H.264 encoder in this FFmpeg build opened (libx264: %s)", w->path,
                  x264 ? av_err2str(err) : "not built in");
        return fail(w, DUET_ERR_UNSUPPORTED);
    }
    return DUET_OK;
}

static duet_status open_video(duet_mp4_writer *w) {
    duet_status st = pick_h264(w);
    if (st != DUET_OK) return st;
    w->vst = avformat_new_stream(w->oc, NULL);
    if (!w->vst) return av_fail(w, AVERROR(ENOMEM), "adding the video stream");
    w->vst->time_base = w->venc->time_base;
    w->vst->avg_frame_rate = w->venc->framerate;
    int err = avcodec_parameters_from_context(w->vst->codecpar, w->venc);
    if (err < 0) return av_fail(w, err, "video stream parameters");
    w->vframe = av_frame_alloc();
    if (!w->vframe) return av_fail(w, AVERROR(ENOMEM), "video frame");
    w->vframe->format = AV_PIX_FMT_YUV420P;
    w->vframe->width = w->out_w;
    w->vframe->height = w->out_h;
    w->vframe->color_range = AVCOL_RANGE_MPEG;
    w->vframe->colorspace = AVCOL_SPC_BT709;
    err = av_frame_get_buffer(w->vframe, 0);
    return err < 0 ? av_fail(w, err, "video frame buffer") : DUET_OK;
}

/* Sizes, the staging image and the swscale contexts (see "Video" in the header). */
static duet_status open_scalers(duet_mp4_writer *w) {
    const duet_mp4_params *p = &w->p;
    w->scaled_w = p->width * p->scale;
    w->scaled_h = p->height * p->scale;
    w->out_w = (w->scaled_w + 1) & ~1;
    w->out_h = (w->scaled_h + 1) & ~1;
    if (p->scale > 1 || w->out_w != p->width || w->out_h != p->height) {
        w->staging = duet_malloc((size_t)w->out_w * (size_t)w->out_h * 3);
        if (!w->staging) return fail(w, DUET_ERR_OUT_OF_MEMORY);
    }
    if (p->scale > 1 && p->scale_filter == DUET_SCALE_BICUBIC) {
        w->sws_up = sws_getContext(p->width, p->height, AV_PIX_FMT_RGB24, w->scaled_w,
                                   w->scaled_h, AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND,
                                   NULL, NULL, NULL);
        if (!w->sws_up) return av_fail(w, AVERROR(EINVAL), "creating the bicubic scaler");
    }
    w->sws_yuv = sws_getContext(w->out_w, w->out_h, AV_PIX_FMT_RGB24, w->out_w, w->out_h,
                                AV_PIX_FMT_YUV420P,
                                SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL,
                                NULL);
    if (!w->sws_yuv) return av_fail(w, AVERROR(EINVAL), "creating the RGB to YUV converter");
    const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
    /* source: full-range RGB; destination: limited-range BT.709 YUV */
    sws_setColorspaceDetails(w->sws_yuv, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);
    return DUET_OK;
}

/* ---- audio encoder ---- */

static int aac_rate_ok(const AVCodec *c, int rate) {
    if (!c->supported_samplerates) return 1;
    for (const int *r = c->supported_samplerates; *r; r++)
        if (*r == rate) return 1;
    return 0;
}

static duet_status open_audio_encoder(duet_mp4_writer *w, int rate) {
    const AVCodec *aac = avcodec_find_encoder_by_name("aac");
    if (!aac) aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!aac) {
        DUET_LOGE("%s: no AAC encoder in this FFmpeg build", w->path);
        return fail(w, DUET_ERR_UNSUPPORTED);
    }
    if (!aac_rate_ok(aac, rate)) {
        DUET_LOGI("%s: AAC does not take %d Hz; using 48000 Hz", w->path, rate);
        rate = 48000;
    }
    AVCodecContext *c = w->aenc = avcodec_alloc_context3(aac);
    if (!c) return av_fail(w, AVERROR(ENOMEM), "audio encoder");
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->sample_rate = rate;
    /* AAC carries at most 6144 bits per channel per 1024-sample frame */
    c->bit_rate = w->p.audio_bitrate < 6 * rate ? w->p.audio_bitrate : 6 * rate;
    c->time_base = (AVRational){1, rate};
    av_channel_layout_default(&c->ch_layout, 1);
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int err = avcodec_open2(c, aac, NULL);
    if (err < 0) return av_fail(w, err, "opening the AAC encoder");
    return DUET_OK;
}

static duet_status open_audio(duet_mp4_writer *w) {
    int in_rate = w->p.sample_rate_hz;
    duet_status st = open_audio_encoder(w, w->p.audio_rate_hz ? w->p.audio_rate_hz : in_rate);
    if (st != DUET_OK) return st;
    int rate = w->aenc->sample_rate, err;
    w->ast = avformat_new_stream(w->oc, NULL);
    if (!w->ast) return av_fail(w, AVERROR(ENOMEM), "adding the audio stream");
    w->ast->time_base = w->aenc->time_base;
    if ((err = avcodec_parameters_from_context(w->ast->codecpar, w->aenc)) < 0)
        return av_fail(w, err, "audio stream parameters");
    w->aframe = av_frame_alloc();
    w->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 1, AUDIO_CHUNK * 2);
    if (!w->aframe || !w->fifo) return av_fail(w, AVERROR(ENOMEM), "audio buffers");
    w->aframe->format = AV_SAMPLE_FMT_FLTP;
    w->aframe->sample_rate = rate;
    w->aframe->nb_samples = w->aenc->frame_size ? w->aenc->frame_size : 1024;
    av_channel_layout_default(&w->aframe->ch_layout, 1);
    if ((err = av_frame_get_buffer(w->aframe, 0)) < 0) return av_fail(w, err, "audio frame");
    if (in_rate == rate) return DUET_OK;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    err = swr_alloc_set_opts2(&w->swr, &mono, AV_SAMPLE_FMT_FLTP, rate, &mono, AV_SAMPLE_FMT_FLT,
                              in_rate, 0, NULL);
    if (err >= 0) err = swr_init(w->swr);
    if (err < 0) return av_fail(w, err, "creating the audio resampler");
    w->abuf_cap = swr_get_out_samples(w->swr, AUDIO_CHUNK) + 64;
    w->abuf = duet_malloc(sizeof *w->abuf * (size_t)w->abuf_cap);
    return w->abuf ? DUET_OK : fail(w, DUET_ERR_OUT_OF_MEMORY);
}

/* ---- open / free ---- */

static void free_writer(duet_mp4_writer *w) {
    if (w->oc) {
        if (w->oc->pb) avio_closep(&w->oc->pb);
        avformat_free_context(w->oc);
    }
    avcodec_free_context(&w->venc);
    avcodec_free_context(&w->aenc);
    av_frame_free(&w->vframe);
    av_frame_free(&w->aframe);
    av_packet_free(&w->pkt);
    sws_freeContext(w->sws_up);
    sws_freeContext(w->sws_yuv);
    swr_free(&w->swr);
    if (w->fifo) av_audio_fifo_free(w->fifo);
    duet_free(w->abuf);
    duet_free(w->staging);
    duet_free(w->path);
    duet_free(w->tmp);
    duet_free(w);
}

static duet_status open_output(duet_mp4_writer *w) {
    AVDictionary *opts = NULL;
    int err = avio_open(&w->oc->pb, w->tmp, AVIO_FLAG_WRITE);
    if (err < 0) return fail(w, duet_mux_averror(err, w->tmp, "cannot create"));
    w->tmp_exists = 1;
    av_dict_set(&opts, "movflags", "+faststart", 0);
    /* Edit lists (which hide AAC's priming) count in the movie time scale, 1/1000 s by
     * default; the audio rate makes the audio's end exact to the sample. */
    if (w->aenc) av_dict_set_int(&opts, "movie_timescale", w->aenc->sample_rate, 0);
    err = avformat_write_header(w->oc, &opts);
    av_dict_free(&opts);
    return err < 0 ? av_fail(w, err, "writing the MP4 header") : DUET_OK;
}

duet_status duet_mp4_writer_open(const char *path, const duet_mp4_params *params,
                                 duet_mp4_writer **out) {
    if (!out || !path || !params) {
        DUET_LOGE("duet_mp4_writer_open: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    *out = NULL;
    duet_status st = check_params(path, params);
    if (st != DUET_OK) return st;
    duet_mux_log_init();
    duet_mp4_writer *w = duet_calloc(1, sizeof *w);
    if (!w) return DUET_ERR_OUT_OF_MEMORY;
    w->p = *params;
    w->path = duet_strdup(path);
    w->tmp = duet_mux_temp_path(path);
    w->pkt = av_packet_alloc();
    if (!w->path || !w->tmp || !w->pkt) {
        st = DUET_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    int err = avformat_alloc_output_context2(&w->oc, NULL, "mp4", w->tmp);
    if (err < 0 || !w->oc) {
        st = duet_mux_averror(err < 0 ? err : AVERROR(ENOMEM), path, "creating the MP4 muxer");
        goto fail;
    }
    if ((st = open_scalers(w)) != DUET_OK || (st = open_video(w)) != DUET_OK) goto fail;
    if (w->p.sample_rate_hz > 0 && (st = open_audio(w)) != DUET_OK) goto fail;
    if ((st = open_output(w)) != DUET_OK) goto fail;
    DUET_LOGI("%s: writing %dx%d H.264 (%s) at %d/%d fps%s", path, w->out_w, w->out_h,
              w->venc->codec->name, w->p.fps_num, w->p.fps_den,
              w->aenc ? ", AAC mono" : ", no audio");
    *out = w;
    return DUET_OK;
fail:
    duet_mp4_writer_abort(&w);
    return st;
}

void duet_mp4_writer_abort(duet_mp4_writer **pw) {
    if (!pw || !*pw) return;
    duet_mp4_writer *w = *pw;
    int had_file = w->tmp_exists;
    char *tmp = w->tmp;
    w->tmp = NULL;
    free_writer(w);
    if (had_file && remove(tmp) != 0) DUET_LOGW("cannot remove %s", tmp);
    duet_free(tmp);
    *pw = NULL;
}

int64_t duet_mp4_writer_n_frames(const duet_mp4_writer *w) { return w ? w->n_frames : 0; }

/* ---- encoding ---- */

/* Sends `frame` (NULL = drain) and writes every packet the encoder returns. */
static duet_status encode(duet_mp4_writer *w, AVCodecContext *enc, AVStream *st,
                          const AVFrame *frame) {
    int err = avcodec_send_frame(enc, frame);
    if (err < 0) return av_fail(w, err, "encoding");
    for (;;) {
        err = avcodec_receive_packet(enc, w->pkt);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return DUET_OK;
        if (err < 0) return av_fail(w, err, "encoding");
        av_packet_rescale_ts(w->pkt, enc->time_base, st->time_base);
        w->pkt->stream_index = st->index;
        err = av_interleaved_write_frame(w->oc, w->pkt); /* takes the packet's reference */
        if (err < 0) return av_fail(w, err, "writing a packet");
    }
}

/* Repeats the last used column and row into the padding of the staging image. */
static void pad_edges(uint8_t *img, int used_w, int used_h, int w, int h) {
    size_t stride = (size_t)w * 3;
    for (int y = 0; y < used_h; y++)
        for (int x = used_w; x < w; x++) memcpy(img + y * stride + x * 3, img + y * stride + (used_w - 1) * 3, 3);
    for (int y = used_h; y < h; y++) memcpy(img + y * stride, img + (used_h - 1) * stride, stride);
}

/* Scales/pads the frame into staging (when needed); returns the RGB image to convert. */
static const uint8_t *prepare_rgb(duet_mp4_writer *w, const uint8_t *rgb) {
    const duet_mp4_params *p = &w->p;
    if (!w->staging) return rgb;
    size_t stride = (size_t)w->out_w * 3;
    if (w->sws_up) {
        const uint8_t *src[1] = {rgb};
        int src_stride[1] = {p->width * 3};
        uint8_t *dst[1] = {w->staging};
        int dst_stride[1] = {(int)stride};
        sws_scale(w->sws_up, src, src_stride, 0, p->height, dst, dst_stride);
    } else {
        for (int y = 0; y < w->scaled_h; y++) {
            const uint8_t *row = rgb + (size_t)(y / p->scale) * (size_t)p->width * 3;
            uint8_t *o = w->staging + (size_t)y * stride;
            for (int x = 0; x < w->scaled_w; x++) memcpy(o + 3 * x, row + 3 * (x / p->scale), 3);
        }
    }
    pad_edges(w->staging, w->scaled_w, w->scaled_h, w->out_w, w->out_h);
    return w->staging;
}

/* Encodes audio from the FIFO while whole frames fit below `limit` samples; with `final`
 * the last frame may be short, ending exactly at `limit`. */
static duet_status encode_audio_upto(duet_mp4_writer *w, int64_t limit, int final) {
    int frame_size = w->aenc->frame_size ? w->aenc->frame_size : 1024;
    int small_last = (w->aenc->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME) != 0;
    for (;;) {
        int64_t room = limit - w->a_encoded;
        int64_t n = av_audio_fifo_size(w->fifo);
        if (n > room) n = room;
        if (n > frame_size) n = frame_size;
        if (n <= 0 || (n < frame_size && !final)) return DUET_OK;
        int err = av_frame_make_writable(w->aframe);
        if (err < 0) return av_fail(w, err, "audio frame");
        int fill = n < frame_size && !small_last ? frame_size : (int)n;
        memset(w->aframe->data[0], 0, sizeof(float) * (size_t)fill);
        if (av_audio_fifo_read(w->fifo, (void **)w->aframe->data, (int)n) != n)
            return av_fail(w, AVERROR_BUG, "reading the audio FIFO");
        w->aframe->nb_samples = fill;
        w->aframe->pts = w->a_encoded;
        duet_status st = encode(w, w->aenc, w->ast, w->aframe);
        if (st != DUET_OK) return st;
        w->a_encoded += n;
    }
}

/* Audio samples (at the AAC rate) that n video frames last, rounded to nearest. */
static int64_t audio_len_for(const duet_mp4_writer *w, int64_t n_frames) {
    int64_t num = n_frames * w->aenc->sample_rate * w->p.fps_den;
    return (num + w->p.fps_num / 2) / w->p.fps_num;
}

duet_status duet_mp4_writer_add_frame(duet_mp4_writer *w, const uint8_t *rgb) {
    if (!w || !rgb) {
        DUET_LOGE("duet_mp4_writer_add_frame: NULL argument");
        return w ? fail(w, DUET_ERR_INVALID_ARG) : DUET_ERR_INVALID_ARG;
    }
    if (w->failed) return w->failed;
    int err = av_frame_make_writable(w->vframe);
    if (err < 0) return av_fail(w, err, "video frame");
    const uint8_t *src[1] = {prepare_rgb(w, rgb)};
    int stride[1] = {(w->staging ? w->out_w : w->p.width) * 3};
    sws_scale(w->sws_yuv, src, stride, 0, w->out_h, w->vframe->data, w->vframe->linesize);
    w->vframe->pts = w->n_frames;
    duet_status st = encode(w, w->venc, w->vst, w->vframe);
    if (st != DUET_OK) return st;
    w->n_frames++;
    return w->aenc ? encode_audio_upto(w, audio_len_for(w, w->n_frames), 0) : DUET_OK;
}

static duet_status fifo_write(duet_mp4_writer *w, const float *x, int n) {
    void *planes[1] = {(void *)(uintptr_t)x};
    if (av_audio_fifo_write(w->fifo, planes, n) != n)
        return av_fail(w, AVERROR(ENOMEM), "buffering audio");
    return DUET_OK;
}

/* Resamples (if needed) n input samples (NULL = flush the resampler) into the FIFO. */
static duet_status push_audio(duet_mp4_writer *w, const float *x, int n) {
    if (!w->swr) return x ? fifo_write(w, x, n) : DUET_OK;
    for (;;) {
        const uint8_t *in[1] = {(const uint8_t *)x};
        uint8_t *out[1] = {(uint8_t *)w->abuf};
        int got = swr_convert(w->swr, out, w->abuf_cap, x ? in : NULL, x ? n : 0);
        if (got < 0) return av_fail(w, got, "resampling audio");
        if (got > 0) {
            duet_status st = fifo_write(w, w->abuf, got);
            if (st != DUET_OK) return st;
        }
        if (x || got == 0) return DUET_OK;
    }
}

duet_status duet_mp4_writer_add_audio(duet_mp4_writer *w, const float *pcm, int64_t n_samples) {
    if (!w || (!pcm && n_samples) || n_samples < 0 || (w && !w->aenc)) {
        DUET_LOGE("duet_mp4_writer_add_audio: invalid arguments%s",
                  w && !w->aenc ? " (the writer has no audio stream)" : "");
        return w ? fail(w, DUET_ERR_INVALID_ARG) : DUET_ERR_INVALID_ARG;
    }
    if (w->failed) return w->failed;
    for (int64_t i = 0; i < n_samples; i += AUDIO_CHUNK) {
        int n = (int)(n_samples - i < AUDIO_CHUNK ? n_samples - i : AUDIO_CHUNK);
        duet_status st = push_audio(w, pcm + i, n);
        if (st != DUET_OK) return st;
    }
    return encode_audio_upto(w, audio_len_for(w, w->n_frames), 0);
}

/* Flushes the resampler, pads with silence to the video's length, encodes the rest. */
static duet_status finish_audio(duet_mp4_writer *w) {
    duet_status st = push_audio(w, NULL, 0);
    if (st != DUET_OK) return st;
    int64_t target = audio_len_for(w, w->n_frames);
    static const float zeros[1024];
    while (st == DUET_OK && w->a_encoded + av_audio_fifo_size(w->fifo) < target) {
        int64_t need = target - w->a_encoded - av_audio_fifo_size(w->fifo);
        st = fifo_write(w, zeros, need < 1024 ? (int)need : 1024);
    }
    if (st == DUET_OK) st = encode_audio_upto(w, target, 1);
    if (st == DUET_OK) st = encode(w, w->aenc, w->ast, NULL);
    return st;
}

static duet_status finish(duet_mp4_writer *w) {
    if (w->failed) return w->failed;
    if (w->n_frames == 0) {
        DUET_LOGE("%s: no video frames were added", w->path);
        return fail(w, DUET_ERR_INVALID_ARG);
    }
    duet_status st = encode(w, w->venc, w->vst, NULL);
    if (st == DUET_OK && w->aenc) st = finish_audio(w);
    if (st != DUET_OK) return st;
    int err = av_write_trailer(w->oc);
    if (err < 0) return av_fail(w, err, "finishing the MP4");
    err = avio_closep(&w->oc->pb);
    if (err < 0) return av_fail(w, err, "closing the file");
    if (rename(w->tmp, w->path) != 0) {
        DUET_LOGE("%s: cannot rename %s into place: %s", w->path, w->tmp, strerror(errno));
        return fail(w, DUET_ERR_IO);
    }
    w->tmp_exists = 0;
    return DUET_OK;
}

duet_status duet_mp4_writer_close(duet_mp4_writer **pw) {
    if (!pw || !*pw) return DUET_OK;
    duet_mp4_writer *w = *pw;
    duet_status st = finish(w);
    if (st == DUET_OK) {
        DUET_LOGI("%s: %lld frames written", w->path, (long long)w->n_frames);
        free_writer(w);
        *pw = NULL;
        return DUET_OK;
    }
    duet_mp4_writer_abort(pw);
    return st;
}

duet_status duet_mp4_write(const char *path, const duet_mp4_params *params, const uint8_t *rgb,
                           int64_t n_frames, const float *pcm, int64_t n_samples) {
    if (!rgb || n_frames <= 0 || !params) {
        DUET_LOGE("%s: duet_mp4_write: no frames", path ? path : "(null)");
        return DUET_ERR_INVALID_ARG;
    }
    duet_mp4_writer *w = NULL;
    duet_status st = duet_mp4_writer_open(path, params, &w);
    size_t frame_bytes = (size_t)params->width * (size_t)params->height * 3;
    int has_audio = params->sample_rate_hz > 0 && pcm && n_samples > 0;
    int64_t fed = 0; /* audio goes in alongside the frames it belongs to, for interleaving */
    for (int64_t i = 0; st == DUET_OK && i < n_frames; i++) {
        st = duet_mp4_writer_add_frame(w, rgb + (size_t)i * frame_bytes);
        int64_t upto = (i + 1) * params->sample_rate_hz * params->fps_den / params->fps_num;
        if (upto > n_samples || i + 1 == n_frames) upto = n_samples;
        if (st == DUET_OK && has_audio && upto > fed) {
            st = duet_mp4_writer_add_audio(w, pcm + fed, upto - fed);
            fed = upto;
        }
    }
    if (st != DUET_OK) {
        duet_mp4_writer_abort(&w);
        return st;
    }
    return duet_mp4_writer_close(&w);
}
