/* media_video.c -- video to MP4 the way Mastodon's Paperclip::Transcoder runs
 * ffmpeg: stream-copy remux when eligible, otherwise H.264 (libx264, veryfast,
 * Mastodon's bitrate/maxrate/bufsize) plus AAC 192k, even-size crop, upright,
 * metadata stripped, at most 36,000 frames, constant frame rate unless
 * r_frame_rate > 120, moov atom first. Every codec and the filter graph get an
 * explicit thread count. */
#include "media.h"
#include "media_internal.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <string.h>

/* One input stream carried to the output: decoder, filters, encoder. */
typedef struct vt_stream {
    int in_idx;                      /* -1: not present */
    int64_t start;                   /* input start time in the stream's time base */
    int64_t end_pts;                 /* pts + duration of the last decoded frame */
    AVCodecContext *dec, *enc;
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    AVStream *ost;
} vt_stream;

typedef struct vt {
    AVFormatContext *ic, *oc;
    vt_stream v, a;
    AVFrame *frame, *filt;
    AVPacket *opkt;
    int threads;
    int64_t frames_out;              /* video frames given to the encoder */
    bool capped;                     /* MEDIA_MAX_VIDEO_FRAMES reached */
    double duration;
    int last_pct;
    media_progress_fn progress;
    void *progress_ud;
    char *err;
    size_t errlen;
} vt;

static void vt_progress(vt *t, const AVStream *st, int64_t pts)
{
    if (!t->progress || t->duration <= 0 || pts == AV_NOPTS_VALUE)
        return;
    int pct = (int)(pts * av_q2d(st->time_base) / t->duration * 100);
    if (pct > 99)
        pct = 99;
    if (pct > t->last_pct) {
        t->last_pct = pct;
        t->progress(t->progress_ud, pct);
    }
}

static int vt_open_input(vt *t, const char *in)
{
    int rc = media_open_input(&t->ic, in);
    if (rc >= 0)
        rc = avformat_find_stream_info(t->ic, NULL);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot read the input");
        return -1;
    }
    t->v.in_idx = t->a.in_idx = -1;
    for (unsigned i = 0; i < t->ic->nb_streams; i++) {
        const AVStream *st = t->ic->streams[i];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && t->v.in_idx < 0 &&
            !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            t->v.in_idx = (int)i;
        else if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && t->a.in_idx < 0)
            t->a.in_idx = (int)i;
    }
    if (t->v.in_idx < 0) {
        snprintf(t->err, t->errlen, "no video stream to transcode");
        return -1;
    }
    for (unsigned i = 0; i < t->ic->nb_streams; i++)
        if ((int)i != t->v.in_idx && (int)i != t->a.in_idx)
            t->ic->streams[i]->discard = AVDISCARD_ALL;
    int64_t start = t->ic->start_time == AV_NOPTS_VALUE ? 0 : t->ic->start_time;
    vt_stream *ss[2] = {&t->v, &t->a};
    for (int k = 0; k < 2; k++)
        if (ss[k]->in_idx >= 0)
            ss[k]->start = av_rescale_q(start, AV_TIME_BASE_Q, t->ic->streams[ss[k]->in_idx]->time_base);
    return 0;
}

static int vt_open_output(vt *t, const char *out)
{
    int rc = avformat_alloc_output_context2(&t->oc, NULL, "mp4", out);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot set up the MP4 muxer");
        return -1;
    }
    return 0;
}

static int vt_write_header(vt *t, const char *out)
{
    int rc = avio_open(&t->oc->pb, out, AVIO_FLAG_WRITE);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot create the output file");
        return -1;
    }
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "movflags", "faststart", 0);
    rc = avformat_write_header(t->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot write the MP4 header");
        return -1;
    }
    return 0;
}

static int vt_open_decoder(vt *t, vt_stream *s)
{
    const AVStream *st = t->ic->streams[s->in_idx];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
        snprintf(t->err, t->errlen, "no decoder for codec '%s'", avcodec_get_name(st->codecpar->codec_id));
        return -1;
    }
    s->dec = avcodec_alloc_context3(codec);
    if (!s->dec || avcodec_parameters_to_context(s->dec, st->codecpar) < 0) {
        snprintf(t->err, t->errlen, "out of memory setting up the %s decoder", codec->name);
        return -1;
    }
    s->dec->pkt_timebase = st->time_base;
    s->dec->thread_count = t->threads;
    s->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    int rc = avcodec_open2(s->dec, codec, NULL);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot open the decoder");
        return -1;
    }
    return 0;
}

