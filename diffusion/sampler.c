/* duet — UniPC (order 2, bh2, x0 prediction) and Euler samplers over core ops (see sampler.h).
 * Mirrors ovi/utils/fm_solvers_unipc.py FlowUniPCMultistepScheduler.step,
 * multistep_uni_p_bh_update and multistep_uni_c_bh_update through the project's restatement
 * tools/duet_tiny/schedulers.py: each update is written as one linear combination of the
 * sample and the stored x0 predictions whose scalar coefficients are worked out on the host
 * in double. */
#include "diffusion/sampler.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/ops.h"
#include "diffusion/schedule.h"

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

enum { UNIPC_ORDER = 2, MAX_TERMS = 4 };

struct duet_sampler {
    duet_solver solver;
    int n_steps;
    int i;                  /* steps taken */
    int64_t *timesteps;     /* [n_steps] */
    float *sigmas;          /* [n_steps + 1] */
    duet_backend *be;
    duet_arena *arena;      /* the tensors below and their buffers */
    int n_dims;
    int64_t ne[DUET_MAX_DIMS];
    duet_tensor *tmp;       /* scratch for one scaled term */
    /* UniPC: three x0 slots rotate: hist[old] = model_outputs[-2], hist[cur] =
     * model_outputs[-1], hist[spare] receives the incoming x0. */
    duet_tensor *hist[3];
    int old, cur, spare;
    duet_tensor *last;      /* last_sample: the (corrected) sample the predictor started from */
    int lower_order_nums;   /* x0 predictions stored, capped at the order */
    int this_order;         /* order of the last predictor step (the next corrector's) */
};

const char *duet_solver_name(duet_solver s) {
    switch (s) {
    case DUET_SOLVER_UNIPC: return "unipc";
    case DUET_SOLVER_EULER: return "euler";
    default: return "?";
    }
}

duet_status duet_solver_parse(const char *name, duet_solver *out) {
    for (int k = 0; name && k < DUET_SOLVER_COUNT; k++) {
        if (!strcmp(name, duet_solver_name((duet_solver)k))) {
            *out = (duet_solver)k;
            return DUET_OK;
        }
    }
    DUET_LOGE("sampler: unknown solver \"%s\" (unipc or euler)", name ? name : "(null)");
    return DUET_ERR_INVALID_ARG;
}

void duet_sampler_reset(duet_sampler *s) {
    if (!s) return;
    s->i = 0;
    s->lower_order_nums = 0;
    s->this_order = 1;
    s->old = 0, s->cur = 1, s->spare = 2;
}

void duet_sampler_free(duet_sampler **s) {
    if (!s || !*s) return;
    duet_arena_free(&(*s)->arena);
    duet_free((*s)->timesteps);
    duet_free((*s)->sigmas);
    duet_free(*s);
    *s = NULL;
}

/* Every sigma the solvers divide by or take logs of lies in (0, 1). */
static bool sigmas_usable(const duet_sampler *s) {
    for (int i = 0; i < s->n_steps; i++)
        if (!(s->sigmas[i] > 0.0f && s->sigmas[i] < 1.0f)) return false;
    return true;
}

static duet_status alloc_state(duet_sampler *s) {
    s->arena = duet_arena_new(0);
    if (!s->arena) return DUET_ERR_OUT_OF_MEMORY;
    const int n_hist = s->solver == DUET_SOLVER_UNIPC ? 3 : 0;
    duet_tensor **slots[5] = {&s->tmp, &s->last, &s->hist[0], &s->hist[1], &s->hist[2]};
    static const char *const names[5] = {"sampler.tmp", "sampler.last_sample", "sampler.x0.0",
                                         "sampler.x0.1", "sampler.x0.2"};
    for (int k = 0; k < (n_hist ? 5 : 1); k++) {
        *slots[k] = duet_tensor_new(s->arena, s->be, DUET_F32, s->n_dims, s->ne);
        if (!*slots[k]) return DUET_ERR_OUT_OF_MEMORY;
        duet_tensor_set_name(*slots[k], names[k]);
    }
    return DUET_OK;
}

