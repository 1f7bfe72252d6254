// engine/ops.h: every differentiable op, for code that uses many of them (models, benches).
// Each family's header documents its arguments and shapes; include just that header where one suffices.
#pragma once

#include "engine/ops/attention.h"    // self_attention
#include "engine/ops/cast.h"         // cast (differentiable dtype conversion)
#include "engine/ops/dropout.h"      // dropout (Philox mask shared with the GPU)
#include "engine/ops/elementwise.h"  // add, mul, scale, tanh, relu, sigmoid, gelu
#include "engine/ops/embedding.h"    // embedding
#include "engine/ops/layernorm.h"    // layer_norm
#include "engine/ops/linear.h"       // linear, matmul
#include "engine/ops/loss.h"         // cross_entropy, bce_with_logits, kl_div_softmax, kl_div_bernoulli, mse
#include "engine/ops/lstm.h"         // lstm_layer
#include "engine/ops/pool.h"         // masked_max_pool
#include "engine/ops/shape.h"        // concat, slice
#include "engine/ops/softmax.h"      // softmax, log_softmax
