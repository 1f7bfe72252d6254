// models/lstm_reg/embeddings_init.h: the starting values of the student's word-embedding table embed.weight:
// hedwig's random init, pretrained word vectors (word2vec / GloVe files), or the BERT teacher's input embeddings.
//
// Every function writes a (V, E) CPU f32/f64 table in place (LstmReg::embeddings(), or any such tensor), row v
// belonging to vocabulary entry v, and sets the pad row to zero. The pad row's value never reaches the model's
// output (padding positions are skipped by the LSTM and the pooling); zeroing it only makes files reproducible and
// readable.
#pragma once

#include "engine/random.h"
#include "engine/tensor.h"
#include "tokenizer/wordpiece.h"

#include <cstdint>
#include <string>
#include <vector>

namespace docbert::lstm_reg {

// hedwig's --mode rand: every row U(-0.25, 0.25) (the range of Kim 2014, which hedwig copies), then the pad row 0.
//   table   (V, E) f32/f64, written in place
//   rng     the draw: V*E uniforms, element i of the table from (seed, offset, i)
//   pad_id  row set to zero, or -1 for none
void init_random_embeddings(Tensor& table, RngStream& rng, int64_t pad_id);

// What a vocabulary word that the vector file lacks gets.
enum class OovInit {
  SharedRandom,   // one U(-0.25, 0.25) vector shared by all of them: hedwig's UnknownWordVecCache, which draws one
                  // vector per tensor size and returns it for every unknown word (the README says "zeros")
  PerWordRandom,  // an independent U(-0.25, 0.25) vector per word (what UnknownWordVecCache was meant to do)
};

struct WordVectorsOptions {
  OovInit oov = OovInit::SharedRandom;
  // After an exact match, also accept a file word whose ASCII lower-case form equals the vocabulary word's (the
  // first such one in file order; an exact match anywhere in the file wins). hedwig's torchtext matches exactly
  // only: false reproduces its coverage. With a lower-cased vocabulary (clean_string) and the cased GoogleNews
  // vectors, true finds "london" through "London".
  bool lowercase_fallback = true;
  int64_t pad_id = 0;  // row set to zero (the pad row is never matched nor counted); -1 for none
};

struct WordVectorsReport {
  std::string format;                // "text" or "binary": what the file was read as
  int64_t file_vectors = 0;          // vectors in the file
  int64_t exact = 0;                 // vocabulary rows filled with the vector of the same word
  int64_t lowercase = 0;             // rows filled through the lower-case fallback
  std::vector<int64_t> missing_ids;  // rows that got the random OOV init, ascending (the pad row is never one)
  int64_t found() const { return exact + lowercase; }
  int64_t missing() const { return static_cast<int64_t>(missing_ids.size()); }
};

// Fills the table from a word-vector file, streaming it (GoogleNews is 3M vectors: only the vocabulary's rows are
// kept). Two formats, told apart by their content:
//   text    (word2vec -binary 0, GloVe, fastText .vec): one "word v1 ... vE" line per word, fields separated by
//           spaces or tabs, trailing whitespace and a final \r allowed; an optional first line "N E" (two integers)
//           announces the count and size. Without that line the first vector sets E. A GloVe file whose first
//           word is an integer and E = 1 would read as a header: not supported.
//   binary  (word2vec -binary 1, GoogleNews-vectors-negative300.bin): the header line "N E\n", then N records of
//           the word's bytes, one space, and E little-endian f32 (whitespace before a word, such as word2vec's
//           '\n' after each record, is skipped). A file with a header is read as binary when the bytes after its
//           first word hold a control character that no text file has (raw f32 data always does).
// Every line of a text file is checked for its field count; the numbers of the lines that fill a row are parsed
// and must be finite (lines of words outside the vocabulary are not converted, which keeps a 3M-line file fast).
// Errors name "path:line" (text) or "path: vector k" with its byte offset (binary): a missing or empty file, a
// vector size other than E, a field that is not a number, a non-finite value, a truncated record, a vector count
// that differs from the header's, trailing bytes after the header's count.
//   table    (V, E) f32/f64, written in place; E must be the file's size
//   vocab    V words, id = index (tokenizer/word_vocab.h's words()); must be unique
//   path     the vector file
//   rng      draws the OOV vectors after the file is read: E uniforms (SharedRandom) or missing * E (PerWordRandom)
//   options  OOV init, lower-case fallback, pad row
// Returns the counts; found() + missing() = V, or V - 1 with a pad row.
WordVectorsReport init_from_word_vectors(Tensor& table, const std::vector<std::string>& vocab, const std::string& path,
                                         RngStream& rng, const WordVectorsOptions& options = {});

// A WordPiece student (its vocabulary is the teacher's, id for id) starts from the teacher's input embeddings.
//   table          (V, E) f32/f64, written in place
//   teacher_table  (V, E) f32/f64: the teacher's "embeddings.word_embeddings.weight" (so E = the teacher's C)
//   pad_id         row set to zero afterwards, or -1 to keep the teacher's
void init_from_teacher_rows(Tensor& table, const Tensor& teacher_table, int64_t pad_id);

struct TeacherPiecesReport {
  int64_t unknown = 0;  // words WordPiece maps to the teacher's [UNK] (wholly or in part), the unk token excluded
};

// A word student starts from the teacher's input embeddings: row v is the mean of the teacher rows of the
// WordPiece pieces of vocab[v] ("playing" -> play, ##ing). Special words ("[UNK]", "[MASK]") are looked up as the
// tokenizer's special tokens; a word with no pieces at all (only characters BERT's cleaner drops) gets the [UNK]
// row.
//   table          (V, E) f32/f64, written in place
//   vocab          V words, id = index
//   teacher_table  (V_t, E) f32/f64, V_t = wordpiece.vocab_size(): the teacher's word-embedding table
//   wordpiece      the teacher's tokenizer
//   pad_id         row set to zero afterwards, or -1 for none
TeacherPiecesReport init_from_teacher_pieces(Tensor& table, const std::vector<std::string>& vocab,
                                             const Tensor& teacher_table, const tok::WordPiece& wordpiece,
                                             int64_t pad_id);

}  // namespace docbert::lstm_reg
