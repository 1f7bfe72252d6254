#include "train/student/options.h"

#include "base/error.h"

namespace docbert::train {

namespace {

bool has_teacher(const StudentOptions& o) { return !o.teacher.empty() || !o.soft_targets.empty(); }

}  // namespace

void add_student_options(CLI::App& app, StudentOptions& o) {
  enable_config_file(app);
  add_data_options(app, o);

  const char* input = "Student input";
  app.add_option("--tokenizer", o.tokenizer,
                 "word (BERT's basic tokenizer, uncased; [MASK] stays one word), word-hedwig (hedwig's clean_string), "
                 "wordpiece (the teacher's vocabulary) or sentencepiece (--vocab MODEL)")
      ->check(CLI::IsMember({"word", "word-hedwig", "wordpiece", "sentencepiece"}))
      ->group(input);
  app.add_option("--vocab", o.vocab,
                 "wordpiece: a vocab.txt (default: the teacher's); sentencepiece: the .model file")
      ->group(input);
  app.add_option("--min-freq", o.min_freq, "Word tokenizers: keep words seen at least this often in the transfer set")
      ->check(CLI::PositiveNumber)
      ->group(input);
  app.add_option("--max-vocab", o.max_vocab, "Word tokenizers: keep at most this many words (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->group(input);
  app.add_option("--max-tokens", o.max_tokens, "Tokens per document, the first ones (0: whole documents, as hedwig)")
      ->check(CLI::NonNegativeNumber)
      ->group(input);

  const char* model = "Student model (LSTM_reg)";
  app.add_option("--embeddings", o.embeddings,
                 "rand (U(-0.25, 0.25)), word2vec (--word-vectors FILE) or teacher (the teacher's input embeddings: "
                 "a word's row is the mean of its pieces' rows; sets --embed-dim to the teacher's hidden size)")
      ->check(CLI::IsMember({"rand", "word2vec", "teacher"}))
      ->group(model);
  app.add_option("--word-vectors", o.word_vectors,
                 "word2vec/GloVe/fastText vectors, text or binary (hedwig: GoogleNews-vectors-negative300)")
      ->group(model);
  app.add_option("--freeze-embeddings", o.freeze_embeddings, "Keep the embedding table fixed (hedwig's static mode)")
      ->group(model);
  app.add_option("--embed-dim", o.embed_dim, "Word-vector size (rand; others take the file's or teacher's)")
      ->check(CLI::PositiveNumber)
      ->group(model);
  app.add_option("--hidden", o.hidden, "LSTM hidden size per direction")->check(CLI::PositiveNumber)->group(model);
  app.add_option("--bidirectional", o.bidirectional, "Bidirectional LSTM")->group(model);
  app.add_option("--dropout", o.dropout, "Dropout on the max-pooled vector before the classifier")
      ->check(CLI::Range(0.0, 0.99))
      ->group(model);
  app.add_option("--embed-droprate", o.embed_droprate, "Word-type dropout on the embedding rows")
      ->check(CLI::Range(0.0, 0.99))
      ->group(model);
  app.add_option("--wdrop", o.wdrop, "DropConnect on the LSTM's hidden-to-hidden weights")
      ->check(CLI::Range(0.0, 0.99))
      ->group(model);
  app.add_option("--wdrop-directions", o.wdrop_directions,
                 "both, or forward: hedwig's quirk (its WeightDrop only reaches the forward direction)")
      ->check(CLI::IsMember({"both", "forward"}))
      ->group(model);
  app.add_option("--tar", o.tar, "Temporal activation regularisation weight")
      ->check(CLI::NonNegativeNumber)
      ->group(model);
  app.add_option("--ar", o.ar, "Activation regularisation weight")->check(CLI::NonNegativeNumber)->group(model);

  const char* opt = "Optimisation (hedwig's LSTM_reg by default)";
  app.add_option("--epochs", o.epochs, "Epoch budget")->check(CLI::PositiveNumber)->group(opt);
  app.add_option("--batch-size", o.batch_size,
                 "Documents per step (0: 32 without distillation as LSTM_reg; with it 128 multi-label, 64 "
                 "single-label as DocBERT)")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--lr", o.lr, "Adam learning rate (constant)")->check(CLI::PositiveNumber)->group(opt);
  app.add_option("--weight-decay", o.weight_decay, "Adam's L2 weight decay")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--beta-ema", o.beta_ema,
                 "Weight averaging after every step; evaluation and best/ use the averaged weights (0: off)")
      ->check(CLI::Range(0.0, 0.9999))
      ->group(opt);
  app.add_option("--ema-bias-correction", o.ema_bias_correction,
                 "hedwig's quirk: divide the averages by 1 - beta^t (inflates early weights; for exact parity)")
      ->group(opt);
  app.add_option("--seed", o.seed, "Seed of the init, dropout and batch order")->group(opt);
  app.add_option("--patience", o.patience, "Stop after this many epochs without a better dev score (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--max-steps", o.max_steps, "Stop after this many optimizer steps (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->group(opt);
  app.add_option("--eval-batch-size", o.eval_batch_size, "Documents per evaluation batch")
      ->check(CLI::PositiveNumber)
      ->group(opt);

  const char* kd = "Distillation";
  app.add_option("--teacher", o.teacher,
                 "A saved teacher (train_teacher's best/): its logits over the transfer set are computed once and "
                 "cached. Without a teacher the student trains on the labels alone (LSTM_reg)")
      ->group(kd);
  app.add_option("--soft-targets", o.soft_targets,
                 "Instead of --teacher: a logits file over the transfer set (docbert_predict --save-logits on "
                 "<output-dir>/transfer/transfer.jsonl)")
      ->group(kd);
  app.add_option("--distill-weight", o.distill_weight,
                 "lambda in task loss + lambda * distillation loss (-1: 1 multi-label, 4 single-label, as DocBERT; "
                 "0: the LSTM_reg baseline)")
      ->check(CLI::Range(-1.0, 1e6))
      ->group(kd);
  app.add_option("--distill-loss", o.distill_loss,
                 "kl: KL(teacher || student) of the softmax (single-label) or of each label's Bernoulli "
                 "(multi-label), as DocBERT; mse: squared error of the logits, as Tang et al.")
      ->check(CLI::IsMember({"kl", "mse"}))
      ->group(kd);
  app.add_option("--distill-reduction", o.distill_reduction,
                 "How the KL is normalised: batchmean sums over the classes/labels and averages over the batch "
                 "(PyTorch's reduction='batchmean'); mean also averages over the labels; auto: batchmean for "
                 "single-label, mean for multi-label, so lambda weighs terms normalised like the task loss")
      ->check(CLI::IsMember({"auto", "batchmean", "mean"}))
      ->group(kd);
  app.add_option("--temperature", o.temperature, "Softening temperature of the KL (its gradient is scaled by T^2)")
      ->check(CLI::PositiveNumber)
      ->group(kd);
  app.add_option("--teacher-max-seq-length", o.teacher_max_seq_length,
                 "Teacher input length (0: the length it was trained with)")
      ->check(CLI::NonNegativeNumber)
      ->group(kd);
  app.add_option("--teacher-batch-size", o.teacher_batch_size, "Documents per teacher inference batch")
      ->check(CLI::PositiveNumber)
      ->group(kd);
  app.add_option("--cache-dir", o.cache_dir,
                 "Soft-target cache folder (default: $XDG_CACHE_HOME/docbert/soft-targets, else "
                 "~/.cache/docbert/soft-targets)")
      ->group(kd);

  const char* tr = "Transfer set (training documents + augmented copies)";
  app.add_option("--augment-copies", o.augment_copies,
                 "Augmented copies per training document (-1: 2 with a teacher, DocBERT's 3x Reuters set; 0 "
                 "without)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1000}))
      ->group(tr);
  app.add_option("--mask-prob", o.mask_prob, "Per word: replace by [MASK]")->check(CLI::Range(0.0, 1.0))->group(tr);
  app.add_option("--pos-prob", o.pos_prob,
                 "Per word: replace by a training-corpus word of the same part of speech (WordNet)")
      ->check(CLI::Range(0.0, 1.0))
      ->group(tr);
  app.add_option("--ngram-prob", o.ngram_prob, "Per copy: crop to a random window of 1..--ngram-max words")
      ->check(CLI::Range(0.0, 1.0))
      ->group(tr);
  app.add_option("--ngram-max", o.ngram_max, "Longest window of n-gram sampling")
      ->check(CLI::PositiveNumber)
      ->group(tr);
  app.add_option("--replace-function-words", o.replace_function_words,
                 "Also swap closed-class words, which WordNet lists as nouns or verbs (\"in\": inch, \"is\"); off "
                 "by default, as they would swamp the noun and verb pools (docs/transfer-set.md)")
      ->group(tr);
  app.add_option("--augment-seed", o.augment_seed, "Seed of the augmentation (apart from --seed, so the transfer set "
                 "and the teacher's cached logits stay the same across student seeds)")
      ->group(tr);
  app.add_option("--wordnet", o.wordnet, "WordNet dict folder with index.noun etc. (default: Debian's wordnet-base)")
      ->group(tr);

  add_placement_options(app, o, "auto|cpu|cuda (training runs on the CPU for now: cuda is refused until the LSTM "
                                "kernels land)");
  add_run_options(app, o,
                  "Where transfer/, best/, checkpoint-<step>/, metrics.jsonl, results.json, curves.svg and "
                  "config.toml go");
}

void validate(const StudentOptions& o) {
  DOCBERT_CHECK(!o.data.empty(), "--data is required (a dataset folder or file)");
  DOCBERT_CHECK(o.teacher.empty() || o.soft_targets.empty(), "give at most one of --teacher and --soft-targets");
  DOCBERT_CHECK(o.embeddings != "word2vec" || !o.word_vectors.empty(), "--embeddings word2vec needs --word-vectors FILE");
  DOCBERT_CHECK(o.word_vectors.empty() || o.embeddings == "word2vec",
                "--word-vectors applies to --embeddings word2vec only");
  DOCBERT_CHECK(o.embeddings != "teacher" || !o.teacher.empty(), "--embeddings teacher needs --teacher DIR");
  DOCBERT_CHECK(o.tokenizer != "sentencepiece" || !o.vocab.empty(), "--tokenizer sentencepiece needs --vocab MODEL");
  DOCBERT_CHECK(o.tokenizer != "wordpiece" || !o.vocab.empty() || !o.teacher.empty(),
                "--tokenizer wordpiece needs --vocab FILE or --teacher DIR (whose vocab.txt it takes)");
  DOCBERT_CHECK(o.vocab.empty() || o.tokenizer == "wordpiece" || o.tokenizer == "sentencepiece",
                "--vocab applies to --tokenizer wordpiece and sentencepiece; word vocabularies are built from the "
                "transfer set");
  DOCBERT_CHECK(o.embeddings != "teacher" || o.tokenizer != "sentencepiece",
                "--embeddings teacher needs a word or wordpiece tokenizer");
  DOCBERT_CHECK(o.mask_prob + o.pos_prob <= 1, "--mask-prob + --pos-prob must be at most 1, got {}",
                o.mask_prob + o.pos_prob);
  DOCBERT_CHECK(o.distill_weight <= 0 || has_teacher(o),
                "--distill-weight {} needs --teacher DIR or --soft-targets FILE", o.distill_weight);
  DOCBERT_CHECK(o.distill_reduction == "auto" || o.distill_loss == "kl",
                "--distill-reduction applies to --distill-loss kl (mse is a mean over every logit)");
  DOCBERT_CHECK(!o.output_dir.empty(), "--output-dir must not be empty");
}

double resolved_distill_weight(const StudentOptions& o, bool multi_label) {
  if (!has_teacher(o)) return 0;
  return o.distill_weight >= 0 ? o.distill_weight : (multi_label ? 1.0 : 4.0);
}

int64_t resolved_batch_size(const StudentOptions& o, bool multi_label) {
  if (o.batch_size > 0) return o.batch_size;
  if (resolved_distill_weight(o, multi_label) == 0) return 32;
  return multi_label ? 128 : 64;
}

std::string resolved_distill_reduction(const StudentOptions& o, bool multi_label) {
  if (o.distill_reduction != "auto") return o.distill_reduction;
  return multi_label ? "mean" : "batchmean";
}

int64_t resolved_augment_copies(const StudentOptions& o) {
  if (o.augment_copies >= 0) return o.augment_copies;
  return has_teacher(o) && o.distill_weight != 0 ? 2 : 0;
}

}  // namespace docbert::train
