/* duet — Ovi's shifted flow-matching schedule (see schedule.h for the formulas and upstream:
 * ovi/utils/fm_solvers_unipc.py set_timesteps, tools/duet_tiny/schedulers.py). The arithmetic
 * is numpy's, operation for operation, so that timesteps truncate exactly as upstream's do. */
#include "diffusion/schedule.h"

#include <math.h>

#include "core/log.h"

duet_status duet_schedule_shifted(int n_steps, double shift, int64_t *timesteps, float *sigmas) {
    if (n_steps < 1 || n_steps > DUET_SCHEDULE_MAX_STEPS || !isfinite(shift) || !(shift > 0)) {
        DUET_LOGE("schedule: need 1 to %d steps and a finite shift > 0; got %d steps, shift %g",
                  DUET_SCHEDULE_MAX_STEPS, n_steps, shift);
        return DUET_ERR_INVALID_ARG;
    }
    /* The unshifted table's first entry: 1 - 1/1000 stored as float32 (upstream's
     * sigmas = (1 - alphas).float32(), sigma_max = sigmas[0]). */
    const double sigma_max = (double)(float)(1.0 - 1.0 / DUET_SCHEDULE_TRAIN_STEPS);
    /* numpy linspace(start, stop, num): step = (stop - start) / (num - 1); y = i * step + start.
     * C11 (not GNU C) keeps gcc from fusing i * step + start into one rounding. */
    const double step = (0.0 - sigma_max) / (double)n_steps;
    for (int i = 0; i < n_steps; i++) {
        double s = (double)i * step;
        s = s + sigma_max;
        const double shifted = (shift * s) / (1.0 + (shift - 1.0) * s);
        if (timesteps) timesteps[i] = (int64_t)(shifted * DUET_SCHEDULE_TRAIN_STEPS);
        if (sigmas) sigmas[i] = (float)shifted;
    }
    if (sigmas) sigmas[n_steps] = 0.0f;
    return DUET_OK;
}
