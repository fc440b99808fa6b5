#include "curl_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Calls go through the pointers below, never the header's names, so nothing here links
// against libcurl; the header gives the types, options and codes.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

// libcurl's ABI has been .so.4 since 7.16 (2006); the options set below need 7.85.
static const char soname[] = "libcurl.so.4";
#define MINIMUM_VERSION 0x075500
#define MINIMUM_VERSION_TEXT "7.85.0"

static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    curl_version_info_data *(*version_info)(CURLversion version);
} api;

// Set once everything above is resolved and libcurl initialised; a failed open is tried
// again on the next call (the reason is the caller's to report), which a mutex keeps from racing.
static _Atomic int opened;
static pthread_mutex_t opening = PTHREAD_MUTEX_INITIALIZER;

const char *merd_curl_soname(void) { return soname; }

int merd_curl_is_open(void) { return atomic_load(&opened); }

static int resolve(void *handle, const char *name, void **slot, char *reason, size_t size) {
    *slot = dlsym(handle, name);
    if (*slot == NULL) {
        snprintf(reason, size, "%s has no %s", soname, name);
        return -1;
    }
    return 0;
}

int merd_curl_open(char *reason, size_t size) {
    if (atomic_load_explicit(&opened, memory_order_acquire)) return 0;
    pthread_mutex_lock(&opening);
    int status = 0;
    if (!atomic_load(&opened)) {
        // RTLD_LOCAL: libcurl's symbols (and those of the TLS library it brings) stay out of
        // the global scope, where they could meet libcrypto's, which merd links for hashing.
        void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            const char *error = dlerror();
            snprintf(reason, size, "%s", error ? error : "unknown error");
            status = -1;
        } else if (resolve(handle, "curl_global_init", (void **)&api.global_init, reason, size) != 0
                   || resolve(handle, "curl_easy_init", (void **)&api.easy_init, reason, size) != 0
                   || resolve(handle, "curl_easy_setopt", (void **)&api.easy_setopt, reason, size) != 0
                   || resolve(handle, "curl_easy_perform", (void **)&api.easy_perform, reason, size) != 0
                   || resolve(handle, "curl_easy_getinfo", (void **)&api.easy_getinfo, reason, size) != 0
                   || resolve(handle, "curl_easy_cleanup", (void **)&api.easy_cleanup, reason, size) != 0
                   || resolve(handle, "curl_easy_strerror", (void **)&api.easy_strerror, reason, size) != 0
                   || resolve(handle, "curl_version_info", (void **)&api.version_info, reason, size) != 0) {
            dlclose(handle);
            status = -1;
        } else {
            const curl_version_info_data *version = api.version_info(CURLVERSION_NOW);
            CURLcode initialised;
            if (version == NULL || version->version_num < MINIMUM_VERSION) {
                snprintf(reason, size, "libcurl %s is older than %s, which merd needs", version ? version->version : "(unknown)",
                         MINIMUM_VERSION_TEXT);
                status = -1;
            } else if ((initialised = api.global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
                snprintf(reason, size, "libcurl did not initialise: %s", api.easy_strerror(initialised));
                status = -1;
            }
            // On failure the handle stays open: libcurl may have started initialising, and
            // a library that registered handlers must not be unmapped under them.
            if (status == 0) atomic_store_explicit(&opened, 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&opening);
    return status;
}

typedef struct {
    merd_http_sink *sink;
    int64_t limit;
    int64_t received;
    int too_large;
    int system_error;
    int *cancelled;
} transfer;

static size_t receive(char *data, size_t size, size_t count, void *context) {
    transfer *t = context;
    size_t bytes = size * count;
    if (t->received + (int64_t)bytes > t->limit) {
        t->too_large = 1;
        t->received += (int64_t)bytes;  // what had arrived, for the message
        return 0;  // fewer bytes than given: libcurl stops with CURLE_WRITE_ERROR
    }
    merd_http_sink *sink = t->sink;
    if (sink->fd >= 0) {
        size_t written = 0;
        while (written < bytes) {
            ssize_t n = write(sink->fd, data + written, bytes - written);
            if (n < 0) {
                if (errno == EINTR) continue;
                t->system_error = errno;
                return 0;
            }
            written += (size_t)n;
        }
    } else {
        if (sink->count + bytes > sink->capacity) {
            size_t capacity = sink->capacity ? sink->capacity : 65536;
            while (capacity < sink->count + bytes) capacity *= 2;
            unsigned char *grown = realloc(sink->bytes, capacity);
            if (grown == NULL) {
                t->system_error = ENOMEM;
                return 0;
            }
            sink->bytes = grown;
            sink->capacity = capacity;
        }
        memcpy(sink->bytes + sink->count, data, bytes);
        sink->count += bytes;
    }
    t->received += (int64_t)bytes;
    return bytes;
}

static int progress(void *context, curl_off_t download_total, curl_off_t downloaded, curl_off_t upload_total, curl_off_t uploaded) {
    (void)download_total, (void)downloaded, (void)upload_total, (void)uploaded;
    transfer *t = context;
    return t->cancelled != NULL && atomic_load((_Atomic int *)t->cancelled);
}

void merd_http_cancel(int *cancelled) { atomic_store((_Atomic int *)cancelled, 1); }

// Failures of the network or the host, as opposed to what merd asked for.
static int is_unreachable(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

void merd_http_get(const char *url, long idle_timeout_seconds, int64_t limit, merd_http_sink *sink, int *cancelled,
                   merd_http_result *result) {
    memset(result, 0, sizeof *result);
    result->content_length = -1;
    if (!atomic_load_explicit(&opened, memory_order_acquire)) {
        result->outcome = merd_http_failed;
        snprintf(result->reason, sizeof result->reason, "%s is not open", soname);
        return;
    }
    CURL *curl = api.easy_init();
    if (curl == NULL) {
        result->outcome = merd_http_failed;
        snprintf(result->reason, sizeof result->reason, "libcurl could not make a transfer");
        return;
    }
    transfer t = {.sink = sink, .limit = limit, .cancelled = cancelled};
    char error[CURL_ERROR_SIZE] = "";
    // Each option with the type libcurl reads for it (long, pointer, function, curl_off_t):
    // the call is variadic, so nothing converts them.
    CURLcode code = CURLE_OK;
#define SET(option, value) \
    if (code == CURLE_OK) code = api.easy_setopt(curl, option, value)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_ERRORBUFFER, error);
    SET(CURLOPT_NOSIGNAL, 1L);  // merd is threaded: no SIGALRM for DNS timeouts
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 1L);  // the hub answers a file with a redirect to its CDN
    SET(CURLOPT_MAXREDIRS, 10L);
    SET(CURLOPT_FAILONERROR, 1L);  // an error page is a status, never a body in the sink
    SET(CURLOPT_CONNECTTIMEOUT, idle_timeout_seconds);
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);  // less than a byte a second …
    SET(CURLOPT_LOW_SPEED_TIME, idle_timeout_seconds);  // … for this long ends the transfer
    SET(CURLOPT_USERAGENT, "merd (libcurl)");
    SET(CURLOPT_WRITEFUNCTION, receive);
    SET(CURLOPT_WRITEDATA, (void *)&t);
    SET(CURLOPT_XFERINFOFUNCTION, progress);
    SET(CURLOPT_XFERINFODATA, (void *)&t);
    SET(CURLOPT_NOPROGRESS, 0L);
#undef SET
    if (code == CURLE_OK) code = api.easy_perform(curl);
    long status = 0;
    curl_off_t length = -1;
    api.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    api.easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    api.easy_cleanup(curl);
    result->status = status;
    result->content_length = length;
    result->received = t.received;
    result->system_error = t.system_error;
    snprintf(result->reason, sizeof result->reason, "%s", error[0] ? error : api.easy_strerror(code));
    if (code == CURLE_OK) {
        result->outcome = merd_http_complete;
    } else if (code == CURLE_HTTP_RETURNED_ERROR) {
        result->outcome = merd_http_status_error;
    } else if (code == CURLE_WRITE_ERROR && t.too_large) {
        result->outcome = merd_http_too_large;
    } else if (code == CURLE_WRITE_ERROR && t.system_error != 0) {
        result->outcome = merd_http_write_failed;
        snprintf(result->reason, sizeof result->reason, "%s", strerror(t.system_error));
    } else if (code == CURLE_ABORTED_BY_CALLBACK) {
        result->outcome = merd_http_cancelled;
    } else if (code == CURLE_PARTIAL_FILE || (t.received > 0 && is_unreachable(code))) {
        // Part of the body came: an interrupted download rather than an unreachable host.
        result->outcome = merd_http_partial;
    } else if (is_unreachable(code)) {
        result->outcome = merd_http_unreachable;
    } else {
        result->outcome = merd_http_failed;
    }
}
