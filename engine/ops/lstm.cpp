// LSTM layer: the CPU implementation over kernels/lstm.h's params (a packed schedule of the ragged batch, then
// the forward and backward over raw pointers), then the autograd wrapper. Dimension letters: B batch, T time,
// I input size, H hidden, G = 4H, N = sum of lengths.
#include "engine/ops/lstm.h"

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/math.h"
#include "engine/parallel.h"
#include "kernels/lstm.h"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>
#include <vector>

namespace docbert {

namespace cpu {

namespace {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Mat = Eigen::Map<RowMat<T>>;
template <class T>
using ConstMat = Eigen::Map<const RowMat<T>>;

// The packed layout (as pack_padded_sequence): sequences sorted longest first (stable), step s holds the n[s]
// sequences with length > s as rows [off[s], off[s] + n[s]) of every (N, .) buffer, row r of a step being
// sequence order[r]. Step s of sequence b is time s (forward) or len_b - 1 - s (reverse).
struct LstmPlan {
  int64_t B = 0, T = 0, I = 0, H = 0, N = 0;
  std::vector<int64_t> order;   // (B) batch index of sorted row r
  std::vector<int64_t> len;     // (B) length of sorted row r
  std::vector<int64_t> n, off;  // (S) active rows and first packed row of each step, S = longest length
  std::vector<int64_t> pos;     // (N) packed row -> row b*T + t of x and out
};

// lens (B): the checked lengths, each in [1, T]. The forward and the backward each build the plan from them.
LstmPlan make_plan(const int64_t* lens, int64_t B, int64_t T, int64_t I, int64_t H, bool reverse) {
  LstmPlan p;
  p.B = B, p.T = T, p.I = I, p.H = H;
  p.order.resize(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) p.order[b] = b;
  std::stable_sort(p.order.begin(), p.order.end(), [&](int64_t a, int64_t b) { return lens[a] > lens[b]; });
  for (int64_t b : p.order) p.len.push_back(lens[b]);
  const int64_t S = B ? p.len[0] : 0;
  for (int64_t s = 0; s < S; ++s) {
    int64_t n = 0;
    while (n < B && p.len[n] > s) ++n;
    p.off.push_back(p.N);
    p.n.push_back(n);
    for (int64_t r = 0; r < n; ++r) {
      const int64_t t = reverse ? p.len[r] - 1 - s : s;
      p.pos.push_back(p.order[r] * T + t);
    }
    p.N += n;
  }
  return p;
}

// xp (N,I) = rows pos[k] of x (B*T, I): the inputs of every real step, in packed order.
template <class T>
void gather_rows(T* xp, const T* x, const LstmPlan& p) {
  parallel_for(
      p.N, [&](int64_t k) { std::memcpy(xp + k * p.I, x + p.pos[k] * p.I, sizeof(T) * p.I); }, 256);
}

// Saved for backward (packed rows): gates (N,G) activations i, f, g, o; cs (N,H) c_t; hs (N,H) h_t.
// out (B,T,H) zero-filled by the caller; h_n, c_n (B,H); xp (N,I) the packed input (gather_rows); w_ih (G,I);
// w_hh (G,H); bias (G) or null.
template <class T>
void packed_forward(T* out, T* h_n, T* c_n, T* gates, T* cs, T* hs, const T* xp, const T* w_ih, const T* w_hh,
                    const T* bias, const LstmPlan& p) {
  const int64_t H = p.H, G = 4 * H;
  Mat<T> gates_all(gates, p.N, G);
  gates_all.noalias() = ConstMat<T>(xp, p.N, p.I) * ConstMat<T>(w_ih, G, p.I).transpose();
  if (bias) gates_all.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias, G);
  ConstMat<T> whh(w_hh, G, H);
  for (size_t s = 0; s < p.n.size(); ++s) {
    const int64_t n = p.n[s], off = p.off[s], prev = s ? p.off[s - 1] : 0;
    // The first n rows of the previous step are exactly this step's sequences: h_{t-1} is one block.
    if (s) Mat<T>(gates + off * G, n, G).noalias() += ConstMat<T>(hs + prev * H, n, H) * whh.transpose();
    parallel_for(n * H, [&](int64_t k) {
      const int64_t r = k / H, j = k % H;
      T* g_row = gates + (off + r) * G;
      const T i = stable_sigmoid(g_row[j]), f = stable_sigmoid(g_row[H + j]), g = std::tanh(g_row[2 * H + j]),
              o = stable_sigmoid(g_row[3 * H + j]);
      const T c_prev = s ? cs[(prev + r) * H + j] : T(0);
      const T c = f * c_prev + i * g;
      g_row[j] = i, g_row[H + j] = f, g_row[2 * H + j] = g, g_row[3 * H + j] = o;
      cs[(off + r) * H + j] = c;
      hs[(off + r) * H + j] = o * std::tanh(c);
    });
  }
  parallel_for(
      p.N, [&](int64_t k) { std::memcpy(out + p.pos[k] * H, hs + k * H, sizeof(T) * H); }, 256);
  for (int64_t r = 0; r < p.B; ++r) {
    const int64_t last = p.off[p.len[r] - 1] + r, b = p.order[r];
    std::memcpy(h_n + b * H, hs + last * H, sizeof(T) * H);
    std::memcpy(c_n + b * H, cs + last * H, sizeof(T) * H);
  }
}

// Backpropagation through time. dout (B,T,H), dh_n, dc_n (B,H): output gradients, each may be null (= zeros).
// Accumulates (+=) into dx (B,T,I), dw_ih (G,I), dw_hh (G,H), db_ih, db_hh (G); any of them may be null.
// gates, cs, hs and xp (N,I) as saved by the forward.
template <class T>
void packed_backward(T* dx, T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, const T* dout, const T* dh_n, const T* dc_n,
                     const T* gates, const T* cs, const T* hs, const T* xp, const T* w_ih, const T* w_hh,
                     const LstmPlan& p) {
  const int64_t H = p.H, G = 4 * H, S = static_cast<int64_t>(p.n.size());
  RowMat<T> dgates(p.N, G);                // dL/d(pre-activation gates), packed
  RowMat<T> dh = RowMat<T>::Zero(p.B, H);  // dL/dh of the current step from later steps, sorted rows
  RowMat<T> dc = RowMat<T>::Zero(p.B, H);
  ConstMat<T> whh(w_hh, G, H);
  for (int64_t s = S - 1; s >= 0; --s) {
    const int64_t n = p.n[s], off = p.off[s], prev = s ? p.off[s - 1] : 0;
    parallel_for(n * H, [&](int64_t k) {
      const int64_t r = k / H, j = k % H, row = off + r, b = p.order[r];
      const bool last = s == p.len[r] - 1;  // the step that produced h_n / c_n and out's last entry
      T dh_v = dh(r, j) + (dout ? dout[p.pos[row] * H + j] : T(0)) + (last && dh_n ? dh_n[b * H + j] : T(0));
      T dc_v = dc(r, j) + (last && dc_n ? dc_n[b * H + j] : T(0));
      const T* g_row = gates + row * G;
      const T i = g_row[j], f = g_row[H + j], g = g_row[2 * H + j], o = g_row[3 * H + j];
      const T tc = std::tanh(cs[row * H + j]);
      dc_v += dh_v * o * (1 - tc * tc);
      const T c_prev = s ? cs[(prev + r) * H + j] : T(0);
      T* d_row = dgates.data() + row * G;
      d_row[j] = dc_v * g * i * (1 - i);
      d_row[H + j] = dc_v * c_prev * f * (1 - f);
      d_row[2 * H + j] = dc_v * i * (1 - g * g);
      d_row[3 * H + j] = dh_v * tc * o * (1 - o);
      dc(r, j) = dc_v * f;
    });
    if (s) dh.topRows(n).noalias() = Mat<T>(dgates.data() + off * G, n, G) * whh;
  }
  if (dw_hh && p.N > p.B) {
    // h_{t-1} for every step but the first (whose h_{t-1} is zero), aligned with dgates' rows [off[1], N).
    RowMat<T> hprev(p.N - p.B, H);
    for (int64_t s = 1; s < S; ++s)
      hprev.middleRows(p.off[s] - p.B, p.n[s]) = ConstMat<T>(hs + p.off[s - 1] * H, p.n[s], H);
    Mat<T>(dw_hh, G, H).noalias() += dgates.bottomRows(p.N - p.B).transpose() * hprev;
  }
  if (dx) {
    RowMat<T> dxp = dgates * ConstMat<T>(w_ih, G, p.I);
    parallel_for(
        p.N,
        [&](int64_t k) {
          T* dst = dx + p.pos[k] * p.I;
          for (int64_t c = 0; c < p.I; ++c) dst[c] += dxp(k, c);
        },
        256);
  }
  if (dw_ih) Mat<T>(dw_ih, G, p.I).noalias() += dgates.transpose() * ConstMat<T>(xp, p.N, p.I);
  if (db_ih || db_hh) {
    // Both biases get the column sums of dgates: summed once, then added to each.
    std::vector<T> db(static_cast<size_t>(G), T(0));
    column_sums_into(db.data(), dgates.data(), p.N, G);
    for (T* dst : {db_ih, db_hh})
      if (dst)
        for (int64_t c = 0; c < G; ++c) dst[c] += db[c];
  }
}

}  // namespace

// out (B,T,H), h_n, c_n (B,H); saved gates (N,G), cs, hs (N,H), xs (N,I) in packed rows (kernels/lstm.h).
static void lstm_forward(const LstmParams& p) {
  const LstmPlan plan = make_plan(p.lengths, p.B, p.T, p.I, p.H, p.reverse);
  dispatch_float(p.dtype, "lstm_layer", [&](auto tag) {
    using F = decltype(tag);
    const int64_t G = 4 * p.H;
    std::vector<F> bias;
    if (p.b_ih || p.b_hh) {
      bias.assign(static_cast<size_t>(G), F(0));
      for (const void* b : {p.b_ih, p.b_hh})
        if (b)
          for (int64_t k = 0; k < G; ++k) bias[k] += static_cast<const F*>(b)[k];
    }
    F* out = static_cast<F*>(p.out);
    std::fill(out, out + p.B * p.T * p.H, F(0));
    F* xs = static_cast<F*>(p.xs);
    gather_rows(xs, static_cast<const F*>(p.x), plan);
    packed_forward(out, static_cast<F*>(p.h_n), static_cast<F*>(p.c_n), static_cast<F*>(p.gates), static_cast<F*>(p.cs),
                   static_cast<F*>(p.hs), xs, static_cast<const F*>(p.w_ih), static_cast<const F*>(p.w_hh),
                   bias.empty() ? nullptr : bias.data(), plan);
  });
}

// dx (B,T,I), dw_ih (G,I), dw_hh (G,H), db_ih, db_hh (G) += gradients from dout (B,T,H), dh_n, dc_n (B,H).
static void lstm_backward(const LstmParams& p) {
  const LstmPlan plan = make_plan(p.lengths, p.B, p.T, p.I, p.H, p.reverse);
  dispatch_float(p.dtype, "lstm_layer", [&](auto tag) {
    using F = decltype(tag);
    packed_backward(static_cast<F*>(p.dx), static_cast<F*>(p.dw_ih), static_cast<F*>(p.dw_hh), static_cast<F*>(p.db_ih),
                    static_cast<F*>(p.db_hh), static_cast<const F*>(p.dout), static_cast<const F*>(p.dh_n),
                    static_cast<const F*>(p.dc_n), static_cast<const F*>(p.gates), static_cast<const F*>(p.cs),
                    static_cast<const F*>(p.hs), static_cast<const F*>(p.xs), static_cast<const F*>(p.w_ih),
                    static_cast<const F*>(p.w_hh), plan);
  });
}

}  // namespace cpu

