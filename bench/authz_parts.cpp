// The parts of a refresh, timed one by one: minting an access token and a
// refresh token (one RS256 signature each), reading a presented token, and
// the rotation's transaction on a SQLite file, from two threads as the HTTP
// server would. Usage: ucedge-authz-parts [DIR] (the SQLite file goes there;
// default: a new directory under /tmp).
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <mutex>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "authz/jose/tokens.hpp"
#include "authz/tokens/refresh_tokens.hpp"
#include "store/store.hpp"

using namespace ucedge;
using Clock = std::chrono::steady_clock;

namespace {

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

template <class Work>
double microseconds_each(int n, Work&& work) {
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) work();
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / n;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string issuer = "8d0d5324-f4f0-4b0b-811e-4a59fdb6b722";
  authz::KeySet keys;
  keys.signing = std::make_shared<authz::SigningKey>(authz::SigningKey::generate(issuer).value());
  keys.encryption = std::make_shared<authz::EncryptionKey>(authz::EncryptionKey::generate(issuer));
  keys.verifying = {keys.signing};
  keys.decrypting = {keys.encryption};

  authz::RefreshClaims refresh{issuer, "0192f3a4-1111-7abc-8def-0123456789ab", "phone-app", "user", 1'800'000'000};
  authz::AccessClaims access{issuer, "alice", "phone-app", "openid calls", "jti", "family", "user", 1, 2};
  std::string refresh_token, access_token;
  const int n = 2000;
  double mint_refresh = microseconds_each(n, [&] { refresh_token = authz::mint_refresh_token(keys, refresh).value(); });
  double mint_access = microseconds_each(n, [&] { access_token = authz::mint_access_token(keys, access).value(); });
  double read_refresh = microseconds_each(n, [&] { (void)authz::read_refresh_token(keys, refresh_token); });
  double read_access = microseconds_each(n, [&] { (void)authz::read_access_token(keys, access_token); });
  std::printf("mint refresh token %.1f us, mint access token %.1f us, read refresh token %.1f us, "
              "read access token %.1f us (one core)\n",
              mint_refresh, mint_access, read_refresh, read_access);

  std::filesystem::path dir = argc > 1 ? std::filesystem::path(argv[1]) / "ucedge-authz-parts"
                                       : std::filesystem::temp_directory_path() / "ucedge-authz-parts";
  std::filesystem::remove_all(dir);
  store::StoreConfig config;
  config.sqlite_path = "authz.db";
  auto opened = store::open_store(config, dir);
  if (!opened) {
    std::fprintf(stderr, "cannot open the store in %s: %s\n", dir.c_str(), opened.error().message.c_str());
    return 1;
  }
  auto& db = **opened;
  authz::RefreshTokenStore tokens(db, {}, nullptr);
  constexpr int kThreads = 2, kChains = 10, kPerChain = 150;
  std::vector<std::string> heads;
  for (int i = 0; i < kThreads * kChains; ++i) {
    heads.push_back(tokens.issue("user" + std::to_string(i), "app", "", 2'000'000'000).value().index);
  }
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kChains; ++c) {
        std::string current = heads[static_cast<std::size_t>(t * kChains + c)];
        for (int i = 0; i < kPerChain; ++i) current = tokens.exchange(current, "app").value().token.index;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const int exchanges = kThreads * kChains * kPerChain;
  std::printf("rotation transaction: %d in %.2f s from %d threads, %.3f ms each (%.0f/s) on %s\n", exchanges,
              seconds, kThreads, seconds * 1000 / exchanges, exchanges / seconds, dir.c_str());

  // The server's way: exchange_later(), many chains in flight, each
  // callback queuing its chain's next exchange. CPU time per exchange is
  // what the store adds to a refresh.
  constexpr int kLaterChains = 50, kLaterPerChain = 400;
  std::vector<std::string> later_heads;
  for (int i = 0; i < kLaterChains; ++i) {
    later_heads.push_back(tokens.issue("later" + std::to_string(i), "app", "", 2'000'000'000).value().index);
  }
  std::mutex finished_mutex;
  std::condition_variable all_finished;
  int chains_left = kLaterChains;
  std::function<void(std::string, int)> next = [&](std::string index, int left) {
    if (left == 0) {
      std::lock_guard lock(finished_mutex);
      if (--chains_left == 0) all_finished.notify_all();
      return;
    }
    tokens.exchange_later(std::move(index), "app", {}, std::nullopt, [&, left](auto exchange) {
      next(exchange.value().token.index, left - 1);
    });
  };
  const double cpu_before = process_cpu_seconds();
  start = Clock::now();
  for (const auto& head : later_heads) next(head, kLaterPerChain);
  {
    std::unique_lock lock(finished_mutex);
    all_finished.wait(lock, [&] { return chains_left == 0; });
  }
  const double later_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double later_cpu = process_cpu_seconds() - cpu_before;
  const int later_exchanges = kLaterChains * kLaterPerChain;
  std::printf("exchange_later: %d from %d chains in %.2f s (%.0f/s), %.1f us CPU each\n", later_exchanges,
              kLaterChains, later_seconds, later_exchanges / later_seconds, later_cpu * 1e6 / later_exchanges);
  std::filesystem::remove_all(dir);
  return 0;
}
