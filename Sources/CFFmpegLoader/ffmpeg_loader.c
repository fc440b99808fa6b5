#include "ffmpeg_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libavutil/tx.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#define SONAME(name, major) "lib" #name ".so." AV_STRINGIFY(major)

static const char *const sonames[merd_ffmpeg_library_count] = {
    [merd_ffmpeg_avutil] = SONAME(avutil, LIBAVUTIL_VERSION_MAJOR),
    [merd_ffmpeg_swresample] = SONAME(swresample, LIBSWRESAMPLE_VERSION_MAJOR),
    [merd_ffmpeg_swscale] = SONAME(swscale, LIBSWSCALE_VERSION_MAJOR),
    [merd_ffmpeg_avcodec] = SONAME(avcodec, LIBAVCODEC_VERSION_MAJOR),
    [merd_ffmpeg_avformat] = SONAME(avformat, LIBAVFORMAT_VERSION_MAJOR),
};

// Handles once opened; a failed open is tried again on the next call (the reason is the
// caller's to report), which a mutex keeps from racing.
static void *_Atomic handles[merd_ffmpeg_library_count];
static pthread_mutex_t opening = PTHREAD_MUTEX_INITIALIZER;

const char *merd_ffmpeg_soname(merd_ffmpeg_library library) { return sonames[library]; }

int merd_ffmpeg_is_open(merd_ffmpeg_library library) { return atomic_load(&handles[library]) != NULL; }

int merd_ffmpeg_open(merd_ffmpeg_library library, char *reason, size_t size) {
    if (atomic_load_explicit(&handles[library], memory_order_acquire) != NULL) return 0;
    pthread_mutex_lock(&opening);
    int status = 0;
    if (atomic_load(&handles[library]) == NULL) {
        // RTLD_LOCAL: FFmpeg's symbols stay out of the global scope, where they would meet
        // the forwarders below (of the same names) in a process that exports its symbols.
        void *handle = dlopen(sonames[library], RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            const char *error = dlerror();
            snprintf(reason, size, "%s", error ? error : "unknown error");
            status = -1;
        } else {
            atomic_store_explicit(&handles[library], handle, memory_order_release);
        }
    }
    pthread_mutex_unlock(&opening);
    return status;
}

// Reached only when a call comes before its library could be opened: the Swift side opens
// the libraries first (FFmpegLibraries.open) and reports a failure as an error, so this is a
// caller that skipped that step. No forwarder can return an error of its own kind.
static void *resolve(merd_ffmpeg_library library, const char *name, void *_Atomic *slot) {
    char reason[512];
    if (merd_ffmpeg_open(library, reason, sizeof reason) != 0) {
        fprintf(stderr, "merd: FFmpeg's %s could not be opened for %s: %s\n", sonames[library], name, reason);
        abort();
    }
    void *function = dlsym(atomic_load(&handles[library]), name);
    if (function == NULL) {
        fprintf(stderr, "merd: %s has no %s: %s\n", sonames[library], name, dlerror());
        abort();
    }
    atomic_store_explicit(slot, function, memory_order_release);
    return function;
}

