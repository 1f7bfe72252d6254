// models/lstm_reg/lstm_reg.h: LSTM_reg (Adhikari et al., NAACL 2019), DocBERT's student, as hedwig's
// models/reg_lstm implements it:
//
//   x = embed(ids)                     (B, T, E)  word-type dropout on the table's rows when training
//   h = BiLSTM(x, lengths)             (B, T, D*H) packed by true length, forward then reverse, zeros at padding;
//                                      DropConnect on the hidden-to-hidden weights when training
//   v = max over t < len of relu(h)    (B, D*H)   (hedwig: ReLU on every output, then max_pool1d over time)
//   logits = fc1(dropout(v))           (B, K)
//   loss = CE or BCE + tar * mean((h_{t+1} - h_t)^2) + ar * mean(h^2)
//
// Parameters (registration order, which is also the init order and the checkpoint's tensor set):
//   "embed.weight"                                   (V, E)
//   "lstm.weight_ih_l0", "lstm.weight_hh_l0"         (4H, E), (4H, H)   PyTorch nn.LSTM names and layouts,
//   "lstm.bias_ih_l0", "lstm.bias_hh_l0"             (4H), (4H)         gates i, f, g, o (engine/ops/lstm.h)
//   the same four with "_reverse" when bidirectional
//   "fc1.weight", "fc1.bias"                         (K, D*H), (K)
// These are the state-dict names of a PyTorch module with hedwig's attributes embed / lstm / fc1 and no wrappers.
// hedwig's own checkpoints differ only in spelling: the table is "static_embed.weight" or "non_static_embed.weight"
// in its static and non-static modes, and its WeightDrop wrapper stores "lstm.module.weight_hh_l0_raw" (other
// LSTM tensors under "lstm.module."). docbert names the table "embed.weight" in every mode (freeze_embeddings says
// which) and keeps the raw weight under the plain name, since DropConnect is a function of the forward pass here.
//
// Init (PyTorch's defaults, as hedwig builds the modules): embed.weight U(-0.25, 0.25) (hedwig's rand mode; see
// embeddings_init.h for word2vec and teacher tables) with the pad row zero; every LSTM weight and bias
// U(-1/sqrt(H), 1/sqrt(H)) (nn.LSTM.reset_parameters); fc1.weight and fc1.bias U(-1/sqrt(D*H), 1/sqrt(D*H))
// (nn.Linear's kaiming_uniform_(a = sqrt 5) and its bias rule). Draws come from RngStream{seed, 0} in
// registration order, so a seed fixes every value.
//
// Randomness when training: each forward draws from the caller's RngStream in this order: the word-type mask
// (V words), DropConnect of weight_hh_l0 (4H*H), of weight_hh_l0_reverse (4H*H, "both" only), the classifier
// dropout (B*D*H); a draw whose probability is 0 reserves nothing. Masks follow engine/ops/dropout.h (keep iff
// uniform >= p, survivors scaled by 1/(1-p)).
//
// A saved model is dir/config.json (LstmRegConfig) + dir/model.safetensors. The word vocabulary (or the WordPiece
// vocab.txt) that gives the ids meaning is the trainer's business: it writes it beside these two files.
//
// Devices: a model is built, loaded and given its word vectors on the host, then moved once with to(device);
// forward() computes where the parameters are and takes ids, lengths and labels on the host or on that device.
// A model on CUDA is f32.
#pragma once

#include "engine/parameters.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "models/lstm_reg/config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace docbert::lstm_reg {

// What forward() computes: the logits, and the BiLSTM outputs the TAR/AR terms of loss() need.
struct LstmRegOutput {
  Tensor logits;   // (B, K)
  Tensor rnn_out;  // (B, T', D*H) the BiLSTM outputs before the ReLU, forward direction first, zeros at t >= len:
                   // pad_packed_sequence's output, so T' = max(lengths) (forward() drops longer padding first)
};

class LstmReg {
 public:
  // A randomly initialised model (see the top of this file).
  //   config  validated; empty labels become "LABEL_0" .. "LABEL_{K-1}"
  //   seed    fixes every initial value
  //   dtype   f32 (training, inference) or f64 (gradient checks)
  LstmReg(const LstmRegConfig& config, uint64_t seed, DType dtype = DType::F32);

  // Reads dir/config.json and dir/model.safetensors as save_pretrained writes them. Errors name the file: a bad
  // config (LstmRegConfig::from_json), a missing tensor, a tensor whose shape differs from the config's, a
  // non-float tensor, and tensors the model does not have.
  //   dtype  of the parameters; F32/F16/BF16/F64 tensors are converted
  static LstmReg from_pretrained(const std::string& dir, DType dtype = DType::F32);
  // Writes dir/model.safetensors (params() as named, each in its own dtype, metadata format "pt") and then
  // dir/config.json; the folder is created when missing and its other files (the vocabulary) are kept. Each file
  // is written to a temporary name and renamed, so neither is ever half-written. Works from any device (the
  // weights are copied to the host for writing).
  void save_pretrained(const std::string& dir) const;

