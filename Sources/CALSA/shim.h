#ifndef MERD_CALSA_SHIM_H
#define MERD_CALSA_SHIM_H
// libasound's PCM API (Debian: libasound2-dev).
#include <alsa/asoundlib.h>
#endif
