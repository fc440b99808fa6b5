#ifndef MERD_CURL_LOADER_H
#define MERD_CURL_LOADER_H
// libcurl is opened when merd first downloads (`merd models fetch`), not when merd starts.
// Linked (as Foundation's URLSession links it), libcurl brings ~28 libraries more (gnutls,
// krb5, ldap, nghttp2, ssh, …) and their resident pages into every merd process, the daemon
// and the clients included, for a command most runs never use. The whole transfer is done
// here in C, where libcurl's variadic options can be set with their real types.

#include <stddef.h>
#include <stdint.h>

/// Opens libcurl.so.4 and initialises it (once; later calls return at once). 0 when it is
/// open; otherwise -1 with the reason in `reason` (dlerror, a missing function, or a libcurl
/// older than the options merd sets need).
int merd_curl_open(char *reason, size_t size);

/// The file name opened: "libcurl.so.4".
const char *merd_curl_soname(void);

/// Whether libcurl is open in this process (tests).
int merd_curl_is_open(void);

/// How a transfer ended.
typedef enum {
    /// The body arrived whole with a 2xx status.
    merd_http_complete = 0,
    /// The server answered with status >= 400 (`status` says which); nothing was written.
    merd_http_status_error,
    /// The host could not be reached, or stopped answering (`reason` says how).
    merd_http_unreachable,
    /// The connection closed before the body's declared length arrived.
    merd_http_partial,
    /// The body grew past `limit` bytes; the transfer was stopped there.
    merd_http_too_large,
    /// The sink could not take the bytes (`system_error` is errno).
    merd_http_write_failed,
    /// `cancelled` was set.
    merd_http_cancelled,
    /// Anything else libcurl reports (`reason` says what).
    merd_http_failed,
} merd_http_outcome;

/// Where a body goes: a file descriptor when `fd` >= 0, else a buffer grown with malloc
/// (`bytes`, `count`; the caller frees `bytes`).
typedef struct {
    int fd;
    unsigned char *bytes;
    size_t count;
    size_t capacity;
} merd_http_sink;

typedef struct {
    merd_http_outcome outcome;
    /// The last response's HTTP status, 0 when none came.
    long status;
    /// The final response's declared length, -1 when it had none.
    int64_t content_length;
    /// Body bytes given to the sink; for `merd_http_too_large`, the bytes that had arrived.
    int64_t received;
    /// errno of a failed write.
    int system_error;
    /// libcurl's message for the outcome.
    char reason[256];
} merd_http_result;

/// GETs `url` (http or https, following up to 10 redirects, proxies from the environment as
/// curl reads them) into `sink`, accepting at most `limit` body bytes. Gives up when no byte
/// arrives for `idle_timeout_seconds`, or connecting takes that long. `cancelled`, when not
/// NULL, is read atomically during the transfer (set it with merd_http_cancel from any
/// thread). Blocks until the transfer ends; merd_curl_open must have succeeded.
void merd_http_get(const char *url, long idle_timeout_seconds, int64_t limit, merd_http_sink *sink, int *cancelled,
                   merd_http_result *result);

/// Sets a transfer's `cancelled` flag (an atomic store); the transfer stops within about a second.
void merd_http_cancel(int *cancelled);
#endif
