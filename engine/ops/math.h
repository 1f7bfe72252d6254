// engine/ops/math.h: small numeric building blocks shared by several CPU ops (not part of the op API):
// overflow-safe sigmoid and softplus, softmax of one row and its backward, and the deterministic column sums
// that bias-like gradients reduce with.
#pragma once

#include "engine/parallel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace docbert {

// sigmoid(x), split by sign so exp() never overflows.
template <class T>
T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// log(1 + e^x) for any finite x without overflow or loss of the small tail.
template <class T>
T softplus(T x) {
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

// out (K) = softmax(x (K)); out may be x (in place).
template <class T>
void softmax_row(T* out, const T* x, int64_t K) {
  const T m = *std::max_element(x, x + K);
  T sum = 0;
  for (int64_t k = 0; k < K; ++k) sum += (out[k] = std::exp(x[k] - m));
  const T inv = T(1) / sum;  // sum >= 1: the max term is exp(0)
  for (int64_t k = 0; k < K; ++k) out[k] *= inv;
}

// dx (K) (+)= y * (dy - <dy, y>) for y = softmax(x) (K) and dy = dL/dy (K): accumulates when `accumulate`,
// otherwise overwrites; dx may be dy (in place, with accumulate false).
template <class T>
void softmax_row_backward(T* dx, const T* y, const T* dy, int64_t K, bool accumulate) {
  T dot = 0;
  for (int64_t k = 0; k < K; ++k) dot += dy[k] * y[k];
  if (accumulate)
    for (int64_t k = 0; k < K; ++k) dx[k] += y[k] * (dy[k] - dot);
  else
    for (int64_t k = 0; k < K; ++k) dx[k] = y[k] * (dy[k] - dot);
}

// dst (C) += sum over r in [0, R) of term(r, c), for every column c. Threads own blocks of 64 columns (the
// reads of each row stay contiguous) and each column adds its rows in order, so the result does not depend on
// the thread count.
template <class T, class Term>
void column_sums_into(T* dst, int64_t R, int64_t C, Term&& term) {
  constexpr int64_t CB = 64;
  parallel_for((C + CB - 1) / CB,
               [&](int64_t blk) {
                 const int64_t c0 = blk * CB, n = std::min(CB, C - c0);
                 T acc[CB] = {};
                 for (int64_t r = 0; r < R; ++r)
                   for (int64_t j = 0; j < n; ++j) acc[j] += term(r, c0 + j);
                 for (int64_t j = 0; j < n; ++j) dst[c0 + j] += acc[j];
               },
               2);
}

// dst (C) += column sums of src (R,C).
template <class T>
void column_sums_into(T* dst, const T* src, int64_t R, int64_t C) {
  column_sums_into(dst, R, C, [src, C](int64_t r, int64_t c) { return src[r * C + c]; });
}

}  // namespace docbert
