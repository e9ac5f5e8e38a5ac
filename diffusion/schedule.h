/* duet — the flow-matching noise schedule of Ovi and Wan: N sampling steps from sigma ~ 1 (pure
 * noise) to 0 (clean), shifted towards high noise. The samplers (diffusion/sampler.h) step
 * along it; the DiT is given each step's timestep.
 *
 * Upstream: character-ai/Ovi ovi/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler built
 * with shift = 1 and set_timesteps(N, shift = s) (ovi_fusion_engine.py
 * get_scheduler_time_steps); the project's statement is tools/duet_tiny/schedulers.py
 * shifted_schedule. Bit for bit:
 *
 *   sigma_max = float32(1 - 1/1000)                   (the unshifted table's first entry)
 *   sigma[i]  = i * (-sigma_max / N) + sigma_max, i < N  (numpy linspace(sigma_max, 0, N + 1),
 *                                                     in double; the last point dropped)
 *   sigma'[i] = (s sigma[i]) / (1 + (s - 1) sigma[i])   (double)
 *   timestep[i] = trunc(sigma'[i] * 1000)            (int64; what the DiT is given)
 *   sigmas = float32(sigma'[0..N-1]), then 0         (N + 1 values; what the solvers use)
 *
 * MODELS.md writes the first point as 0.999; the source starts from 0.999 rounded to float32
 * (0.99900001...), which can move a truncated timestep by one. */
#ifndef DUET_SCHEDULE_H
#define DUET_SCHEDULE_H

#include <stdint.h>

#include "core/status.h"

/* The training timestep range: timesteps are sigma * 1000. */
#define DUET_SCHEDULE_TRAIN_STEPS 1000
/* A bound on n_steps that keeps every array small; far beyond any useful count. */
#define DUET_SCHEDULE_MAX_STEPS 100000

/* Fills timesteps[n_steps] and sigmas[n_steps + 1] (caller-owned) for n_steps in
 * 1..DUET_SCHEDULE_MAX_STEPS and a finite shift > 0 (Ovi 5.0, duet-tiny 2.0; 1 = unshifted).
 * Either array may be NULL. Returns DUET_OK or DUET_ERR_INVALID_ARG (logged). Thread-safe. */
duet_status duet_schedule_shifted(int n_steps, double shift, int64_t *timesteps, float *sigmas);

#endif
