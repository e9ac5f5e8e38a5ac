/* duet — media decoding and probing (see media_reader.h). Reference clips enter the
 * pipeline here (frames for the video VAE encoder, voice for the audio encoder), and the e2e
 * tests read rendered MP4s back through it. Follows FFmpeg's doc/examples/demux_decode.c
 * (read_frame -> send_packet -> receive_frame), converting with swscale and swresample. */
#include "media_reader.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "mux_internal.h"

duet_media_read_params duet_media_default_read_params(void) {
    duet_media_read_params p = {.video = true, .audio = true, .audio_rate_hz = 0, .max_frames = 0,
                                .max_rgb_bytes = (int64_t)1 << 30, .max_samples = (int64_t)1 << 28};
    return p;
}

static duet_status open_input(const char *path, AVFormatContext **fmt) {
    duet_mux_log_init();
    int err = avformat_open_input(fmt, path, NULL, NULL);
    if (err < 0) return duet_mux_averror(err, path, "cannot open");
    err = avformat_find_stream_info(*fmt, NULL);
    if (err < 0) {
        avformat_close_input(fmt);
        return duet_mux_averror(err, path, "cannot read stream information");
    }
    return DUET_OK;
}

static double ts_seconds(int64_t ts, AVRational tb) {
    return ts == AV_NOPTS_VALUE ? NAN : (double)ts * av_q2d(tb);
}

static void describe_stream(const AVStream *st, duet_media_stream_info *s) {
    const AVCodecParameters *par = st->codecpar;
    memset(s, 0, sizeof *s);
    s->kind = par->codec_type == AVMEDIA_TYPE_VIDEO   ? DUET_MEDIA_VIDEO
              : par->codec_type == AVMEDIA_TYPE_AUDIO ? DUET_MEDIA_AUDIO
                                                      : DUET_MEDIA_OTHER;
    snprintf(s->codec, sizeof s->codec, "%s", avcodec_get_name(par->codec_id));
    const char *prof = avcodec_profile_name(par->codec_id, par->profile);
    snprintf(s->profile, sizeof s->profile, "%s", prof ? prof : "");
    s->start_s = ts_seconds(st->start_time, st->time_base);
    s->duration_s = ts_seconds(st->duration, st->time_base);
    s->n_frames = st->nb_frames;
    if (s->kind == DUET_MEDIA_VIDEO) {
        s->width = par->width;
        s->height = par->height;
        s->fps_num = st->avg_frame_rate.num;
        s->fps_den = st->avg_frame_rate.den;
        const char *pf = av_get_pix_fmt_name((enum AVPixelFormat)par->format);
        snprintf(s->pix_fmt, sizeof s->pix_fmt, "%s", pf ? pf : "");
    } else if (s->kind == DUET_MEDIA_AUDIO) {
        s->sample_rate_hz = par->sample_rate;
        s->n_channels = par->ch_layout.nb_channels;
    }
}

