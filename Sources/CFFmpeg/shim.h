#ifndef MERD_CFFMPEG_SHIM_H
#define MERD_CFFMPEG_SHIM_H
// FFmpeg's libraries (Debian: libavformat-dev, libavcodec-dev, libavutil-dev, libswscale-dev,
// libswresample-dev).
#include <errno.h>
#include <stdio.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <libavutil/tx.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

// Error codes are macros built from MKTAG/AVERROR, which Swift cannot import.
static const int merd_AVERROR_EOF = AVERROR_EOF;
static inline int merd_AVERROR_EAGAIN(void) { return AVERROR(EAGAIN); }

/// The message FFmpeg gives for an error code (av_err2str is a macro over a compound literal).
static inline void merd_av_strerror(int code, char *buffer, size_t size) {
    if (av_strerror(code, buffer, size) < 0) {
        snprintf(buffer, size, "FFmpeg error %d", code);
    }
}

#endif
