/* media_util.c -- small helpers shared by the media files: libav error text,
 * the rotation a stream asks for, the filters that turn a rotated picture
 * upright, the one way inputs are opened (demuxer and protocol whitelists) and
 * read packet by packet, and a file copied as it is (styles kept unconverted). */
#include "media_internal.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void media_averr(char *err, size_t errlen, int averror, const char *what)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averror, buf, sizeof buf);
    snprintf(err, errlen, "%s: %s", what, buf);
}

const char *media_rotation_filter(int rotation)
{
    switch (rotation) {
    case 90: return "transpose=clock";
    case 180: return "hflip,vflip";
    case 270: return "transpose=cclock";
    default: return "";
    }
}

int media_stream_rotation(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!m)
        return 0;
    double theta = -round(av_display_rotation_get((const int32_t *)m));
    if (isnan(theta))
        return 0;
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    if (fabs(theta - 90) < 1)
        return 90;
    if (fabs(theta - 180) < 1)
        return 180;
    if (fabs(theta - 270) < 1)
        return 270;
    return 0;
}

/* Demuxers for the types Mastodon accepts (images, video, audio); playlists,
 * concat scripts and every other reference-following format are refused. */
static const char media_demuxers[] =
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ogg,gif,apng,png_pipe,jpeg_pipe,webp_pipe,image2,"
    "mp3,wav,flac,aac,asf";

int media_open_input(AVFormatContext **ic, const char *path)
{
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "format_whitelist", media_demuxers, 0);
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    int rc = avformat_open_input(ic, path, NULL, &opts);
    av_dict_free(&opts);
    return rc;
}

int media_read_packet(AVFormatContext *ic, AVPacket *pkt, char *err, size_t errlen)
{
    int rc = av_read_frame(ic, pkt);
    if (rc == AVERROR_EOF)
        return 0;
    if (rc < 0) {
        media_averr(err, errlen, rc, "reading the input failed (truncated file?)");
        return -1;
    }
    return 1;
}

int media_copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    /* A file left at `to` by an earlier run of the task may be a link to `from`:
     * writing through it would truncate the input itself. */
    if (unlink(to) < 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot replace %s: %s", to, strerror(errno));
        return -1;
    }
    if (link(from, to) == 0)
        return 0;
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc < 0)
        snprintf(err, errlen, "cannot copy %s to %s: %s", from, to, strerror(errno));
    return rc;
}