duet_status duet_media_probe(const char *path, duet_media_info *info) {
    if (!path || !info) {
        DUET_LOGE("duet_media_probe: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    memset(info, 0, sizeof *info);
    AVFormatContext *fmt = NULL;
    duet_status st = open_input(path, &fmt);
    if (st != DUET_OK) return st;
    snprintf(info->format, sizeof info->format, "%s", fmt->iformat->name);
    info->start_s = ts_seconds(fmt->start_time, AV_TIME_BASE_Q);
    info->duration_s = ts_seconds(fmt->duration, AV_TIME_BASE_Q);
    info->n_streams = (int)fmt->nb_streams;
    for (unsigned i = 0; i < fmt->nb_streams && i < DUET_MEDIA_MAX_STREAMS; i++)
        describe_stream(fmt->streams[i], &info->streams[i]);
    avformat_close_input(&fmt);
    return DUET_OK;
}

void duet_media_clip_free(duet_media_clip *clip) {
    if (!clip) return;
    duet_free(clip->rgb);
    duet_free(clip->pcm);
    memset(clip, 0, sizeof *clip);
    clip->video_start_s = clip->audio_start_s = NAN;
}

/* ---- decoding ---- */

typedef struct reader {
    const char *path;
    duet_media_read_params p;
    duet_media_clip *clip;
    AVFormatContext *fmt;
    AVPacket *pkt;
    AVFrame *frame;
    int vidx, aidx;                 /* stream indices, -1 = not decoded */
    AVCodecContext *vdec, *adec;
    struct SwsContext *sws;
    SwrContext *swr;
    int64_t rgb_cap, pcm_cap;       /* allocated frames / samples */
    int video_done;                 /* max_frames reached */
} reader;

static duet_status open_decoder(reader *r, int idx, AVCodecContext **out) {
    const AVStream *st = r->fmt->streams[idx];
    const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!dec) {
        DUET_LOGE("%s: no decoder for %s", r->path, avcodec_get_name(st->codecpar->codec_id));
        return DUET_ERR_UNSUPPORTED;
    }
    AVCodecContext *c = *out = avcodec_alloc_context3(dec);
    if (!c) return DUET_ERR_OUT_OF_MEMORY;
    int err = avcodec_parameters_to_context(c, st->codecpar);
    if (err >= 0) {
        c->pkt_timebase = st->time_base;
        err = avcodec_open2(c, dec, NULL);
    }
    return err < 0 ? duet_mux_averror(err, r->path, "opening the decoder") : DUET_OK;
}

/* Doubles *cap until `need` fits; elem bytes per unit; fails beyond `limit` bytes. */
static duet_status grow(reader *r, void **buf, int64_t *cap, int64_t need, size_t elem,
                        int64_t limit, const char *what) {
    if (need <= *cap) return DUET_OK;
    if ((double)need * (double)elem > (double)limit) {
        DUET_LOGE("%s: decoded %s would exceed the limit of %lld bytes", r->path, what,
                  (long long)limit);
        return DUET_ERR_UNSUPPORTED;
    }
    int64_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    if ((double)c * (double)elem > (double)limit) c = limit / (int64_t)elem;
    void *nb = duet_realloc(*buf, (size_t)c * elem);
    if (!nb) {
        DUET_LOGE("%s: out of memory for decoded %s", r->path, what);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    *buf = nb;
    *cap = c;
    return DUET_OK;
}

static duet_status first_video_frame(reader *r, const AVFrame *f) {
    duet_media_clip *c = r->clip;
    const AVStream *st = r->fmt->streams[r->vidx];
    c->width = f->width;
    c->height = f->height;
    AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    c->fps_num = fr.num;
    c->fps_den = fr.den;
    c->video_start_s = ts_seconds(f->best_effort_timestamp, st->time_base);
    r->sws = sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format, f->width,
                            f->height, AV_PIX_FMT_RGB24,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!r->sws) {
        DUET_LOGE("%s: cannot convert %s frames to RGB", r->path,
                  av_get_pix_fmt_name((enum AVPixelFormat)f->format));
        return DUET_ERR_UNSUPPORTED;
    }
    /* the stream's own matrix and range (sws_getCoefficients falls back to BT.601) */
    sws_setColorspaceDetails(r->sws, sws_getCoefficients(f->colorspace),
                             f->color_range == AVCOL_RANGE_JPEG, sws_getCoefficients(SWS_CS_DEFAULT),
                             1, 0, 1 << 16, 1 << 16);
    return DUET_OK;
}

static duet_status on_video_frame(reader *r, const AVFrame *f) {
    duet_media_clip *c = r->clip;
    if (r->video_done) return DUET_OK;
    if (!r->sws) {
        duet_status st = first_video_frame(r, f);
        if (st != DUET_OK) return st;
    } else if (f->width != c->width || f->height != c->height) {
        DUET_LOGE("%s: frame size changes from %dx%d to %dx%d", r->path, c->width, c->height,
                  f->width, f->height);
        return DUET_ERR_UNSUPPORTED;
    }
    size_t frame_bytes = (size_t)c->width * (size_t)c->height * 3;
    duet_status st = grow(r, (void **)&c->rgb, &r->rgb_cap, c->n_frames + 1, frame_bytes,
                          r->p.max_rgb_bytes, "video");
    if (st != DUET_OK) return st;
    uint8_t *dst[1] = {c->rgb + (size_t)c->n_frames * frame_bytes};
    int dst_stride[1] = {c->width * 3};
    sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
    c->n_frames++;
    if (r->p.max_frames > 0 && c->n_frames >= r->p.max_frames) r->video_done = 1;
    return DUET_OK;
}

/* Resampler to mono float at the requested rate, averaging the channels. */
static duet_status open_swr(reader *r, const AVFrame *f) {
    duet_media_clip *c = r->clip;
    const AVStream *st = r->fmt->streams[r->aidx];
    c->sample_rate_hz = r->p.audio_rate_hz > 0 ? r->p.audio_rate_hz : f->sample_rate;
    c->audio_start_s = ts_seconds(f->best_effort_timestamp, st->time_base);
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO, in_layout = {0};
    int err = av_channel_layout_copy(&in_layout, &f->ch_layout); /* 5.1's API is not const */
    if (err >= 0)
        err = swr_alloc_set_opts2(&r->swr, &mono, AV_SAMPLE_FMT_FLT, c->sample_rate_hz, &in_layout,
                                  (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in_layout);
    int nch = f->ch_layout.nb_channels;
    if (err >= 0 && nch > 1) {
        double m[64];
        if (nch > 64) {
            DUET_LOGE("%s: %d audio channels not supported", r->path, nch);
            return DUET_ERR_UNSUPPORTED;
        }
        for (int i = 0; i < nch; i++) m[i] = 1.0 / nch;
        err = swr_set_matrix(r->swr, m, nch);
    }
    if (err >= 0) err = swr_init(r->swr);
    return err < 0 ? duet_mux_averror(err, r->path, "creating the audio resampler") : DUET_OK;
}

/* Converts `f` (NULL = flush the resampler) and appends to the clip's PCM. */
static duet_status on_audio_frame(reader *r, const AVFrame *f) {
    duet_media_clip *c = r->clip;
    if (!r->swr) {
        if (!f) return DUET_OK;
        duet_status st = open_swr(r, f);
        if (st != DUET_OK) return st;
    }
    for (;;) {
        int in_n = f ? f->nb_samples : 0;
        int64_t room = swr_get_out_samples(r->swr, in_n) + 32;
        duet_status st = grow(r, (void **)&c->pcm, &r->pcm_cap, c->n_samples + room,
                              sizeof *c->pcm, r->p.max_samples * (int64_t)sizeof *c->pcm, "audio");
        if (st != DUET_OK) return st;
        uint8_t *out[1] = {(uint8_t *)(c->pcm + c->n_samples)};
        int got = swr_convert(r->swr, out, (int)room, f ? (const uint8_t **)f->extended_data : NULL,
                              in_n);
        if (got < 0) return duet_mux_averror(got, r->path, "resampling audio");
        c->n_samples += got;
        if (f || got == 0) return DUET_OK;
    }
}

/* Sends pkt (NULL = drain) to its decoder and handles every frame that comes out. */
static duet_status decode(reader *r, AVCodecContext *dec, const AVPacket *pkt, int is_video) {
    int err = avcodec_send_packet(dec, pkt);
    if (err < 0 && err != AVERROR_EOF) {
        if (err == AVERROR_INVALIDDATA) {
            DUET_LOGW("%s: skipping a corrupt packet", r->path);
            return DUET_OK;
        }
        return duet_mux_averror(err, r->path, "decoding");
    }
    for (;;) {
        err = avcodec_receive_frame(dec, r->frame);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return DUET_OK;
        if (err < 0) return duet_mux_averror(err, r->path, "decoding");
        duet_status st = is_video ? on_video_frame(r, r->frame) : on_audio_frame(r, r->frame);
        av_frame_unref(r->frame);
        if (st != DUET_OK) return st;
    }
}

/* Decoders return the last AAC frame whole, padding included, while the container's edit
 * list says where the audio ends: cut what lies past the stream's end when it is no more
 * than the padding of a frame or two (50 ms), so a damaged duration cannot eat real audio. */
static void trim_audio_tail(reader *r) {
    duet_media_clip *c = r->clip;
    const AVStream *st = r->fmt->streams[r->aidx];
    if (st->duration == AV_NOPTS_VALUE || isnan(c->audio_start_s) || c->n_samples == 0) return;
    double start = st->start_time == AV_NOPTS_VALUE ? 0.0 : ts_seconds(st->start_time, st->time_base);
    double end_s = start + ts_seconds(st->duration, st->time_base);
    int64_t keep = (int64_t)ceil((end_s - c->audio_start_s) * c->sample_rate_hz - 1e-6);
    if (keep >= 0 && keep < c->n_samples && c->n_samples - keep <= c->sample_rate_hz / 20)
        c->n_samples = keep;
}

static duet_status read_packets(reader *r) {
    int err;
    while ((err = av_read_frame(r->fmt, r->pkt)) >= 0) {
        duet_status st = DUET_OK;
        if (r->vdec && r->pkt->stream_index == r->vidx && !r->video_done)
            st = decode(r, r->vdec, r->pkt, 1);
        else if (r->adec && r->pkt->stream_index == r->aidx)
            st = decode(r, r->adec, r->pkt, 0);
        av_packet_unref(r->pkt);
        if (st != DUET_OK) return st;
        if (r->video_done && !r->adec) break;
    }
    if (err < 0 && err != AVERROR_EOF) return duet_mux_averror(err, r->path, "reading");
    duet_status st = DUET_OK;
    if (r->vdec && !r->video_done) st = decode(r, r->vdec, NULL, 1);
    if (st == DUET_OK && r->adec) st = decode(r, r->adec, NULL, 0);
    if (st == DUET_OK && r->adec) st = on_audio_frame(r, NULL);
    if (st == DUET_OK && r->adec) trim_audio_tail(r);
    return st;
}

static duet_status open_streams(reader *r) {
    r->vidx = r->aidx = -1;
    if (r->p.video) r->vidx = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (r->p.audio) r->aidx = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (r->vidx < 0) r->vidx = -1;
    if (r->aidx < 0) r->aidx = -1;
    if (r->vidx < 0 && r->aidx < 0) {
        DUET_LOGE("%s: no %s stream", r->path,
                  r->p.video && r->p.audio ? "video or audio" : r->p.video ? "video" : "audio");
        return DUET_ERR_NOT_FOUND;
    }
    duet_status st = DUET_OK;
    if (r->vidx >= 0) st = open_decoder(r, r->vidx, &r->vdec);
    if (st == DUET_OK && r->aidx >= 0) st = open_decoder(r, r->aidx, &r->adec);
    return st;
}

duet_status duet_media_read(const char *path, const duet_media_read_params *params,
                            duet_media_clip *clip) {
    if (!path || !clip) {
        DUET_LOGE("duet_media_read: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    memset(clip, 0, sizeof *clip);
    clip->video_start_s = clip->audio_start_s = NAN;
    reader r = {.path = path, .clip = clip};
    r.p = params ? *params : duet_media_default_read_params();
    if ((!r.p.video && !r.p.audio) || r.p.audio_rate_hz < 0 || r.p.audio_rate_hz > 768000 ||
        r.p.max_frames < 0) {
        DUET_LOGE("%s: duet_media_read: invalid parameters", path);
        return DUET_ERR_INVALID_ARG;
    }
    duet_status st = open_input(path, &r.fmt);
    if (st != DUET_OK) return st;
    r.pkt = av_packet_alloc();
    r.frame = av_frame_alloc();
    st = r.pkt && r.frame ? open_streams(&r) : DUET_ERR_OUT_OF_MEMORY;
    if (st == DUET_OK) st = read_packets(&r);
    sws_freeContext(r.sws);
    swr_free(&r.swr);
    avcodec_free_context(&r.vdec);
    avcodec_free_context(&r.adec);
    av_frame_free(&r.frame);
    av_packet_free(&r.pkt);
    avformat_close_input(&r.fmt);
    if (st != DUET_OK) duet_media_clip_free(clip);
    return st;
}
