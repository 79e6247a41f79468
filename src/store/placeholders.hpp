#pragma once
// Finding the `?` placeholders of a statement, outside quoted strings,
// quoted identifiers and comments, and numbering them for PostgreSQL.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ucedge::store {

// Offsets of every `?` that is a placeholder. Understands '...' (with ''),
// E'...' (with backslash escapes), "..." identifiers, -- and /* */ comments.
std::vector<std::size_t> placeholder_positions(std::string_view sql);

std::size_t count_placeholders(std::string_view sql);

// Rewrites the n-th `?` (from 0) as `$<n+1>` followed by suffix(n), e.g. a
// cast such as "::int8".
std::string number_placeholders(std::string_view sql,
                                const std::function<std::string_view(std::size_t)>& suffix = {});

}  // namespace ucedge::store