// One forwarder per FFmpeg function merd calls. The prototypes are FFmpeg's own (from the
// headers above), so a forwarder that does not match its function does not compile.
#define LOOKUP(library, name)                                                                      \
    static void *_Atomic name##_slot;                                                                \
    void *function = atomic_load_explicit(&name##_slot, memory_order_acquire);                       \
    if (function == NULL) function = resolve(merd_ffmpeg_##library, #name, &name##_slot);

#define FORWARD(library, result, name, parameters, arguments)                                      \
    result name parameters {                                                                         \
        LOOKUP(library, name)                                                                        \
        return ((result(*) parameters)function) arguments;                                           \
    }

#define FORWARD_VOID(library, name, parameters, arguments)                                         \
    void name parameters {                                                                           \
        LOOKUP(library, name)                                                                        \
        ((void (*) parameters)function) arguments;                                                   \
    }

// libavutil
FORWARD_VOID(avutil, av_channel_layout_default, (AVChannelLayout *ch_layout, int nb_channels), (ch_layout, nb_channels))
FORWARD(avutil, AVFrame *, av_frame_alloc, (void), ())
FORWARD_VOID(avutil, av_frame_free, (AVFrame **frame), (frame))
FORWARD(avutil, int, av_frame_get_buffer, (AVFrame *frame, int align), (frame, align))
FORWARD_VOID(avutil, av_frame_unref, (AVFrame *frame), (frame))
FORWARD_VOID(avutil, av_free, (void *ptr), (ptr))
FORWARD(avutil, void *, av_malloc, (size_t size), (size))
FORWARD(avutil, const char *, av_get_pix_fmt_name, (enum AVPixelFormat pix_fmt), (pix_fmt))
FORWARD_VOID(avutil, av_log_default_callback, (void *avcl, int level, const char *fmt, va_list vl), (avcl, level, fmt, vl))
FORWARD_VOID(avutil, av_log_set_callback, (void (*callback)(void *, int, const char *, va_list)), (callback))
FORWARD(avutil, int, av_strerror, (int errnum, char *errbuf, size_t errbuf_size), (errnum, errbuf, errbuf_size))
FORWARD(avutil, int, av_tx_init,
        (AVTXContext **ctx, av_tx_fn *tx, enum AVTXType type, int inv, int len, const void *scale, uint64_t flags),
        (ctx, tx, type, inv, len, scale, flags))
FORWARD_VOID(avutil, av_tx_uninit, (AVTXContext **ctx), (ctx))

// libswresample
FORWARD(swresample, int, swr_alloc_set_opts2,
        (struct SwrContext **ps, AVChannelLayout *out_ch_layout, enum AVSampleFormat out_sample_fmt, int out_sample_rate,
         AVChannelLayout *in_ch_layout, enum AVSampleFormat in_sample_fmt, int in_sample_rate, int log_offset, void *log_ctx),
        (ps, out_ch_layout, out_sample_fmt, out_sample_rate, in_ch_layout, in_sample_fmt, in_sample_rate, log_offset, log_ctx))
FORWARD(swresample, int, swr_convert, (struct SwrContext *s, uint8_t **out, int out_count, const uint8_t **in, int in_count),
        (s, out, out_count, in, in_count))
FORWARD_VOID(swresample, swr_free, (struct SwrContext **s), (s))
FORWARD(swresample, int, swr_get_out_samples, (struct SwrContext *s, int in_samples), (s, in_samples))
FORWARD(swresample, int, swr_init, (struct SwrContext *s), (s))
FORWARD(swresample, int, swr_set_matrix, (struct SwrContext *s, const double *matrix, int stride), (s, matrix, stride))

// libswscale
FORWARD_VOID(swscale, sws_freeContext, (struct SwsContext *swsContext), (swsContext))
FORWARD(swscale, struct SwsContext *, sws_getContext,
        (int srcW, int srcH, enum AVPixelFormat srcFormat, int dstW, int dstH, enum AVPixelFormat dstFormat, int flags,
         SwsFilter *srcFilter, SwsFilter *dstFilter, const double *param),
        (srcW, srcH, srcFormat, dstW, dstH, dstFormat, flags, srcFilter, dstFilter, param))
FORWARD(swscale, int, sws_scale,
        (struct SwsContext *c, const uint8_t *const srcSlice[], const int srcStride[], int srcSliceY, int srcSliceH,
         uint8_t *const dst[], const int dstStride[]),
        (c, srcSlice, srcStride, srcSliceY, srcSliceH, dst, dstStride))

// libavcodec
FORWARD(avcodec, AVPacket *, av_packet_alloc, (void), ())
FORWARD_VOID(avcodec, av_packet_free, (AVPacket **pkt), (pkt))
FORWARD_VOID(avcodec, av_packet_unref, (AVPacket *pkt), (pkt))
FORWARD(avcodec, AVCodecContext *, avcodec_alloc_context3, (const AVCodec *codec), (codec))
FORWARD(avcodec, const AVCodec *, avcodec_find_decoder, (enum AVCodecID id), (id))
FORWARD(avcodec, const AVCodec *, avcodec_find_encoder, (enum AVCodecID id), (id))
FORWARD_VOID(avcodec, avcodec_free_context, (AVCodecContext **avctx), (avctx))
FORWARD(avcodec, const char *, avcodec_get_name, (enum AVCodecID id), (id))
FORWARD(avcodec, int, avcodec_open2, (AVCodecContext *avctx, const AVCodec *codec, AVDictionary **options), (avctx, codec, options))
FORWARD(avcodec, int, avcodec_parameters_to_context, (AVCodecContext *codec, const AVCodecParameters *par), (codec, par))
FORWARD(avcodec, int, avcodec_receive_frame, (AVCodecContext *avctx, AVFrame *frame), (avctx, frame))
FORWARD(avcodec, int, avcodec_receive_packet, (AVCodecContext *avctx, AVPacket *avpkt), (avctx, avpkt))
FORWARD(avcodec, int, avcodec_send_frame, (AVCodecContext *avctx, const AVFrame *frame), (avctx, frame))
FORWARD(avcodec, int, avcodec_send_packet, (AVCodecContext *avctx, const AVPacket *avpkt), (avctx, avpkt))

// libavformat
FORWARD(avformat, int, av_find_best_stream,
        (AVFormatContext *ic, enum AVMediaType type, int wanted_stream_nb, int related_stream, const AVCodec **decoder_ret, int flags),
        (ic, type, wanted_stream_nb, related_stream, decoder_ret, flags))
FORWARD(avformat, int, av_read_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))
FORWARD_VOID(avformat, avformat_close_input, (AVFormatContext **s), (s))
FORWARD(avformat, int, avformat_find_stream_info, (AVFormatContext *ic, AVDictionary **options), (ic, options))
FORWARD(avformat, int, avformat_open_input, (AVFormatContext **ps, const char *url, const AVInputFormat *fmt, AVDictionary **options),
        (ps, url, fmt, options))

// Each library's version (major << 16 | minor << 8 | micro), to check what was opened.
FORWARD(avutil, unsigned, avutil_version, (void), ())
FORWARD(swresample, unsigned, swresample_version, (void), ())
FORWARD(swscale, unsigned, swscale_version, (void), ())
FORWARD(avcodec, unsigned, avcodec_version, (void), ())
FORWARD(avformat, unsigned, avformat_version, (void), ())
