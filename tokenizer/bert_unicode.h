// tokenizer/bert_unicode.h: the character classes and mappings of HF's BERT normalizer and pre-tokenizer.
//
// BertTokenizerFast (the `tokenizers` Rust crate) decides "control", "punctuation" and "non-spacing mark" with
// the `unicode_categories` crate, whose tables predate Unicode 9, while lower-casing uses the Rust standard
// library (Unicode 16) and NFD the `unicode-normalization-alignments` crate. docbert takes the categories,
// NFD and simple lower-case mappings from utf8proc (Unicode 15.0 in utf8proc 2.8) and corrects the few
// hundred code points where HF's older or newer tables disagree; tests/golden/wordpiece.py compares every code
// point. A utf8proc with newer Unicode data only changes code points assigned after Unicode 15.0.
#pragma once

namespace docbert::tok {

// Removed by the text cleaner (besides U+0000 and U+FFFD): categories Cc (except \t \n \r, which are
// whitespace), Cf and Co. Unassigned code points (Cn) are kept, as in HF's fast tokenizer.
bool is_control(char32_t cp);

// Whitespace: \t \n \r and the separators Zs, Zl, Zp (\v \f and U+0085 are Cc, so the cleaner removes them).
bool is_whitespace(char32_t cp);

// Split off as words of their own: ASCII 33-47, 58-64, 91-96, 123-126 and the P* categories.
bool is_punctuation(char32_t cp);

// The CJK ideograph blocks BERT surrounds with spaces (HF's fast tokenizer starts its fifth range at
// U+2B920, where BERT's tokenization.py and HF's slow tokenizer start at U+2B820).
bool is_cjk(char32_t cp);

// Non-spacing marks (Mn) that accent stripping removes after NFD.
bool is_stripped_mark(char32_t cp);

// Writes the canonical decomposition (NFD, not yet reordered) of `cp` into out and returns its length.
//   cp:  any code point
//   out: room for 4 code points (the longest canonical decomposition in Unicode 15 has 4)
int decompose(char32_t cp, char32_t* out);

// Canonical combining class (0 for starters), for the canonical reordering step of NFD.
int combining_class(char32_t cp);

// Writes the full lower-case mapping of `cp` (Rust's char::to_lowercase) into out and returns its length:
// one code point, or two for U+0130 (i + combining dot above).
//   cp:  any code point
//   out: room for 2 code points
int lowercase(char32_t cp, char32_t* out);

}  // namespace docbert::tok
