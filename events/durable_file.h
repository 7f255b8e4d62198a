// Durable file-system steps for metadata: a file is only trusted once its bytes and its
// directory entry are on disk, so every creation is followed by an fsync of the directory.
#pragma once

#include <string>

#include "events/schema/result.h"

namespace payledger::events {

// fsync of a directory: makes the entries created, renamed or removed in it durable.
Status fsync_directory(const std::string& dir);
// create_directories, then fsync the parent of every directory it created.
Status create_directories_durably(const std::string& dir);
// Replaces dir/name with `content` atomically and durably: written to dir/name.tmp-<pid>,
// fsynced, renamed over dir/name, then dir fsynced. A crash leaves the old file or the new.
Status replace_file_durably(const std::string& dir, const std::string& name,
                            const std::string& content);
// Creates dir/name with `content` unless it exists (then leaves it alone and returns false):
// written to a temp file, fsynced and hard-linked into place, which is atomic and race-free
// between processes; then dir fsynced.
Result<bool> create_file_once_durably(const std::string& dir, const std::string& name,
                                      const std::string& content);
// Removes dir/*.tmp-<pid> files whose process is gone (leftovers of a crash mid-write).
void remove_stale_temp_files(const std::string& dir);

}  // namespace payledger::events
