// GEMMs on cuBLASLt (kernels/gemm.h): linear, batched matmul, and the strided batched products attention uses.
//
// Row-major to column-major: a row-major (R,S) matrix with row stride ld is the column-major (S,R) matrix with the
// same ld, its transpose. So c = op(a) op(b) is computed as c^T = op(b)^T op(a)^T: cuBLASLt's first operand is our
// b, its second our a, its (m,n,k) our (N,M,K), and no operand is ever copied. In that view the bias epilogue adds a
// vector along cuBLASLt's m (our N, a linear's OUT) and BGRADB reduces cuBLASLt's second operand over k, i.e. our
// op(a) (M,K) over K: for dW = dout^T x that is dbias, computed by the dW GEMM for free instead of a second pass
// over dout.
//
// Compute type CUBLAS_COMPUTE_32F with f32 scale for f32 and bf16 operands alike: f32 is never TF32, bf16 accumulates
// in f32. Descriptors and the heuristic's algorithm are cached per problem (shapes, strides, dtypes, epilogue and
// pointer alignments), so a training step that repeats shapes asks the heuristic nothing. One algorithm per problem
// and cuBLASLt's deterministic reduction schemes keep results bit-identical run to run.
#include "kernels/gemm.h"

#include "kernels/common.cuh"

#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace docbert::cuda {

namespace {

cudaDataType_t cuda_type(DType t) { return t == DType::BF16 ? CUDA_R_16BF : CUDA_R_32F; }

// The alignment (a power of two, at most 256 bytes) of every row of every batch element of a matrix: cuBLASLt's
// heuristic assumes 256 unless told, and an algorithm chosen for more than the pointers have would fault.
uint32_t alignment(const void* ptr, int64_t ld, int64_t stride, size_t elem) {
  const uint64_t bits =
      reinterpret_cast<uintptr_t>(ptr) | static_cast<uint64_t>(ld) * elem | static_cast<uint64_t>(stride) * elem | 256u;
  return static_cast<uint32_t>(bits & (~bits + 1));
}

enum class Epilogue : uint8_t { None, Bias, BiasGradB };

struct PlanKey {
  DType dtype, c_dtype;
  Epilogue epilogue;
  bool ta, tb;
  int64_t batch, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c;
  uint32_t align_a, align_b, align_c, align_bias;

  auto tie() const {
    return std::tie(dtype, c_dtype, epilogue, ta, tb, batch, M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c,
                    align_a, align_b, align_c, align_bias);
  }
  bool operator<(const PlanKey& o) const { return tie() < o.tie(); }
};

// One problem's cuBLASLt setup: the operation, our a, b and c as column-major layouts, and the heuristic's
// algorithm; `ok` false when the heuristic found none (the caller falls back).
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool ok = false;

  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {  // host-side objects only: safe at any time
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

struct Preference {
  cublasLtMatmulPreference_t pref = nullptr;
  Preference() { CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref)); }
  ~Preference() { cublasLtMatmulPreferenceDestroy(pref); }
  template <class V>
  void set(cublasLtMatmulPreferenceAttributes_t attr, V value) {
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof(value)));
  }
};

template <class V>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, V value) {
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof(value)));
}

// A column-major (rows, cols) layout with leading dimension ld, batched with `stride` when batch > 1.
cublasLtMatrixLayout_t make_layout(DType dtype, int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&l, cuda_type(dtype), static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld));
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
    CUBLAS_CHECK(
        cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return l;
}

// The epilogue's vector: the bias (input) or the bias gradient (output). The heuristic reads its alignment too.
void* epilogue_pointer(const GemmParams& p, Epilogue e) {
  if (e == Epilogue::Bias) return const_cast<void*>(p.bias);
  if (e == Epilogue::BiasGradB) return p.a_sums;
  return nullptr;
}

