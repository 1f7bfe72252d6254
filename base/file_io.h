// base/file_io.h: the one whole-file reader of docbert (vocabularies, tokenizer configs, SentencePiece models,
// and the dataset readers of train/data, which build on this library).
#pragma once

#include <string>

namespace docbert {

// Reads a whole file as bytes. Throws docbert::Error "<path>: <what> not found", "<path>: <what> is not a regular
// file", "<path>: cannot open the <what>: <reason>" or "<path>: read error in the <what>".
//   path: the file
//   what: its role, for the message ("vocabulary", "hedwig TSV train file")
std::string read_file(const std::string& path, const char* what);

// Writes `content` to `path` + ".tmp", then renames it over `path`, so a reader (or a crash) never sees half a file
// and an existing file is replaced only by a complete one. Throws docbert::Error "<path>: cannot write the <what>:
// <reason>" and removes the temporary file on failure.
//   path: the file; its folder must exist
//   what: its role, for the message ("results", "trainer state")
void write_file_atomic(const std::string& path, const std::string& content, const char* what);

}  // namespace docbert
