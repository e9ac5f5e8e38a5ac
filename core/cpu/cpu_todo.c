/* duet — CPU kernels not written yet (replaced op family by op family). */
#include "cpu_kernels.h"

duet_status duet_cpu_elementwise(duet_cpu_ctx *c, const duet_op *op) { (void)c; (void)op; return DUET_ERR_UNSUPPORTED; }
duet_status duet_cpu_rowwise(duet_cpu_ctx *c, const duet_op *op) { (void)c; (void)op; return DUET_ERR_UNSUPPORTED; }
duet_status duet_cpu_attention(duet_cpu_ctx *c, const duet_op *op) { (void)c; (void)op; return DUET_ERR_UNSUPPORTED; }
duet_status duet_cpu_conv(duet_cpu_ctx *c, const duet_op *op) { (void)c; (void)op; return DUET_ERR_UNSUPPORTED; }
duet_status duet_cpu_layout(duet_cpu_ctx *c, const duet_op *op) { (void)c; (void)op; return DUET_ERR_UNSUPPORTED; }