std::unique_ptr<Plan> make_plan(const PlanKey& k, void* epilogue_ptr) {
  auto plan = std::make_unique<Plan>();
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  // cuBLASLt's A is our b, its B our a (see the top of the file).
  set_desc(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, static_cast<int32_t>(k.tb ? CUBLAS_OP_T : CUBLAS_OP_N));
  set_desc(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, static_cast<int32_t>(k.ta ? CUBLAS_OP_T : CUBLAS_OP_N));
  if (k.epilogue != Epilogue::None) {
    const bool bias = k.epilogue == Epilogue::Bias;
    set_desc(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
             static_cast<uint32_t>(bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_BGRADB));
    set_desc(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
             static_cast<int32_t>(bias ? cuda_type(k.c_dtype) : CUDA_R_32F));
    set_desc(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, epilogue_ptr);
  }
  // Stored row-major: a is (M,K), or (K,M) when ta; b is (K,N), or (N,K) when tb; c is (M,N). Column-major views
  // swap rows and columns.
  plan->la = make_layout(k.dtype, k.ta ? k.M : k.K, k.ta ? k.K : k.M, k.lda, k.batch, k.stride_a);
  plan->lb = make_layout(k.dtype, k.tb ? k.K : k.N, k.tb ? k.N : k.K, k.ldb, k.batch, k.stride_b);
  plan->lc = make_layout(k.c_dtype, k.N, k.M, k.ldc, k.batch, k.stride_c);

  Preference pref;
  pref.set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<uint64_t>(blaslt_workspace_bytes()));
  pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, k.align_b);
  pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, k.align_a);
  pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, k.align_c);
  pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, k.align_c);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(blaslt(), plan->desc, plan->lb, plan->la, plan->lc, plan->lc,
                                                           pref.pref, 1, &result, &found);
  // NOT_SUPPORTED (or no result) is an answer, not an error: this epilogue or layout has no algorithm here.
  plan->ok = st == CUBLAS_STATUS_SUCCESS && found > 0 && result.state == CUBLAS_STATUS_SUCCESS;
  if (plan->ok) plan->algo = result.algo;
  return plan;
}

// The plans made so far. Reused from any thread, hence the lock (held across the enqueue, since a plan's descriptor
// carries the call's epilogue pointer). Shapes repeat from step to step; a run that keeps producing new ones starts
// over at kMaxPlans rather than grow without bound. Never destroyed, like the handles (kernels/runtime.cu).
constexpr size_t kMaxPlans = 1024;
std::mutex g_plans_mutex;
std::map<PlanKey, std::unique_ptr<Plan>>& plans() {
  static auto* cache = new std::map<PlanKey, std::unique_ptr<Plan>>();
  return *cache;
}

// p on cuBLASLt with epilogue e; false (nothing enqueued) when there is no algorithm for it.
bool run_lt(const GemmParams& p, Epilogue e) {
  const size_t es = dtype_size(p.dtype), ces = dtype_size(p.c_dtype);
  void* eptr = epilogue_pointer(p, e);
  const PlanKey key{p.dtype,
                    p.c_dtype,
                    e,
                    p.ta,
                    p.tb,
                    p.batch,
                    p.M,
                    p.N,
                    p.K,
                    p.lda,
                    p.ldb,
                    p.ldc,
                    p.batch > 1 ? p.stride_a : 0,
                    p.batch > 1 ? p.stride_b : 0,
                    p.batch > 1 ? p.stride_c : 0,
                    alignment(p.a, p.lda, p.batch > 1 ? p.stride_a : 0, es),
                    alignment(p.b, p.ldb, p.batch > 1 ? p.stride_b : 0, es),
                    alignment(p.c, p.ldc, p.batch > 1 ? p.stride_c : 0, ces),
                    eptr ? alignment(eptr, 0, 0, 1) : 0u};
  std::lock_guard<std::mutex> lock(g_plans_mutex);
  auto& all = plans();
  auto it = all.find(key);
  if (it == all.end()) {
    if (all.size() >= kMaxPlans) all.clear();
    it = all.emplace(key, make_plan(key, eptr)).first;
  }
  Plan& plan = *it->second;
  if (!plan.ok) return false;
  if (eptr) set_desc(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, eptr);
  const cublasStatus_t st =
      cublasLtMatmul(blaslt(), plan.desc, &p.alpha, p.b, plan.lb, p.a, plan.la, &p.beta, p.c, plan.lc, p.c, plan.lc,
                     &plan.algo, blaslt_workspace(), blaslt_workspace_bytes(), stream());
  if (st == CUBLAS_STATUS_NOT_SUPPORTED) {  // refused before running anything: fall back, now and for this problem
    plan.ok = false;
    return false;
  }
  if (st != CUBLAS_STATUS_SUCCESS) cublas_fail(st, "cublasLtMatmul", __FILE__, __LINE__);
  return true;
}

