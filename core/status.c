/* duet — status code names. */
#include "status.h"

const char *duet_status_str(duet_status s) {
    switch (s) {
    case DUET_OK: return "ok";
    case DUET_ERR_INVALID_ARG: return "invalid argument";
    case DUET_ERR_OUT_OF_MEMORY: return "out of host memory";
    case DUET_ERR_DEVICE_OOM: return "out of device memory";
    case DUET_ERR_IO: return "i/o error";
    case DUET_ERR_FORMAT: return "malformed file";
    case DUET_ERR_UNSUPPORTED: return "unsupported";
    case DUET_ERR_BACKEND: return "backend error";
    case DUET_ERR_NOT_FOUND: return "not found";
    case DUET_ERR_CANCELLED: return "cancelled";
    case DUET_STATUS_COUNT_: break;
    }
    return "unknown status";
}
