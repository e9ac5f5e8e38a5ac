/* duet — shared test helpers (see harness.h). */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int duet_test_failures;

bool duet_test_close(const char *name, const float *got, const float *want, size_t n,
                     double max_nmse) {
    double num = 0, den = 0, worst = -1;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        bool gf = isfinite(got[i]), wf = isfinite(want[i]);
        if (gf != wf || (!gf && !(isnan(got[i]) && isnan(want[i])) && got[i] != want[i])) {
            fprintf(stderr, "FAIL %s: element %zu is %g, expected %g (non-finite mismatch)\n", name,
                    i, (double)got[i], (double)want[i]);
            duet_test_failures++;
            return false;
        }
        if (!gf) continue;
        double e = (double)got[i] - (double)want[i];
        num += e * e;
        den += (double)want[i] * want[i];
        if (fabs(e) > worst) {
            worst = fabs(e);
            wi = i;
        }
    }
    double nmse = num / (den > 1e-30 ? den : 1e-30);
    if (!(nmse <= max_nmse)) {
        fprintf(stderr, "FAIL %s: nmse %.3e > %.1e; worst element %zu: got %.7g, want %.7g\n",
                name, nmse, max_nmse, wi, (double)got[wi], (double)want[wi]);
        duet_test_failures++;
        return false;
    }
    return true;
}

void duet_test_fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

float *duet_test_rand(size_t n, uint64_t seed, float lo, float hi) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) abort();
    duet_test_fill(x, n, seed, lo, hi);
    return x;
}

int duet_test_backends(duet_backend **out, int max) {
    int n = 0;
    duet_backend_params p = duet_backend_default_params();
    p.kind = DUET_BACKEND_CPU;
    if (duet_backend_new(&p, &out[n]) != DUET_OK) {
        fprintf(stderr, "FAIL: cannot open the CPU backend\n");
        duet_test_failures++;
        return 0;
    }
    n++;
    if (n < max) {
        p.kind = DUET_BACKEND_VULKAN;
        p.validation = true;
        duet_status st = duet_backend_new(&p, &out[n]);
        if (st == DUET_OK) {
            n++;
        } else if (getenv("DUET_TEST_REQUIRE_VULKAN")) {
            fprintf(stderr, "FAIL: DUET_TEST_REQUIRE_VULKAN is set but Vulkan did not open: %s\n",
                    duet_status_str(st));
            duet_test_failures++;
        } else {
            fprintf(stderr, "note: Vulkan backend not available (%s); CPU only\n",
                    duet_status_str(st));
        }
    }
    for (int i = 0; i < n; i++) fprintf(stderr, "backend %d: %s\n", i, duet_backend_name(out[i]));
    return n;
}

int duet_test_end(duet_backend **bes, int n) {
    for (int i = 0; i < n; i++) {
        long v = duet_backend_validation_errors(bes[i]);
        if (v) {
            fprintf(stderr, "FAIL: %ld validation message(s) on %s\n", v, duet_backend_name(bes[i]));
            duet_test_failures++;
        }
        duet_backend_free(&bes[i]);
    }
    if (duet_test_failures) fprintf(stderr, "%d check(s) failed\n", duet_test_failures);
    else fprintf(stderr, "all checks passed on %d backend(s)\n", n);
    return duet_test_failures ? 1 : 0;
}

duet_tensor *duet_test_tensor(duet_arena *a, duet_backend *be, duet_dtype t, int n_dims,
                              const int64_t *ne, const float *data, const char *name) {
    duet_tensor *x = duet_tensor_new(a, be, t, n_dims, ne);
    if (!x) abort();
    duet_tensor_set_name(x, name);
    if (data && duet_tensor_upload(x, data, DUET_F32) != DUET_OK) abort();
    return x;
}