// p (no epilogue) on plain cuBLAS: every layout and alignment has an algorithm there.
void run_blas(const GemmParams& p) {
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      blas(), p.tb ? CUBLAS_OP_T : CUBLAS_OP_N, p.ta ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(p.N),
      static_cast<int>(p.M), static_cast<int>(p.K), &p.alpha, p.b, cuda_type(p.dtype), static_cast<int>(p.ldb),
      p.stride_b, p.a, cuda_type(p.dtype), static_cast<int>(p.lda), p.stride_a, &p.beta, p.c, cuda_type(p.c_dtype),
      static_cast<int>(p.ldc), p.stride_c, static_cast<int>(p.batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// c_i (M,N) = beta c_i + bias (bias (N) or null; beta 0 does not read c): the product-free part of a GEMM, for
// K = 0 and for a bias cuBLASLt cannot add. One thread per element.
template <class T>
__global__ void scale_add_bias_kernel(T* c, const T* bias, int64_t M, int64_t N, int64_t ldc, int64_t stride_c,
                                      int64_t total, float beta) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int64_t n = i % N, m = (i / N) % M, bt = i / (M * N);
  T* e = c + bt * stride_c + m * ldc + n;
  float v = beta == 0.0f ? 0.0f : beta * to_f32(*e);
  if (bias) v += to_f32(bias[n]);
  *e = from_f32<T>(v);
}

void scale_add_bias(const GemmParams& p) {
  const int64_t total = p.batch * p.M * p.N;
  const unsigned grid = grid_1d(p.op, total, kBlock);
  if (grid == 0) return;
  dispatch_float(p.c_dtype, p.op, [&](auto tag) {
    using T = decltype(tag);
    scale_add_bias_kernel<<<grid, kBlock, 0, stream()>>>(static_cast<T*>(p.c), static_cast<const T*>(p.bias), p.M, p.N,
                                                         p.ldc, p.stride_c, total, p.beta);
  });
  CUDA_CHECK_LAUNCH();
}

void check_gemm(const GemmParams& p) {
  DOCBERT_CHECK((p.dtype == DType::F32 || p.dtype == DType::BF16) && (p.c_dtype == DType::F32 || p.c_dtype == p.dtype),
                "{}: dtypes {} x {} -> {} are not supported on cuda (f32, or bf16 operands with an f32 or bf16 result)",
                p.op, dtype_name(p.dtype), dtype_name(p.dtype), dtype_name(p.c_dtype));
  DOCBERT_CHECK(p.batch >= 0 && p.M >= 0 && p.N >= 0 && p.K >= 0, "{}: sizes must be >= 0, got batch {} M {} N {} K {}",
                p.op, p.batch, p.M, p.N, p.K);
  DOCBERT_CHECK(p.batch <= INT_MAX && p.M <= INT_MAX && p.N <= INT_MAX && p.K <= INT_MAX,
                "{}: too large for one GEMM: batch {} M {} N {} K {} (each at most {})", p.op, p.batch, p.M, p.N, p.K,
                INT_MAX);
  DOCBERT_CHECK(p.lda >= (p.ta ? p.M : p.K) && p.ldb >= (p.tb ? p.K : p.N) && p.ldc >= p.N && p.lda <= INT_MAX &&
                    p.ldb <= INT_MAX && p.ldc <= INT_MAX,
                "{}: row strides lda {} ldb {} ldc {} do not fit M {} N {} K {} (ta {} tb {})", p.op, p.lda, p.ldb,
                p.ldc, p.M, p.N, p.K, p.ta, p.tb);
  DOCBERT_CHECK(p.batch == 1 || (!p.bias && !p.a_sums), "{}: the bias and a_sums epilogues need batch 1, got {}", p.op,
                p.batch);
  DOCBERT_CHECK(!(p.bias && p.a_sums), "{}: bias and a_sums cannot be combined", p.op);
}

// Rejects the dtypes no CUDA GEMM takes (f64), naming op.
void check_dtype(const char* op, DType dtype) {
  dispatch_float(dtype, op, [](auto) {});
}

GemmParams contiguous_gemm(const char* op, DType dtype, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  GemmParams g;
  g.op = op;
  g.dtype = g.c_dtype = dtype;
  g.M = M;
  g.N = N;
  g.K = K;
  g.ta = ta;
  g.tb = tb;
  g.lda = ta ? M : K;
  g.ldb = tb ? K : N;
  g.ldc = N;
  return g;
}

// Column sums over rows r of a (R,C) matrix, and a vector read as one row: the terms of column_sums_into.
template <class T>
struct MatrixTerm {
  const T* m;
  int64_t C;
  __device__ float operator()(int64_t r, int64_t c) const { return to_f32(m[r * C + c]); }
};
struct VectorTerm {
  const float* v;
  __device__ float operator()(int64_t, int64_t c) const { return v[c]; }
};

}  // namespace