duet_status duet_sampler_new(duet_backend *be, duet_solver solver, int n_steps, double shift,
                             int n_dims, const int64_t *ne, duet_sampler **out) {
    if (out) *out = NULL;
    bool ok = be && out && ne && (unsigned)solver < DUET_SOLVER_COUNT && n_dims >= 1 &&
              n_dims <= DUET_MAX_DIMS;
    for (int d = 0; ok && d < n_dims; d++) ok = ne[d] >= 1;
    if (!ok) {
        DUET_LOGE("sampler: invalid arguments (backend, solver %d, %d dims, output)",
                  (int)solver, n_dims);
        return DUET_ERR_INVALID_ARG;
    }
    TRY(duet_schedule_shifted(n_steps, shift, NULL, NULL));
    duet_sampler *s = duet_calloc(1, sizeof *s);
    if (!s) return DUET_ERR_OUT_OF_MEMORY;
    s->solver = solver;
    s->n_steps = n_steps;
    s->be = be;
    s->n_dims = n_dims;
    for (int d = 0; d < DUET_MAX_DIMS; d++) s->ne[d] = d < n_dims ? ne[d] : 1;
    duet_sampler_reset(s);
    s->timesteps = duet_malloc((size_t)n_steps * sizeof *s->timesteps);
    s->sigmas = duet_malloc((size_t)(n_steps + 1) * sizeof *s->sigmas);
    duet_status st = s->timesteps && s->sigmas ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
    if (st == DUET_OK) st = duet_schedule_shifted(n_steps, shift, s->timesteps, s->sigmas);
    if (st == DUET_OK && !sigmas_usable(s)) {
        DUET_LOGE("sampler: shift %g puts a sigma at 1 in float32 (%d steps)", shift, n_steps);
        st = DUET_ERR_INVALID_ARG;
    }
    if (st == DUET_OK) st = alloc_state(s);
    if (st != DUET_OK) {
        duet_sampler_free(&s);
        return st;
    }
    *out = s;
    return DUET_OK;
}

int duet_sampler_n_steps(const duet_sampler *s) { return s ? s->n_steps : 0; }
int duet_sampler_step_index(const duet_sampler *s) { return s ? s->i : 0; }

int64_t duet_sampler_timestep(const duet_sampler *s, int i) {
    return s && i >= 0 && i < s->n_steps ? s->timesteps[i] : -1;
}

float duet_sampler_sigma(const duet_sampler *s, int i) {
    return s && i >= 0 && i <= s->n_steps ? s->sigmas[i] : -1.0f;
}

/* ---------------------------------------------------------------- tensor arithmetic */

/* dst = sum c[k] src[k]. dst may be src[0] but no later source. */
static duet_status lincomb(duet_tensor *dst, duet_tensor *tmp, int n, const duet_tensor **src,
                           const double *c) {
    for (int k = 1; k < n; k++) DUET_ASSERT(dst != src[k]);
    TRY(duet_scale(dst, src[0], (float)c[0], 0.0f));
    for (int k = 1; k < n; k++) {
        TRY(duet_scale(tmp, src[k], (float)c[k], 0.0f));
        TRY(duet_add(dst, dst, tmp));
    }
    return DUET_OK;
}

/* ---------------------------------------------------------------- UniPC coefficients */

/* log-SNR of flow matching: alpha = 1 - sigma. Finite: 0 < sigma < 1 here. */
static double lambda_of(float sigma) {
    return log(1.0 - (double)sigma) - log((double)sigma);
}

typedef struct {
    double ratio;   /* sigma_t / sigma_s0 */
    double alpha_t; /* 1 - sigma_t */
    double h_phi_1; /* expm1(-h), also B(h) for bh2 */
    double hh;      /* -h */
    double rk;      /* (lambda(sigma_prev) - lambda(sigma_s0)) / h, order 2 only */
} unipc_terms;

static unipc_terms terms(float sigma_t, float sigma_s0, float sigma_prev, int order) {
    unipc_terms u;
    const double l0 = lambda_of(sigma_s0), h = lambda_of(sigma_t) - l0;
    u.ratio = (double)sigma_t / (double)sigma_s0;
    u.alpha_t = 1.0 - (double)sigma_t;
    u.hh = -h;
    u.h_phi_1 = expm1(u.hh);
    u.rk = order == 2 ? (lambda_of(sigma_prev) - l0) / h : 1.0;
    return u;
}

/* UniC corrector: the sample at sigma[i] recomputed from last_sample (at sigma[i-1]) with the
 * new x0 (hist[spare]), written to x. rho solves R rho = b with R rows rk^(k-1) (rks = [rk,
 * 1]) and b_k = h phi_k(h) k! / B(h) (multistep_uni_c_bh_update); order 1 uses rho = 0.5. */
static duet_status correct(duet_sampler *s, duet_tensor *x) {
    const int order = s->this_order, i = s->i;
    const unipc_terms u = terms(s->sigmas[i], s->sigmas[i - 1],
                                order == 2 ? s->sigmas[i - 2] : 0.0f, order);
    const double b_h = u.h_phi_1;
    double rho_prev = 0.0, rho_new = 0.5;
    if (order == 2) {
        const double phi_2 = u.h_phi_1 / u.hh - 1.0;       /* k = 1, factorial 1 */
        const double phi_3 = phi_2 / u.hh - 0.5;            /* k = 2, factorial 2 */
        const double b1 = phi_2 / b_h, b2 = phi_3 * 2.0 / b_h;
        /* [1 1; rk 1] [rho_prev rho_new]^T = [b1 b2]^T */
        rho_prev = (b1 - b2) / (1.0 - u.rk);
        rho_new = b1 - rho_prev;
    }
    /* x = ratio last - a h_phi_1 m0 - a B (rho_new (x0 - m0) + rho_prev (m_old - m0) / rk) */
    const double a_b = u.alpha_t * b_h;
    const duet_tensor *src[4] = {s->last, s->hist[s->cur], s->hist[s->spare], s->hist[s->old]};
    const double c[4] = {u.ratio, -u.alpha_t * u.h_phi_1 + a_b * (rho_new + rho_prev / u.rk),
                         -a_b * rho_new, -a_b * rho_prev / u.rk};
    return lincomb(x, s->tmp, order == 2 ? 4 : 3, src, c);
}

