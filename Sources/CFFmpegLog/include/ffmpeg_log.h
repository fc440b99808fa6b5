#ifndef MERD_FFMPEG_LOG_H
#define MERD_FFMPEG_LOG_H
// FFmpeg reports a damaged or truncated file only in its log ("Packet corrupt", "File ended
// prematurely"): the packets it returns look whole. merd replaces the log callback with one
// that prints only fatal messages and counts warnings and errors per watched context (a
// demuxer's AVFormatContext), so a reader can say afterwards that its file was damaged.

/// Installs the counting callback (idempotent).
void merd_av_log_install(void);
/// Starts counting `context`'s warnings and errors; 0 when every slot is taken.
int merd_av_log_watch(void *context);
/// `context`'s warnings and errors so far.
long merd_av_log_count(void *context);
/// Stops counting `context` (before it is freed: its address may come back for another).
void merd_av_log_unwatch(void *context);
#endif
