/* duet — status codes shared by every module.
 * One closed enum: DUET_OK is zero, every error is negative. New values go at the end,
 * before DUET_STATUS_COUNT_ (a sentinel, never returned). */
#ifndef DUET_STATUS_H
#define DUET_STATUS_H

typedef enum {
    DUET_OK = 0,
    DUET_ERR_INVALID_ARG = -1,   /* a caller passed something the API does not accept */
    DUET_ERR_OUT_OF_MEMORY = -2, /* host allocation failed */
    DUET_ERR_DEVICE_OOM = -3,    /* device allocation failed or exceeds a device limit */
    DUET_ERR_IO = -4,            /* open/read/write/mmap failed */
    DUET_ERR_FORMAT = -5,        /* a file is malformed */
    DUET_ERR_UNSUPPORTED = -6,   /* valid, but not supported by this build/backend/device */
    DUET_ERR_BACKEND = -7,       /* the backend (Vulkan driver, BLAS) reported a failure */
    DUET_ERR_NOT_FOUND = -8,     /* a named thing (tensor, device, file) does not exist */
    DUET_ERR_CANCELLED = -9,     /* a callback asked to stop */
    DUET_STATUS_COUNT_ = -10,
} duet_status;

/* Human-readable name of a status; never NULL. Thread-safe. */
const char *duet_status_str(duet_status s);

#endif
