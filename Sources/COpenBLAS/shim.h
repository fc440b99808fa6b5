#ifndef MERD_COPENBLAS_SHIM_H
#define MERD_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface; Debian puts it in /usr/include/<triplet>/openblas-pthread/,
// which pkg-config's `openblas` module adds to the search path. It also declares
// openblas_set_num_threads and openblas_get_corename.
#include <cblas.h>
#endif