namespace {
constexpr OpImpl<LstmParams> kLstmFwd{cpu::lstm_forward, DOCBERT_CUDA(cuda::lstm_forward)};
constexpr OpImpl<LstmParams> kLstmBwd{cpu::lstm_backward, DOCBERT_CUDA(cuda::lstm_backward)};
}  // namespace

LstmOutput lstm_layer(const Tensor& x, const Tensor& lengths, const Tensor& w_ih, const Tensor& w_hh,
                      const Tensor& b_ih, const Tensor& b_hh, bool reverse) {
  const char* op = "lstm_layer";
  check_dim(op, "x", x, 3);
  check_dim(op, "w_ih", w_ih, 2);
  check_dim(op, "w_hh", w_hh, 2);
  const OpTarget at =
      check_float_operands(op, {{"x", x}, {"w_ih", w_ih}, {"w_hh", w_hh}, {"b_ih", b_ih, true}, {"b_hh", b_hh, true}});
  check_dim(op, "lengths", lengths, 1);
  check_index(op, "lengths", lengths);
  const int64_t B = x.size(0), T = x.size(1), I = x.size(2), G = w_hh.size(0), H = G / 4;
  DOCBERT_CHECK(G % 4 == 0 && w_hh.size(1) == H, "{}: 'w_hh' must be (4H, H), got {}", op, w_hh.describe());
  DOCBERT_CHECK(w_ih.shape() == Shape({G, I}), "{}: 'w_ih' must be (4H, I) = ({},{}) for 'x' {} and 'w_hh' {}, got {}",
                op, G, I, shape_str(x.shape()), shape_str(w_hh.shape()), shape_str(w_ih.shape()));
  DOCBERT_CHECK(lengths.size(0) == B, "{}: 'lengths' must be (B) = ({}) for 'x' {}, got {}", op, B,
                shape_str(x.shape()), lengths.describe());
  for (const auto& [name, b] : {std::pair<const char*, const Tensor*>{"b_ih", &b_ih}, {"b_hh", &b_hh}})
    DOCBERT_CHECK(!b->defined() || b->shape() == Shape({G}), "{}: '{}' must be (4H) = ({}), got {}", op, name, G,
                  b->describe());
  const Tensor lens = checked_indices(op, "lengths", lengths, 1, T + 1, at.device);
  // Rows of the saved buffers (kernels/lstm.h): the packed real steps on the CPU, every (b, t) on CUDA.
  int64_t R = B * T;
  if (at.device == Device::CPU) {
    const int64_t* l = lens.data<int64_t>();
    R = std::accumulate(l, l + B, int64_t{0});
  }

  LstmOutput res{Tensor::empty({B, T, H}, at.dtype, at.device), Tensor::empty({B, H}, at.dtype, at.device),
                 Tensor::empty({B, H}, at.dtype, at.device)};
  Tensor gates = Tensor::empty({R, G}, at.dtype, at.device);
  Tensor cs = Tensor::empty({R, H}, at.dtype, at.device), hs = Tensor::empty({R, H}, at.dtype, at.device);
  Tensor xs = Tensor::empty({R, I}, at.dtype, at.device);  // the input of every step, kept for dL/dw_ih
  LstmParams p;
  p.dtype = at.dtype;
  p.B = B, p.T = T, p.I = I, p.H = H;
  p.reverse = reverse;
  p.lengths = static_cast<const int64_t*>(lens.raw_data());
  p.x = x.raw_data();
  p.w_ih = w_ih.raw_data();
  p.w_hh = w_hh.raw_data();
  p.b_ih = ptr_or_null(b_ih);
  p.b_hh = ptr_or_null(b_hh);
  p.out = res.out.raw_data();
  p.h_n = res.h_n.raw_data();
  p.c_n = res.c_n.raw_data();
  p.gates = gates.raw_data();
  p.cs = cs.raw_data();
  p.hs = hs.raw_data();
  p.xs = xs.raw_data();
  kLstmFwd(op, at.device, p);

  if (grad_needed({&x, &w_ih, &w_hh, &b_ih, &b_hh})) {
    record_node(op, {x, w_ih, w_hh, b_ih, b_hh}, {res.out, res.h_n, res.c_n},
                [p, at, op, lens, gates, cs, hs, xs](Node& n) mutable {
                  p.dx = grad_ptr_or_null(n.inputs[0]);
                  p.dw_ih = grad_ptr_or_null(n.inputs[1]);
                  p.dw_hh = grad_ptr_or_null(n.inputs[2]);
                  p.db_ih = grad_ptr_or_null(n.inputs[3]);
                  p.db_hh = grad_ptr_or_null(n.inputs[4]);
                  p.dout = ptr_or_null(n.outputs[0].grad());
                  p.dh_n = ptr_or_null(n.outputs[1].grad());
                  p.dc_n = ptr_or_null(n.outputs[2].grad());
                  kLstmBwd(op, at.device, p);
                });
  }
  return res;
}

}  // namespace docbert