/* Builds src -> desc -> sink in a graph limited to t->threads. */
static int vt_graph(vt *t, vt_stream *s, const char *src_name, const char *src_args,
                    const char *sink_name, const char *desc)
{
    return media_graph_build(&s->graph, &s->src, &s->sink, t->threads, src_name, src_args, sink_name, desc,
                             t->err, t->errlen);
}

/* s's encoder context for codec, or NULL with err: missing when there is no such
 * encoder, out of memory naming the encoder otherwise. */
static AVCodecContext *vt_new_encoder(vt *t, vt_stream *s, const AVCodec *codec, const char *missing,
                                      const char *name)
{
    if (!codec) {
        snprintf(t->err, t->errlen, "%s", missing);
        return NULL;
    }
    s->enc = avcodec_alloc_context3(codec);
    if (!s->enc)
        snprintf(t->err, t->errlen, "out of memory setting up the %s encoder", name);
    return s->enc;
}

static int vt_setup_video(vt *t, const media_probe *p)
{
    vt_stream *s = &t->v;
    if (vt_open_decoder(t, s) < 0)
        return -1;
    AVStream *ist = t->ic->streams[s->in_idx];
    AVRational fr = av_guess_frame_rate(t->ic, ist, NULL);
    if (fr.num <= 0 || fr.den <= 0)
        fr = (AVRational){p->fps_num, p->fps_den};
    bool vfr = p->rfps_den > 0 && (double)p->rfps_num / p->rfps_den > MEDIA_MAX_VIDEO_FPS;
    char args[256], desc[256], fps[64] = "";
    AVRational sar = av_guess_sample_aspect_ratio(t->ic, ist, NULL);
    if (sar.num <= 0 || sar.den <= 0)
        sar = (AVRational){0, 1};
    snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d:frame_rate=%d/%d",
             s->dec->width, s->dec->height, s->dec->pix_fmt, ist->time_base.num, ist->time_base.den,
             sar.num, sar.den, fr.num, fr.den);
    if (!vfr)
        snprintf(fps, sizeof fps, "fps=%d/%d,", fr.num, fr.den);
    const char *rot = media_rotation_filter(p->rotation);
    snprintf(desc, sizeof desc, "%s%s%scrop=floor(iw/2)*2:floor(ih/2)*2,format=yuv420p",
             rot, *rot ? "," : "", fps);
    if (vt_graph(t, s, "buffer", args, "buffersink", desc) < 0)
        return -1;

    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        codec = avcodec_find_encoder(AV_CODEC_ID_H264);
    AVCodecContext *e = vt_new_encoder(t, s, codec, "no H.264 encoder in this FFmpeg build (install libx264 support)",
                                       "H.264");
    if (!e)
        return -1;
    e->width = av_buffersink_get_w(s->sink);
    e->height = av_buffersink_get_h(s->sink);
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->sample_aspect_ratio = av_buffersink_get_sample_aspect_ratio(s->sink);
    e->time_base = vfr ? av_buffersink_get_time_base(s->sink) : av_inv_q(fr);
    e->framerate = fr;
    /* Mastodon computes the rate from the probed (input) size, before the crop. */
    int64_t b = media_video_bitrate(p->width, p->height, p->duration);
    e->bit_rate = b;
    e->rc_max_rate = b + MEDIA_AUDIO_BITRATE;
    e->rc_buffer_size = (int)(5 * b);
    e->thread_count = t->threads;
    if (t->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "preset", "veryfast", 0);
    int rc = avcodec_open2(e, codec, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot open the H.264 encoder");
        return -1;
    }
    s->ost = media_new_encoded_stream(t->oc, e);
    if (!s->ost) {
        snprintf(t->err, t->errlen, "cannot add the video stream to the MP4");
        return -1;
    }
    s->ost->avg_frame_rate = fr;
    s->ost->sample_aspect_ratio = e->sample_aspect_ratio;
    return 0;
}

static int vt_setup_audio(vt *t)
{
    vt_stream *s = &t->a;
    if (vt_open_decoder(t, s) < 0)
        return -1;
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext *e = vt_new_encoder(t, s, codec, "no AAC encoder in this FFmpeg build", "AAC");
    if (!e)
        return -1;
    int rate = s->dec->sample_rate, best = media_best_sample_rate(codec, rate);
    e->sample_rate = best ? best : rate;
    if (s->dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || s->dec->ch_layout.nb_channels > 8)
        av_channel_layout_default(&e->ch_layout, s->dec->ch_layout.nb_channels > 2 ? 2 : s->dec->ch_layout.nb_channels);
    else
        av_channel_layout_copy(&e->ch_layout, &s->dec->ch_layout);
    e->sample_fmt = AV_SAMPLE_FMT_FLTP;
    e->bit_rate = MEDIA_AUDIO_BITRATE;
    e->time_base = (AVRational){1, e->sample_rate};
    e->thread_count = t->threads;
    if (t->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int rc = avcodec_open2(e, codec, NULL);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot open the AAC encoder");
        return -1;
    }
    if (media_audio_graph(&s->graph, &s->src, &s->sink, t->threads, s->dec, t->ic->streams[s->in_idx], e,
                          t->err, t->errlen) < 0)
        return -1;
    s->ost = media_new_encoded_stream(t->oc, e);
    if (!s->ost) {
        snprintf(t->err, t->errlen, "cannot add the audio stream to the MP4");
        return -1;
    }
    return 0;
}

