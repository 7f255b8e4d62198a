// End-to-end Kafka bench: append N generated events to a fresh topic (transactions of
// --txn-events), fold them exactly-once into a fresh RocksDB store, then measure the latency
// from an append's commit to its balances being visible (committed in RocksDB) while events
// arrive at --rate events/s. The broker (scripts/kafka start) and this process share the
// machine. Prints one "metric value unit" line per result, parseable by scripts.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "events/codec.h"
#include "events/kafka_log.h"
#include "projections/kafka_fold.h"
#include "tools/generator.h"

namespace {

using namespace payledger;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string brokers = "127.0.0.1:19092";
  uint64_t events = 1'000'000;
  uint32_t partitions = 4;
  uint64_t txn_events = 10000;
  uint64_t rate = 10000;
  int latency_seconds = 10;
  std::string dir = "/tmp/payledger-kafka-bench";
  bool sync = true;  // fsync the store's WAL at every commit (the CLI's default)
  int commit_interval_ms = 20;
  std::vector<std::string> properties;  // -X key=value for the fold's consumer
};

std::vector<events::AppendRecord> generate(uint64_t n, uint64_t seed) {
  tools::Generator gen({n, seed, 500, ""});
  std::vector<events::AppendRecord> out;
  out.reserve(n);
  v1::Envelope e;
  while (gen.next(&e)) out.push_back(events::event_record(e));
  return out;
}

events::KafkaOptions topic(const Args& a, const std::string& name) {
  events::KafkaOptions o;
  o.brokers = a.brokers;
  for (const std::string& kv : a.properties) {
    auto parsed = events::parse_kafka_property(kv);
    if (!parsed) {
      fmt::print(stderr, "-X {}: {}\n", kv, parsed.error().reason);
      std::exit(2);
    }
    o.extra.push_back(*parsed);
  }
  o.topic = fmt::format("bench.{}.{}.{}", name, ::getpid(),
                        Clock::now().time_since_epoch().count());
  if (Status s = events::create_topic(o, a.partitions, 1); !s) {
    fmt::print(stderr, "create topic: {}\n", s.error().reason);
    std::exit(1);
  }
  return o;
}

double seconds(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1e6;
}

int throughput(const Args& a) {
  auto o = topic(a, "throughput");
  auto recs = generate(a.events, 42);
  auto producer = events::KafkaProducer::open(o, a.partitions).value();
  auto t0 = Clock::now();
  for (size_t i = 0; i < recs.size(); i += a.txn_events) {
    size_t n = std::min<size_t>(a.txn_events, recs.size() - i);
    if (Status s = producer->append({recs.data() + i, n}); !s) {
      fmt::print(stderr, "append: {}\n", s.error().reason);
      return 1;
    }
  }
  double append_s = seconds(Clock::now() - t0);
  std::filesystem::remove_all(a.dir);
  auto store = projections::Store::open(a.dir, false).value();
  projections::KafkaFoldOptions ko;
  ko.group = o.topic + ".fold";
  ko.until_idle = true;
  ko.fold.sync = a.sync;
  Clock::time_point first_commit{}, last_commit{};
  uint64_t first_records = 0;
  ko.on_commit = [&](const projections::Folder& f) {
    if (first_commit == Clock::time_point{}) {
      first_commit = Clock::now();
      first_records = f.stats().records;
    }
    last_commit = Clock::now();
  };
  auto t1 = Clock::now();
  auto stats = projections::fold_kafka(*store, o, ko);
  double fold_s = seconds(Clock::now() - t1);
  double steady_s = seconds(last_commit - first_commit);
  if (!stats) {
    fmt::print(stderr, "fold failed: {}\n", stats.error().reason);
    return 1;
  }
  // Every record must be folded; not every event posts (contracts, duplicates, expiries).
  if (stats->records != a.events) {
    fmt::print(stderr, "fold incomplete: {} of {} events applied ({} records, {} rejected)\n",
               stats->applied, a.events, stats->records, stats->rejected);
    return 1;
  }
  fmt::print("events {} count\n", a.events);
  fmt::print("partitions {} count\n", a.partitions);
  fmt::print("append_events_per_s {:.0f} events/s\n", a.events / append_s);
  fmt::print("fold_events_per_s {:.0f} events/s\n", a.events / fold_s);
  fmt::print("fold_seconds {:.2f} s (includes joining the group)\n", fold_s);
  if (steady_s > 0) {
    fmt::print("fold_events_per_s_after_join {:.0f} events/s\n",
               static_cast<double>(a.events - first_records) / steady_s);
  }
  return 0;
}

