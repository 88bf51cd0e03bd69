/* media_codec.c -- the encoder-side steps media_video.c (AAC, H.264) and
 * media_audio.c (MP3) share: the send/receive/write loop of an encoder, picking
 * the encoder's sample rate, the abuffer -> aresample,aformat -> abuffersink
 * graph feeding an audio encoder, and the output stream an encoder writes to. */
#include "media_internal.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <stdio.h>
#include <stdlib.h>

int media_encode_write(AVCodecContext *enc, AVFrame *f, AVPacket *pkt, AVFormatContext *oc, AVStream *ost,
                       const char *enc_what, const char *write_what, char *err, size_t errlen)
{
    int rc = avcodec_send_frame(enc, f);
    if (rc < 0 && rc != AVERROR_EOF) {
        media_averr(err, errlen, rc, enc_what);
        return -1;
    }
    for (;;) {
        rc = avcodec_receive_packet(enc, pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0) {
            media_averr(err, errlen, rc, enc_what);
            return -1;
        }
        av_packet_rescale_ts(pkt, enc->time_base, ost->time_base);
        pkt->stream_index = ost->index;
        rc = av_interleaved_write_frame(oc, pkt);
        if (rc < 0) {
            media_averr(err, errlen, rc, write_what);
            return -1;
        }
    }
}

int media_best_sample_rate(const AVCodec *codec, int rate)
{
    int best = 0;
    for (const int *r = codec->supported_samplerates; r && *r; r++)
        if (*r == rate || best == 0 || abs(*r - rate) < abs(best - rate))
            best = *r;
    return best;
}

int media_audio_graph(AVFilterGraph **graph, AVFilterContext **src, AVFilterContext **sink, int threads,
                      const AVCodecContext *dec, const AVStream *ist, const AVCodecContext *enc,
                      char *err, size_t errlen)
{
    char in_layout[128], out_layout[128], args[512], desc[384];
    AVChannelLayout dl = {0};
    if (dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&dl, dec->ch_layout.nb_channels);
    else
        av_channel_layout_copy(&dl, &dec->ch_layout);
    av_channel_layout_describe(&dl, in_layout, sizeof in_layout);
    av_channel_layout_uninit(&dl);
    av_channel_layout_describe(&enc->ch_layout, out_layout, sizeof out_layout);
    snprintf(args, sizeof args, "time_base=%d/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             ist->time_base.num, ist->time_base.den, dec->sample_rate, av_get_sample_fmt_name(dec->sample_fmt), in_layout);
    snprintf(desc, sizeof desc, "aresample=%d,aformat=sample_fmts=fltp:channel_layouts=%s",
             enc->sample_rate, out_layout);
    if (media_graph_build(graph, src, sink, threads, "abuffer", args, "abuffersink", desc, err, errlen) < 0)
        return -1;
    av_buffersink_set_frame_size(*sink, (unsigned)enc->frame_size);
    return 0;
}

AVStream *media_new_encoded_stream(AVFormatContext *oc, const AVCodecContext *enc)
{
    AVStream *st = avformat_new_stream(oc, NULL);
    if (!st || avcodec_parameters_from_context(st->codecpar, enc) < 0)
        return NULL;
    st->time_base = enc->time_base;
    return st;
}