/* Sends one frame (NULL: flush) to the encoder and writes what comes out. */
static int vt_encode(vt *t, vt_stream *s, AVFrame *f)
{
    return media_encode_write(s->enc, f, t->opkt, t->oc, s->ost, "encoding failed", "writing the MP4 failed",
                              t->err, t->errlen);
}

/* Pushes a decoded frame (NULL: end of stream) through the filters into the encoder. */
static int vt_filter(vt *t, vt_stream *s, AVFrame *f)
{
    /* Closing at the end of the last frame's duration lets the fps filter keep it. */
    int rc = f ? av_buffersrc_add_frame_flags(s->src, f, AV_BUFFERSRC_FLAG_KEEP_REF)
               : av_buffersrc_close(s->src, s->end_pts, AV_BUFFERSRC_FLAG_PUSH);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "filtering failed");
        return -1;
    }
    for (;;) {
        rc = av_buffersink_get_frame(s->sink, t->filt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0) {
            media_averr(t->err, t->errlen, rc, "filtering failed");
            return -1;
        }
        if (s == &t->v && t->capped) {
            av_frame_unref(t->filt);
            continue;
        }
        if (t->filt->pts != AV_NOPTS_VALUE)
            t->filt->pts = av_rescale_q(t->filt->pts, av_buffersink_get_time_base(s->sink), s->enc->time_base);
        t->filt->pict_type = AV_PICTURE_TYPE_NONE;
        rc = vt_encode(t, s, t->filt);
        av_frame_unref(t->filt);
        if (rc < 0)
            return -1;
        if (s == &t->v && ++t->frames_out >= MEDIA_MAX_VIDEO_FRAMES)
            t->capped = true;
    }
}

/* Decodes one packet (NULL: flush) and filters every frame it yields. */
static int vt_decode(vt *t, vt_stream *s, const AVPacket *pkt)
{
    /* Damaged packets are skipped like the ffmpeg CLI does; only running out of
     * memory stops the task. */
    int rc = avcodec_send_packet(s->dec, pkt);
    if (rc == AVERROR(ENOMEM)) {
        media_averr(t->err, t->errlen, rc, "decoding failed");
        return -1;
    }
    const AVStream *st = t->ic->streams[s->in_idx];
    for (;;) {
        rc = avcodec_receive_frame(s->dec, t->frame);
        if (rc == AVERROR(ENOMEM)) {
            media_averr(t->err, t->errlen, rc, "decoding failed");
            return -1;
        }
        if (rc < 0)
            return 0;
        int64_t ts = t->frame->best_effort_timestamp;
        t->frame->pts = ts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : ts - s->start;
        if (t->frame->pts != AV_NOPTS_VALUE && t->frame->pts + t->frame->pkt_duration > s->end_pts)
            s->end_pts = t->frame->pts + t->frame->pkt_duration;
        vt_progress(t, st, t->frame->pts);
        rc = vt_filter(t, s, t->frame);
        av_frame_unref(t->frame);
        if (rc < 0)
            return -1;
    }
}

static int vt_flush(vt *t)
{
    vt_stream *ss[2] = {&t->v, &t->a};
    for (int k = 0; k < 2; k++) {
        vt_stream *s = ss[k];
        if (s->in_idx < 0)
            continue;
        if (vt_decode(t, s, NULL) < 0 || vt_filter(t, s, NULL) < 0 || vt_encode(t, s, NULL) < 0)
            return -1;
    }
    return 0;
}