  // Moves every parameter to `device` in place (ParameterRegistry::to): the handles the model and its callers hold
  // (embeddings() included) follow, gradients are dropped; a no-op when they are there already. An f64 model cannot
  // go to CUDA (error).
  void to(Device device);
  // Where the parameters are, hence where forward() and the losses compute.
  Device device() const { return params_.device(); }

  // The logits and the BiLSTM outputs. Differentiable in every parameter (embed.weight unless frozen).
  //   ids       (B, T) i32/i64 word ids in [0, V); positions t >= lengths[b] are padding and never read by the
  //             LSTM, so their ids only need to be valid
  //   lengths   (B) i32/i64, each in [1, T]: the documents' true lengths (any order: no sorting needed)
  //   training  applies the word-type dropout, DropConnect and the classifier dropout, drawing from rng in the
  //             order given at the top of this file; false (evaluation) makes all three the identity
  //   rng       required when training, untouched otherwise
  // ids and lengths may be on the host or on device(); the outputs are on device().
  LstmRegOutput forward(const Tensor& ids, const Tensor& lengths, bool training = false,
                        RngStream* rng = nullptr) const;

  // The word vectors of the ids, as forward() feeds them to the LSTM: embed.weight's rows, and when training with
  // embed_droprate p > 0 hedwig's embedded_dropout: one keep/drop draw per vocabulary row (word type), shared by
  // every occurrence of the word in the batch, kept rows scaled by 1/(1-p). Frozen tables are dropped too. The
  // per-token factors are built on the host (they need the ids there) and uploaded to device().
  //   ids       (N...) i32/i64 in [0, V), on the host or on device()
  //   training  false: the plain lookup
  //   rng       required when training (reserves V counters), untouched otherwise
  // Returns (N..., E).
  Tensor embed(const Tensor& ids, bool training = false, RngStream* rng = nullptr) const;

  // task_loss(config().problem_type, logits, labels) (models/task_loss.h): cross-entropy over (B) class indices
  // (hedwig's trainer takes the argmax of its one-hot rows, the same thing) or BCE over (B, K) multi-hot labels;
  // labels on the host or on device().
  //   logits  (B, K) from forward()
  Tensor task_loss(const Tensor& logits, const Tensor& labels) const;
  // tar * mean over (B, T'-1, D*H) of (h[:, t+1] - h[:, t])^2 + ar * mean over (B, T', D*H) of h^2, with
  // h = out.rnn_out (hedwig's trainer, padded zeros included); a scalar, exactly 0 when tar = ar = 0. The TAR
  // term is 0 when T' = 1 (PyTorch's mean of nothing would be NaN).
  Tensor regularization(const LstmRegOutput& out) const;
  // task_loss(out.logits, labels) + regularization(out): what hedwig's trainer minimises. The distillation term
  // is the trainer's to add.
  Tensor loss(const LstmRegOutput& out, const Tensor& labels) const;

  // Parameter count: with include_embeddings false, the BiLSTM and fc1 only, as DocBERT counts LSTM_reg (its
  // static word2vec table is not learned): 3,426,394 for E 300, H 512, bidirectional and Reuters' 90 labels.
  int64_t num_parameters(bool include_embeddings) const;

  const LstmRegConfig& config() const { return config_; }
  const std::vector<std::string>& labels() const { return config_.labels; }  // id2label
  DType dtype() const { return dtype_; }
  // embed.weight (V, E): the table embeddings_init.h fills. Writing its data in place is how word vectors load.
  Tensor& embeddings() { return embed_; }
  ParameterRegistry& params() { return params_; }
  const ParameterRegistry& params() const { return params_; }

 private:
  // Registers zero parameters (requires_grad off on a frozen table); from_pretrained then fills them.
  LstmReg(const LstmRegConfig& config, DType dtype);

  struct Direction {
    Tensor w_ih, w_hh, b_ih, b_hh;  // (4H, E), (4H, H), (4H), (4H)
  };

  LstmRegConfig config_;
  DType dtype_;
  ParameterRegistry params_;
  Tensor embed_;                 // (V, E)
  std::vector<Direction> dirs_;  // D: forward, then reverse
  Tensor fc_w_, fc_b_;           // (K, D*H), (K)
};

}  // namespace docbert::lstm_reg
