#ifndef MERD_FFMPEG_LOADER_H
#define MERD_FFMPEG_LOADER_H
// FFmpeg's libraries are opened when merd first uses one (dlopen), not when merd starts.
// Linked directly, libavformat and libavcodec bring about a hundred libraries more (x265,
// rav1e, gnutls, librsvg, …): ~16 MiB of resident pages in every merd process, including the
// clients (subscribe, history, bridge) and the benchmarks, which decode nothing. merd calls
// FFmpeg by its own names: this target defines each function merd uses as a small
// forwarder that looks the real one up in its library on first call.
//
// The library names come from the headers merd was compiled against, so the ABI opened is
// the ABI compiled for (libavcodec.so.59 for FFmpeg 5.1's headers).

#include <stddef.h>

/// FFmpeg's libraries, in an order each one's dependencies come first.
typedef enum {
    merd_ffmpeg_avutil = 0,
    merd_ffmpeg_swresample,
    merd_ffmpeg_swscale,
    merd_ffmpeg_avcodec,
    merd_ffmpeg_avformat,
    merd_ffmpeg_library_count
} merd_ffmpeg_library;

/// Opens `library` (once; later calls return at once). 0 when it is open; otherwise -1 with
/// the loader's reason in `reason` (dlerror: "libavcodec.so.59: cannot open shared object
/// file: No such file or directory").
int merd_ffmpeg_open(merd_ffmpeg_library library, char *reason, size_t size);

/// The file name opened for `library`: "libavcodec.so.59".
const char *merd_ffmpeg_soname(merd_ffmpeg_library library);

/// Whether `library` is open in this process (tests).
int merd_ffmpeg_is_open(merd_ffmpeg_library library);
#endif
