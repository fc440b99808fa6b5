#ifndef MERD_CONEDNN_SHIM_H
#define MERD_CONEDNN_SHIM_H
// oneDNN's C API (Debian's libdnnl-dev 2.6: /usr/include/oneapi/dnnl/dnnl.h). Debian ships no
// pkg-config module for it, so the module map links `dnnl` by name. Debian's build runs its
// parallel regions on GNU OpenMP (libgomp), which is why merd sets the OpenMP thread count and
// wait policy (NeuralKit's ComputeThreads).
#include <oneapi/dnnl/dnnl.h>

// GNU OpenMP's thread-count calls (omp.h comes with GCC, not in the default include path of
// Swift's clang), declared here so merd can give oneDNN the same thread budget as OpenBLAS.
int omp_get_max_threads(void);
void omp_set_num_threads(int count);
#endif