/* UniP predictor from s->last (at sigma[i]) to sigma[i+1], written to x; bh2 with
 * rhos_p = 0.5 at order 2 (multistep_uni_p_bh_update). At sigma 0 the sample is x0. */
static duet_status predict(duet_sampler *s, duet_tensor *x, int order) {
    const int i = s->i;
    const duet_tensor *m0 = s->hist[s->cur];
    if (s->sigmas[i + 1] == 0.0f) {
        DUET_ASSERT(order == 1); /* lower_order_final makes the last step first order */
        return duet_copy(x, m0);
    }
    const unipc_terms u = terms(s->sigmas[i + 1], s->sigmas[i],
                                order == 2 ? s->sigmas[i - 1] : 0.0f, order);
    const double a_b = u.alpha_t * u.h_phi_1;
    /* x = ratio last - a h_phi_1 m0 - a B 0.5 (m_old - m0) / rk */
    const double d = order == 2 ? 0.5 / u.rk : 0.0;
    const duet_tensor *src[3] = {s->last, m0, s->hist[s->old]};
    const double c[3] = {u.ratio, -a_b + a_b * d, -a_b * d};
    return lincomb(x, s->tmp, order == 2 ? 3 : 2, src, c);
}

static duet_status unipc_step(duet_sampler *s, const duet_tensor *v, duet_tensor *x) {
    /* x0 = x - sigma v (convert_model_output, flow_prediction) */
    duet_tensor *x0 = s->hist[s->spare];
    TRY(duet_scale(x0, v, -s->sigmas[s->i], 0.0f));
    TRY(duet_add(x0, x0, x));
    if (s->i > 0) TRY(correct(s, x));
    const int freed = s->old;
    s->old = s->cur, s->cur = s->spare, s->spare = freed;
    int order = s->n_steps - s->i < UNIPC_ORDER ? s->n_steps - s->i : UNIPC_ORDER;
    s->this_order = order < s->lower_order_nums + 1 ? order : s->lower_order_nums + 1;
    TRY(duet_copy(s->last, x));
    TRY(predict(s, x, s->this_order));
    if (s->lower_order_nums < UNIPC_ORDER) s->lower_order_nums++;
    return DUET_OK;
}

static duet_status euler_step(duet_sampler *s, const duet_tensor *v, duet_tensor *x) {
    const double ds = (double)s->sigmas[s->i + 1] - (double)s->sigmas[s->i];
    TRY(duet_scale(s->tmp, v, (float)ds, 0.0f));
    return duet_add(x, x, s->tmp);
}

static bool fits(const duet_sampler *s, const duet_tensor *t, bool contiguous) {
    bool ok = t && t->dtype == DUET_F32 && t->buf && t->buf->backend == s->be &&
              (!contiguous || duet_is_contiguous(t));
    for (int d = 0; ok && d < DUET_MAX_DIMS; d++) ok = t->ne[d] == s->ne[d];
    return ok;
}

duet_status duet_sampler_step(duet_sampler *s, const duet_tensor *v, duet_tensor *x) {
    if (!s || !fits(s, v, false) || !fits(s, x, true) || v->buf == x->buf) {
        char want[96] = "?", gv[96] = "NULL", gx[96] = "NULL";
        if (s) duet_shape_str(s->tmp, want, sizeof want);
        if (v) duet_shape_str(v, gv, sizeof gv);
        if (x) duet_shape_str(x, gx, sizeof gx);
        DUET_LOGE("sampler: v and x must be f32 %s on the sampler's backend, x contiguous, in "
                  "separate buffers; got v %s, x %s", want, gv, gx);
        return DUET_ERR_INVALID_ARG;
    }
    if (s->i >= s->n_steps) {
        DUET_LOGE("sampler: all %d steps already taken (reset to start again)", s->n_steps);
        return DUET_ERR_INVALID_ARG;
    }
    duet_status st = s->solver == DUET_SOLVER_UNIPC ? unipc_step(s, v, x) : euler_step(s, v, x);
    if (st == DUET_OK) s->i++;
    return st;
}