static int vt_transcode(vt *t, const char *out, const media_probe *p)
{
    if (vt_open_output(t, out) < 0 || vt_setup_video(t, p) < 0)
        return -1;
    if (t->a.in_idx >= 0 && vt_setup_audio(t) < 0)
        return -1;
    if (vt_write_header(t, out) < 0)
        return -1;
    AVPacket *pkt = av_packet_alloc();
    int rc = 0;
    while (rc == 0 && !t->capped) {
        int r = media_read_packet(t->ic, pkt, t->err, t->errlen);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (pkt->stream_index == t->v.in_idx)
            rc = vt_decode(t, &t->v, pkt);
        else if (pkt->stream_index == t->a.in_idx)
            rc = vt_decode(t, &t->a, pkt);
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    if (rc == 0)
        rc = vt_flush(t);
    if (rc == 0 && t->frames_out == 0) {
        snprintf(t->err, t->errlen, "the video stream has no decodable frame");
        rc = -1;
    }
    return rc;
}

/* Stream copy into MP4: the video stream and the AAC audio stream, if any. */
static int vt_remux(vt *t, const char *out)
{
    if (vt_open_output(t, out) < 0)
        return -1;
    vt_stream *ss[2] = {&t->v, &t->a};
    for (int k = 0; k < 2; k++) {
        vt_stream *s = ss[k];
        if (s->in_idx < 0)
            continue;
        const AVStream *ist = t->ic->streams[s->in_idx];
        s->ost = avformat_new_stream(t->oc, NULL);
        if (!s->ost || avcodec_parameters_copy(s->ost->codecpar, ist->codecpar) < 0) {
            snprintf(t->err, t->errlen, "cannot add a stream to the MP4");
            return -1;
        }
        s->ost->codecpar->codec_tag = 0;
        s->ost->time_base = ist->time_base;
        s->ost->avg_frame_rate = ist->avg_frame_rate;
        size_t n = 0;
        const uint8_t *m = av_stream_get_side_data(ist, AV_PKT_DATA_DISPLAYMATRIX, &n);
        uint8_t *copy = m ? av_stream_new_side_data(s->ost, AV_PKT_DATA_DISPLAYMATRIX, n) : NULL;
        if (copy)
            memcpy(copy, m, n);
    }
    if (vt_write_header(t, out) < 0)
        return -1;
    AVPacket *pkt = av_packet_alloc();
    int rc = 0;
    for (;;) {
        int r = media_read_packet(t->ic, pkt, t->err, t->errlen);
        if (r <= 0) {
            rc = r;
            break;
        }
        vt_stream *s = pkt->stream_index == t->v.in_idx ? &t->v : pkt->stream_index == t->a.in_idx ? &t->a : NULL;
        if (s) {
            const AVStream *ist = t->ic->streams[s->in_idx];
            vt_progress(t, ist, pkt->pts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : pkt->pts - s->start);
            if (pkt->pts != AV_NOPTS_VALUE)
                pkt->pts -= s->start;
            if (pkt->dts != AV_NOPTS_VALUE)
                pkt->dts -= s->start;
            av_packet_rescale_ts(pkt, ist->time_base, s->ost->time_base);
            pkt->stream_index = s->ost->index;
            pkt->pos = -1;
            r = av_interleaved_write_frame(t->oc, pkt);
            if (r < 0) {
                media_averr(t->err, t->errlen, r, "writing the MP4 failed");
                rc = -1;
                av_packet_unref(pkt);
                break;
            }
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    return rc;
}

static void vt_stream_free(vt_stream *s)
{
    avcodec_free_context(&s->dec);
    avcodec_free_context(&s->enc);
    avfilter_graph_free(&s->graph);
}

int media_video_process(const char *in, const char *out, const media_probe *p,
                        const media_video_opts *o, bool *passthrough, char *err, size_t errlen)
{
    vt t;
    memset(&t, 0, sizeof t);
    t.threads = o->threads > 0 ? o->threads : 1;
    t.progress = o->progress;
    t.progress_ud = o->progress_ud;
    t.duration = p->duration;
    t.err = err;
    t.errlen = errlen;
    t.frame = av_frame_alloc();
    t.filt = av_frame_alloc();
    t.opkt = av_packet_alloc();
    *passthrough = media_video_passthrough_ok(p);
    int rc = -1;
    if (!t.frame || !t.filt || !t.opkt)
        snprintf(err, errlen, "out of memory");
    else if (vt_open_input(&t, in) == 0)
        rc = *passthrough ? vt_remux(&t, out) : vt_transcode(&t, out, p);
    if (rc == 0) {
        int r = av_write_trailer(t.oc);
        if (r < 0) {
            media_averr(err, errlen, r, "finishing the MP4 failed (faststart rewrite)");
            rc = -1;
        }
    }
    if (rc == 0 && t.progress)
        t.progress(t.progress_ud, 100);
    if (t.oc) {
        avio_closep(&t.oc->pb);
        avformat_free_context(t.oc);
    }
    vt_stream_free(&t.v);
    vt_stream_free(&t.a);
    avformat_close_input(&t.ic);
    av_frame_free(&t.frame);
    av_frame_free(&t.filt);
    av_packet_free(&t.opkt);
    return rc;
}