struct Pending {
  Clock::time_point appended;
  std::vector<int64_t> last_offsets;
};

int latency(const Args& a) {
  auto o = topic(a, "latency");
  uint64_t total = a.rate * static_cast<uint64_t>(a.latency_seconds);
  auto recs = generate(total, 43);
  std::filesystem::remove_all(a.dir);
  auto store = projections::Store::open(a.dir, false).value();
  std::mutex mu;
  std::deque<Pending> pending;
  std::vector<double> latencies_ms;
  std::atomic<bool> stop{false};
  projections::KafkaFoldOptions ko;
  ko.group = o.topic + ".fold";
  ko.fold.stop = &stop;
  ko.commit_interval_ms = a.commit_interval_ms;
  ko.fold.sync = a.sync;
  ko.on_commit = [&](const projections::Folder& folder) {
    auto now = Clock::now();
    std::lock_guard<std::mutex> lock(mu);
    while (!pending.empty()) {
      const Pending& p = pending.front();
      bool visible = true;
      for (size_t i = 0; i < p.last_offsets.size(); ++i) {
        if (p.last_offsets[i] >= 0 &&
            static_cast<int64_t>(folder.next_offset(static_cast<uint32_t>(i))) <=
                p.last_offsets[i]) {
          visible = false;
        }
      }
      if (!visible) break;
      latencies_ms.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(now - p.appended).count() / 1e3);
      pending.pop_front();
    }
  };
  std::thread folder([&] {
    auto stats = projections::fold_kafka(*store, o, ko);
    if (!stats) fmt::print(stderr, "fold: {}\n", stats.error().reason);
  });
  std::this_thread::sleep_for(std::chrono::seconds(3));  // let the fold join the group
  auto producer = events::KafkaProducer::open(o, a.partitions).value();
  // One transaction every 10 ms carrying rate/100 events.
  size_t per_txn = std::max<uint64_t>(1, a.rate / 100);
  auto next = Clock::now();
  for (size_t i = 0; i < recs.size(); i += per_txn) {
    std::this_thread::sleep_until(next);
    next += std::chrono::milliseconds(10);
    size_t n = std::min(per_txn, recs.size() - i);
    if (Status s = producer->append({recs.data() + i, n}); !s) {
      fmt::print(stderr, "append: {}\n", s.error().reason);
      break;
    }
    std::lock_guard<std::mutex> lock(mu);
    pending.push_back({Clock::now(), producer->last_offsets()});
  }
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (pending.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  folder.join();
  std::lock_guard<std::mutex> lock(mu);
  if (latencies_ms.empty()) {
    fmt::print(stderr, "no latency samples\n");
    return 1;
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double q) {
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(q * static_cast<double>(latencies_ms.size())))];
  };
  fmt::print("latency_rate {} events/s\n", a.rate);
  fmt::print("latency_samples {} transactions of {} events\n", latencies_ms.size(), per_txn);
  fmt::print("latency_ms_p50 {:.1f} ms\n", pct(0.50));
  fmt::print("latency_ms_p99 {:.1f} ms\n", pct(0.99));
  fmt::print("latency_ms_max {:.1f} ms\n", latencies_ms.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"payledger end-to-end Kafka bench (needs scripts/kafka start)"};
  app.add_option("--brokers", a.brokers)->capture_default_str();
  app.add_option("--events", a.events, "Events for the throughput phase")->capture_default_str();
  app.add_option("--partitions", a.partitions)->capture_default_str();
  app.add_option("--txn-events", a.txn_events, "Events per append transaction")
      ->capture_default_str();
  app.add_option("--rate", a.rate, "Events/s for the latency phase")->capture_default_str();
  app.add_option("--latency-seconds", a.latency_seconds)->capture_default_str();
  app.add_option("--dir", a.dir, "Scratch RocksDB directory")->capture_default_str();
  app.add_flag("!--no-sync", a.sync, "Do not fsync the store at each commit");
  app.add_option("--commit-interval-ms", a.commit_interval_ms,
                 "Latency phase: commit at least this often while records flow")
      ->capture_default_str();
  app.add_option("-X", a.properties, "librdkafka property key=value (fold consumer)");
  CLI11_PARSE(app, argc, argv);
  if (int rc = throughput(a); rc != 0) return rc;
  int rc = latency(a);
  std::filesystem::remove_all(a.dir);
  return rc;
}