bool gemm(const GemmParams& p) {
  check_gemm(p);
  if (p.batch == 0 || p.M == 0 || p.N == 0) return !p.a_sums;
  if (p.K == 0) {  // no product: c = beta c + bias
    if (p.beta != 1 || p.bias) scale_add_bias(p);
    return !p.a_sums;
  }
  const Epilogue e = p.a_sums ? Epilogue::BiasGradB : p.bias && aligned16(p.bias) ? Epilogue::Bias : Epilogue::None;
  if (e != Epilogue::None && run_lt(p, e)) return true;
  GemmParams q = p;
  q.bias = nullptr;
  q.a_sums = nullptr;
  if (p.bias) {  // c = beta c + bias first, then the product accumulates onto it
    scale_add_bias(p);
    q.beta = 1;
  }
  if (!run_lt(q, Epilogue::None)) run_blas(q);
  return !p.a_sums;
}

void linear_forward(const LinearParams& p) {
  const char* op = "linear_forward";
  check_dtype(op, p.dtype);
  // out (R,OUT) = x (R,IN) w^T (IN,OUT) + bias
  GemmParams g = contiguous_gemm(op, p.dtype, p.R, p.OUT, p.IN, false, true);
  g.a = p.x;
  g.b = p.w;
  g.c = p.out;
  g.bias = p.bias;
  gemm(g);
}

