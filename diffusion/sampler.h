/* duet — flow-matching samplers: from the DiT's velocity at one step of the schedule
 * (diffusion/schedule.h) to the sample at the next. One sampler per modality: Ovi runs a video
 * scheduler and an audio scheduler side by side (ovi_fusion_engine.py generate), and the loop in
 * diffusion/generate.h does the same.
 *
 * The model predicts the flow v = noise - x0 of x_t = (1 - sigma) x0 + sigma noise.
 *   Euler: x <- x + (sigma[i+1] - sigma[i]) v.
 *   UniPC: Ovi's FlowUniPCMultistepScheduler (ovi/utils/fm_solvers_unipc.py; the project's
 *     statement tools/duet_tiny/schedulers.py UniPCSampler) with solver_order 2, solver_type
 *     bh2, predict_x0, lower_order_final, no disabled corrector steps, final sigma 0. Per step
 *     i: x0 = x - sigma[i] v; from step 1 on the UniC corrector recomputes the incoming sample
 *     from the previous one with the new x0 (order of the previous predictor); then the UniP
 *     predictor steps to sigma[i+1] with order min(2, steps left, steps done + 1) (first step and
 *     last step first order; at sigma 0 the result is x0 itself).
 * The coefficients (log-SNR lambda = ln(1 - sigma) - ln sigma, h, expm1(-h), rho) are computed
 * in double from the float32 sigmas, as schedulers.py does (upstream evaluates them in float32
 * tensors; the difference is below 1e-6 relative); the tensor arithmetic is f32 on the backend,
 * with core ops (scale, add, copy). Every state tensor is allocated when the sampler is created;
 * a step allocates nothing. */
#ifndef DUET_SAMPLER_H
#define DUET_SAMPLER_H

#include <stdint.h>

#include "core/backend.h"
#include "core/status.h"
#include "core/tensor.h"

typedef enum {
    DUET_SOLVER_UNIPC = 0, /* "unipc": Ovi's default */
    DUET_SOLVER_EULER = 1, /* "euler" */
    DUET_SOLVER_COUNT = 2,
} duet_solver;

/* "unipc" / "euler"; "?" for values out of range. */
const char *duet_solver_name(duet_solver s);
/* Parses a solver name; DUET_ERR_INVALID_ARG (logged with the name) if unknown. */
duet_status duet_solver_parse(const char *name, duet_solver *out);

typedef struct duet_sampler duet_sampler;

/* Creates a sampler for latents of shape ne[0..n_dims-1] (innermost first) on `be`, with the
 * shifted schedule of n_steps and shift (duet_schedule_shifted). UniPC keeps four f32 tensors
 * of that shape (the last two x0 predictions, an incoming one, the previous sample) and one
 * scratch; Euler only the scratch. Returns DUET_OK, DUET_ERR_INVALID_ARG (logged),
 * DUET_ERR_OUT_OF_MEMORY; *out is NULL on failure. `be` must outlive the sampler. */
duet_status duet_sampler_new(duet_backend *be, duet_solver solver, int n_steps, double shift,
                             int n_dims, const int64_t *ne, duet_sampler **out);
/* Accepts NULL; clears *s. */
void duet_sampler_free(duet_sampler **s);
/* Back to step 0 with the same schedule (history forgotten). */
void duet_sampler_reset(duet_sampler *s);

int duet_sampler_n_steps(const duet_sampler *s);
/* Steps taken since creation or reset (0..n_steps). */
int duet_sampler_step_index(const duet_sampler *s);
/* The schedule: timestep i (0 <= i < n_steps) as given to the DiT, and sigma i
 * (0 <= i <= n_steps; sigma n_steps is 0). Out of range: -1. */
int64_t duet_sampler_timestep(const duet_sampler *s, int i);
float duet_sampler_sigma(const duet_sampler *s, int i);

/* One step: v is the model's (guided) velocity at the current step's sigma for the sample x;
 * x is replaced by the sample at the next sigma. v (f32, any strides) and x (f32, contiguous)
 * have the sampler's shape, live on its backend and must not share a buffer. Ops are recorded
 * on the backend (results visible after a sync or download). Returns DUET_OK,
 * DUET_ERR_INVALID_ARG (shapes, or every step already taken; logged) or the failing op's
 * status; after an op failed the sampler's state is undefined until duet_sampler_reset.
 * Not thread-safe. */
duet_status duet_sampler_step(duet_sampler *s, const duet_tensor *v, duet_tensor *x);

#endif
