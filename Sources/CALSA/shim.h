#ifndef MERD_CALSA_SHIM_H
#define MERD_CALSA_SHIM_H
// libasound's PCM API (Debian: libasound2-dev).
#include <alsa/asoundlib.h>

// libasound prints its own errors to stderr; merd reports them itself (once, with what to
// do), so the library's copy is silenced. The handler is variadic, which Swift cannot define.
static void merd_alsa_quiet_handler(const char *file, int line, const char *function, int err, const char *fmt, ...) {
    (void)file; (void)line; (void)function; (void)err; (void)fmt;
}
static inline void merd_alsa_silence_library_errors(void) {
    snd_lib_error_set_handler(merd_alsa_quiet_handler);
}
#endif
