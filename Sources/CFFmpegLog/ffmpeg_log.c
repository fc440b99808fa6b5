#include "ffmpeg_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <libavutil/log.h>

// Contexts being watched and their counts: a small fixed table, lock-free, since FFmpeg logs
// from whatever thread decodes. 64 files open at once is far above what merd reads.
#define SLOTS 64
static void *_Atomic contexts[SLOTS];
static atomic_long counts[SLOTS];

static void callback(void *context, int level, const char *format, va_list arguments) {
    if (level <= AV_LOG_FATAL) {
        av_log_default_callback(context, level, format, arguments);
        return;
    }
    if (level > AV_LOG_WARNING || context == NULL) return;
    for (int i = 0; i < SLOTS; i++) {
        if (atomic_load(&contexts[i]) == context) {
            atomic_fetch_add(&counts[i], 1);
            return;
        }
    }
}

void merd_av_log_install(void) { av_log_set_callback(callback); }

int merd_av_log_watch(void *context) {
    for (int i = 0; i < SLOTS; i++) {
        void *expected = NULL;
        // The count is reset before the slot is published, so no message is lost or stale.
        if (atomic_load(&contexts[i]) == NULL) {
            atomic_store(&counts[i], 0);
            if (atomic_compare_exchange_strong(&contexts[i], &expected, context)) return 1;
        }
    }
    return 0;
}

long merd_av_log_count(void *context) {
    for (int i = 0; i < SLOTS; i++) {
        if (atomic_load(&contexts[i]) == context) return atomic_load(&counts[i]);
    }
    return 0;
}

void merd_av_log_unwatch(void *context) {
    for (int i = 0; i < SLOTS; i++) {
        void *expected = context;
        if (atomic_compare_exchange_strong(&contexts[i], &expected, NULL)) return;
    }
}
