#include "store/postgres/postgres_errors.hpp"

#include <exception>
#include <pqxx/except>
#include <string>

namespace ucedge::store::postgres {

namespace {

using Kind = StoreError::Kind;

// SQLSTATE classes and codes: PostgreSQL manual, appendix A.
MappedError from_sqlstate(const std::string& state, std::string message) {
  const std::string klass = state.substr(0, 2);
  if (klass == "23") return {{Kind::constraint, std::move(message)}};
  if (state == "40001" || state == "40P01" || state == "55P03" || state == "57014") {
    return {{Kind::busy, std::move(message)}};
  }
  if (klass == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
    return {{Kind::unavailable, std::move(message)}, true};
  }
  if (klass == "53" || klass == "58" || state == "3D000" || state == "28000" || state == "28P01") {
    return {{Kind::unavailable, std::move(message)}};
  }
  if (klass == "42" || klass == "22" || klass == "25" || klass == "0A" || klass == "21") {
    return {{Kind::invalid, std::move(message)}};
  }
  return {{Kind::internal, std::move(message)}};
}

}  // namespace

std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const bool blank = c == '\n' || c == '\t' || c == '\r' || c == ' ';
    if (blank) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

MappedError current_exception_error() {
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    return {{Kind::unavailable,
             "the connection broke during COMMIT, so whether it committed is unknown: " +
                 one_line(e.what())},
            true};
  } catch (const pqxx::broken_connection& e) {
    return {{Kind::unavailable, "PostgreSQL connection lost: " + one_line(e.what())}, true};
  } catch (const pqxx::sql_error& e) {
    return from_sqlstate(e.sqlstate(), one_line(e.what()));
  } catch (const pqxx::usage_error& e) {
    return {{Kind::invalid, one_line(e.what())}};
  } catch (const pqxx::argument_error& e) {
    return {{Kind::invalid, one_line(e.what())}};
  } catch (const pqxx::conversion_error& e) {
    return {{Kind::invalid, one_line(e.what())}};
  } catch (const std::exception& e) {
    return {{Kind::internal, one_line(e.what())}};
  } catch (...) {
    return {{Kind::internal, "unknown error from libpqxx"}};
  }
}

}  // namespace ucedge::store::postgres
