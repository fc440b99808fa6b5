#ifndef MERD_SYSTEM_SHIMS_H
#define MERD_SYSTEM_SHIMS_H
// glibc and kernel calls Swift's Glibc module does not import (malloc.h, sd_notify's socket).
#include <stddef.h>

/// Keeps freed blocks below `mmap_threshold` bytes in the heap and trims only above
/// `trim_threshold` (mallopt M_MMAP_THRESHOLD / M_TRIM_THRESHOLD). Returns 0 on failure.
int merd_malloc_keep_freed(size_t mmap_threshold, size_t trim_threshold);
#endif
