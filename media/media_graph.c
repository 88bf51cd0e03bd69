/* media_graph.c -- builds a one-input, one-output libavfilter graph with an
 * explicit thread count (the graph's default is one thread per CPU). */
#include "media_internal.h"

#include <libavfilter/avfilter.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <stdio.h>

int media_graph_build(AVFilterGraph **graph, AVFilterContext **src, AVFilterContext **sink, int threads,
                      const char *src_name, const char *src_args, const char *sink_name, const char *desc,
                      char *err, size_t errlen)
{
    *graph = avfilter_graph_alloc();
    if (!*graph) {
        snprintf(err, errlen, "out of memory allocating a filter graph");
        return -1;
    }
    (*graph)->nb_threads = threads;
    av_opt_set(*graph, "scale_sws_opts", "flags=bicubic", 0);
    int rc = avfilter_graph_create_filter(src, avfilter_get_by_name(src_name), "in", src_args, NULL, *graph);
    if (rc >= 0)
        rc = avfilter_graph_create_filter(sink, avfilter_get_by_name(sink_name), "out", NULL, NULL, *graph);
    AVFilterInOut *outputs = avfilter_inout_alloc(), *inputs = avfilter_inout_alloc();
    if (rc >= 0 && (!outputs || !inputs))
        rc = AVERROR(ENOMEM);
    if (rc >= 0) {
        outputs->name = av_strdup("in");
        outputs->filter_ctx = *src;
        inputs->name = av_strdup("out");
        inputs->filter_ctx = *sink;
        rc = avfilter_graph_parse_ptr(*graph, desc, &inputs, &outputs, NULL);
    }
    if (rc >= 0)
        rc = avfilter_graph_config(*graph, NULL);
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (rc < 0) {
        char what[600];
        snprintf(what, sizeof what, "cannot build the filter graph '%s'", desc);
        media_averr(err, errlen, rc, what);
        return -1;
    }
    return 0;
}