void linear_backward(const LinearParams& p) {
  const char* op = "linear_backward";
  check_dtype(op, p.dtype);
  if (p.dx) {  // dx (R,IN) += dout (R,OUT) w (OUT,IN)
    GemmParams g = contiguous_gemm(op, p.dtype, p.R, p.IN, p.OUT, false, false);
    g.a = p.dout;
    g.b = p.w;
    g.c = p.dx;
    g.beta = 1;
    gemm(g);
  }
  bool dbias_done = !p.dbias;
  if (p.dw) {  // dw (OUT,IN) += dout^T (OUT,R) x (R,IN); its BGRADB epilogue sums dout's rows into `sums` (OUT)
    Scratch sums(p.dbias ? static_cast<size_t>(p.OUT) * sizeof(float) : 0);
    GemmParams g = contiguous_gemm(op, p.dtype, p.OUT, p.IN, p.R, true, false);
    g.a = p.dout;
    g.b = p.x;
    g.c = p.dw;
    g.beta = 1;
    g.a_sums = sums.as<float>();
    if (gemm(g) && p.dbias) {
      dispatch_float(p.dtype, op, [&](auto tag) {  // dbias += sums, as a column sum over one row
        using T = decltype(tag);
        column_sums_into(op, static_cast<T*>(p.dbias), 1, p.OUT, VectorTerm{sums.as<float>()});
      });
      dbias_done = true;
    }
  }
  if (!dbias_done) {
    dispatch_float(p.dtype, op, [&](auto tag) {
      using T = decltype(tag);
      column_sums_into(op, static_cast<T*>(p.dbias), p.R, p.OUT, MatrixTerm<T>{static_cast<const T*>(p.dout), p.OUT});
    });
  }
}

void matmul_forward(const MatmulParams& p) {
  const char* op = "matmul_forward";
  check_dtype(op, p.dtype);
  // c (batch,M,N) = op(a) op(b)
  GemmParams g = contiguous_gemm(op, p.dtype, p.M, p.N, p.K, p.ta, p.tb);
  g.batch = p.batch;
  g.a = p.a;
  g.stride_a = p.M * p.K;
  g.b = p.b;
  g.stride_b = p.shared_b ? 0 : p.K * p.N;
  g.c = p.c;
  g.stride_c = p.M * p.N;
  gemm(g);
}

// The gradients of engine/ops/linear.cpp's matmul_backward, each one batched GEMM: per element i
//   da_i += dc_i op(b_i)^T (or its transpose when ta), db_i += op(a_i)^T dc_i (or its transpose when tb).
// A shared b's gradient sums over the batch: one GEMM per element, in batch order (deterministic, like the CPU).
void matmul_backward(const MatmulParams& p) {
  const char* op = "matmul_backward";
  check_dtype(op, p.dtype);
  const int64_t MN = p.M * p.N, MK = p.M * p.K, b_stride = p.shared_b ? 0 : p.K * p.N;
  if (p.da) {
    GemmParams g = p.ta ? contiguous_gemm(op, p.dtype, p.K, p.M, p.N, p.tb, true)     // (K,M) += op(b) dc^T
                        : contiguous_gemm(op, p.dtype, p.M, p.K, p.N, false, !p.tb);  // (M,K) += dc op(b)^T
    g.batch = p.batch;
    g.a = p.ta ? p.b : p.dc;
    g.stride_a = p.ta ? b_stride : MN;
    g.b = p.ta ? p.dc : p.b;
    g.stride_b = p.ta ? MN : b_stride;
    g.c = p.da;
    g.stride_c = MK;
    g.beta = 1;
    gemm(g);
  }
  if (p.db) {
    GemmParams g = p.tb ? contiguous_gemm(op, p.dtype, p.N, p.K, p.M, true, p.ta)     // (N,K) += dc^T op(a)
                        : contiguous_gemm(op, p.dtype, p.K, p.N, p.M, !p.ta, false);  // (K,N) += op(a)^T dc
    g.a = p.tb ? p.dc : p.a;
    g.stride_a = p.tb ? MN : MK;
    g.b = p.tb ? p.a : p.dc;
    g.stride_b = p.tb ? MK : MN;
    g.c = p.db;
    g.stride_c = b_stride;
    g.beta = 1;
    if (!p.shared_b) {
      g.batch = p.batch;
      gemm(g);
    } else {
      const size_t es = dtype_size(p.dtype);
      for (int64_t i = 0; i < p.batch; ++i) {
        GemmParams gi = g;
        gi.a = static_cast<const char*>(g.a) + i * g.stride_a * es;
        gi.b = static_cast<const char*>(g.b) + i * g.stride_b * es;
        gemm(gi);
      }
    }
  }
}

}  // namespace docbert::cuda
