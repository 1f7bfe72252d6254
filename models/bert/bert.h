// models/bert/bert.h: the BERT encoder (HF BertModel: embeddings, post-LN transformer layers, pooler) on the
// engine's ops, with HF checkpoint loading.
//
// Parameters are registered under exactly the names of HF's BertModel state dict (no "bert." prefix), e.g.
// "encoder.layer.0.attention.self.query.weight", with HF's (OUT, IN) layouts, so a checkpoint maps 1:1 onto
// params() and save_pretrained() writes files transformers loads. The query, key and value projections stay
// three separate parameters; forward() stacks them into the (3C, C) weight the fused self_attention op wants
// (a copy of 3C*C weights per layer and call, small next to the (B*T, C) x (C, 3C) GEMM it feeds), so there
// is no name or layout mapping to keep in sync between the registry and checkpoints.
//
// Devices: a model is built and loaded on the host, then moved once with to(device); forward() computes where the
// parameters are and takes its index inputs (ids, token types, mask) on the host or on that device. A model on
// CUDA is f32 (the CUDA ops compute in f32, never f64).
#pragma once

#include "engine/parameters.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "models/bert/config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace docbert::bert {

struct BertOutput {
  Tensor last_hidden_state;  // (B, T, C) the last layer's output, padded positions included (as in HF)
  Tensor pooled;             // (B, C) tanh(pooler.dense(last_hidden_state[:, 0])): the [CLS] summary
};

// What load_hf_weights found besides the model's tensors.
struct LoadReport {
  int64_t loaded = 0;               // parameters written (always params().size() on success)
  std::vector<std::string> unused;  // file tensors matching no parameter, in file order: MLM/NSP heads "cls.*",
                                    // the "embeddings.position_ids" buffer, a task head's "classifier.*"
};

class BertModel {
 public:
  // A randomly initialised model, as HF's _init_weights: weights and embedding tables ~ N(0,
  // initializer_range) (the pad_token_id row of the word table then zeroed), biases 0, LayerNorm weight 1 and
  // bias 0. Draws come from RngStream{seed, 0} in registration order, so a seed fixes every value.
  //   dtype  f32 (training and inference) or f64 (gradient checks)
  BertModel(const BertConfig& config, uint64_t seed, DType dtype = DType::F32);

  // Reads dir/config.json (BertConfig::from_json_file) and dir/model.safetensors (load_hf_weights), the layout
  // transformers' save_pretrained writes for a BertModel or any Bert*For* task model ("bert." prefixed names).
  //   report  when given, receives the load report (e.g. the unused "cls.*" heads)
  //   dtype   of the parameters; the file's F32/F16/BF16/F64 tensors are converted
  static BertModel from_pretrained(const std::string& dir, LoadReport* report = nullptr, DType dtype = DType::F32);
  // Writes dir/config.json and dir/model.safetensors (HF names, no prefix, each tensor in its own dtype); the
  // folder is created when missing. transformers' BertModel.from_pretrained(dir) reads it back. Works from any
  // device (the weights are copied to the host for writing); load on the host, then to(device).
  void save_pretrained(const std::string& dir) const;

  // Moves every parameter to `device` in place (ParameterRegistry::to): the handles the model and its callers hold
  // follow, gradients are dropped; a no-op when they are there already. An f64 model cannot go to CUDA (error).
  void to(Device device);
  // Where the parameters are, hence where forward() computes.
  Device device() const { return params_.device(); }

  // The encoder.
  //   ids             (B, T) i32/i64 token ids in [0, V); 1 <= T <= max_position_embeddings
  //   token_type_ids  (B, T) i32/i64 segment ids in [0, type_vocab_size), or undefined for all zeros
  //   attention_mask  (B, T) i32/i64 of 1 (real token) and 0 (padding), or undefined for all ones. It becomes
  //                   the additive key mask (1 - m) * lowest(dtype), as HF (torch.finfo(dtype).min); for any
  //                   query row with one real key the softmax is then the same as with BERT's original
  //                   -10000: exp of either underflows to exactly 0, so padding contributes nothing. The mask is
  //                   built on the host (B*T values) and uploaded to device().
  //   training        applies dropout (embeddings, attention probabilities, both sub-layer outputs)
  //   rng             dropout stream, required when training: each dropout call reserves its own counters with
  //                   rng->take(numel), so consecutive steps never reuse a mask. Untouched when not training.
  // Each index tensor may be on the host or on device(). Positions are 0..T-1. The outputs are on device().
  // Differentiable in every parameter.
  BertOutput forward(const Tensor& ids, const Tensor& token_type_ids = Tensor(),
                     const Tensor& attention_mask = Tensor(), bool training = false, RngStream* rng = nullptr) const;

  const BertConfig& config() const { return config_; }
  DType dtype() const { return dtype_; }
  ParameterRegistry& params() { return params_; }
  const ParameterRegistry& params() const { return params_; }

 private:
  struct Layer {
    Tensor q_w, q_b, k_w, k_b, v_w, v_b;  // attention.self.{query,key,value}: (C,C), (C)
    Tensor attn_out_w, attn_out_b;        // attention.output.dense: (C,C), (C)
    Tensor attn_ln_w, attn_ln_b;          // attention.output.LayerNorm: (C), (C)
    Tensor ffn_in_w, ffn_in_b;            // intermediate.dense: (I,C), (I)
    Tensor ffn_out_w, ffn_out_b;          // output.dense: (C,I), (C)
    Tensor ffn_ln_w, ffn_ln_b;            // output.LayerNorm: (C), (C)
  };

  // Registers every parameter with HF's shape (zeros, LayerNorm weights one) and no random draw.
  BertModel(const BertConfig& config, DType dtype);
  // x (B,T,C) -> (B,T,C); mask_add (B,T) additive over keys.
  Tensor layer_forward(const Layer& l, const Tensor& x, const Tensor& mask_add, bool training, RngStream* rng) const;

  BertConfig config_;
  DType dtype_;
  ParameterRegistry params_;
  Tensor word_emb_, pos_emb_, type_emb_, emb_ln_w_, emb_ln_b_;  // (V,C), (P,C), (TV,C), (C), (C)
  std::vector<Layer> layers_;
  Tensor pooler_w_, pooler_b_;  // (C,C), (C)
};

// Copies an HF BERT checkpoint into `model`'s parameters. A file tensor named N is matched to parameter
// N, N without a leading "bert." (task models' prefix), and with a LayerNorm's "gamma"/"beta" read as
// "weight"/"bias" (TF-converted checkpoints). Float tensors (F32, F16, BF16, F64) are converted to the model's
// dtype (exactly, except F64 into f32, which rounds). Everything is checked before any parameter is written,
// so on an error the model is unchanged: a shape that differs from the config's (the error names the tensor,
// the parameter and both shapes), a non-float dtype, two file tensors for one parameter, and missing
// parameters (all of them listed in one error).
LoadReport load_hf_weights(BertModel& model, const SafetensorsFile& file);
LoadReport load_hf_weights(BertModel& model, const std::string& path);

}  // namespace docbert::bert
