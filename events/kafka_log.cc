#include "events/kafka_log.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace payledger::events {
namespace {

using Clock = std::chrono::steady_clock;
// Abortable transactions are retried whole this many times before giving up.
constexpr int kTransactionAttemptsMax = 5;
// Transaction timeout on the broker; message.timeout.ms must stay below it.
constexpr int kTransactionTimeoutMs = 60000;
constexpr int kMessageTimeoutMs = 55000;

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

Error kafka_error(std::string_view what, rd_kafka_resp_err_t err) {
  return make_error(Code::kIo, fmt::format("{}: {}", what, rd_kafka_err2str(err)));
}

Error unreachable(const KafkaOptions& o, std::string_view detail) {
  return make_error(Code::kIo, fmt::format("cannot reach Kafka broker(s) {}: {}", o.brokers,
                                           detail));
}

// Builds a conf from `base` properties, then the caller's -X extras (which cannot touch the
// keys check_kafka_property guards).
Result<rd_kafka_conf_t*> make_conf(const KafkaOptions& o,
                                   std::vector<std::pair<std::string, std::string>> base) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  base.insert(base.begin(), {"bootstrap.servers", o.brokers});
  // Errors only by default (benign retries such as "coordinator load in progress" would
  // otherwise reach stderr); -X log_level=6 shows everything.
  base.insert(base.begin() + 1, {"log_level", "3"});
  for (const auto& [k, v] : o.extra) {
    if (Status s = check_kafka_property(k); !s) {
      rd_kafka_conf_destroy(conf);
      return s.error();
    }
  }
  base.insert(base.end(), o.extra.begin(), o.extra.end());
  for (const auto& [k, v] : base) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return make_error(Code::kInvalidArgument, fmt::format("kafka property {}={}: {}", k, v,
                                                            errstr));
    }
  }
  return conf;
}

Result<KafkaHandle> make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);  // takes conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return make_error(Code::kInvalidArgument, fmt::format("kafka client: {}", errstr));
  }
  return KafkaHandle(rk);
}

using DeliveryCallback = void (*)(rd_kafka_t*, const rd_kafka_message_t*, void*);

Result<KafkaHandle> make_producer(const KafkaOptions& o,
                                  std::vector<std::pair<std::string, std::string>> base,
                                  DeliveryCallback on_delivery, void* opaque) {
  auto conf = make_conf(o, std::move(base));
  if (!conf) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(*conf, on_delivery);
  rd_kafka_conf_set_opaque(*conf, opaque);
  return make_handle(RD_KAFKA_PRODUCER, *conf);
}

// Produces one record (copied), waiting while the local queue is full. `headers` (may be
// null) is taken over on success and left to the caller on failure.
rd_kafka_resp_err_t produce(rd_kafka_t* rk, const std::string& topic, uint32_t partition,
                            std::string_view key, std::string_view value,
                            rd_kafka_headers_t* headers) {
  for (;;) {
    rd_kafka_resp_err_t err =
        headers != nullptr
            ? rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_PARTITION(static_cast<int32_t>(partition)),
                                RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END)
            : rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_PARTITION(static_cast<int32_t>(partition)),
                                RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return err;
    rd_kafka_poll(rk, 10);  // let deliveries drain the local queue
  }
}

void add_header(rd_kafka_headers_t* h, std::string_view name, std::string_view value) {
  rd_kafka_header_add(h, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                      static_cast<ssize_t>(value.size()));
}

// Metadata for the topic: its partition count and replication factor, or a clear error.
Result<TopicInfo> metadata_of(rd_kafka_t* rk, const KafkaOptions& o, int timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return unreachable(o, rd_kafka_err2str(err));
  Result<TopicInfo> out = make_error(Code::kInvalidArgument,
                                     fmt::format("topic '{}' not found on {} (create it with "
                                                 "`payledger topic create`)",
                                                 o.topic, o.brokers));
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (o.topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt > 0) {
      TopicInfo info;
      info.partitions = static_cast<uint32_t>(t.partition_cnt);
      info.replication = t.partitions[0].replica_cnt;
      out = info;
    } else if (t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      out = kafka_error(fmt::format("metadata for topic '{}'", o.topic), t.err);
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

Result<uint32_t> partitions_of(rd_kafka_t* rk, const KafkaOptions& o) {
  auto info = metadata_of(rk, o, o.timeout_ms);
  if (!info) return info.error();
  return info->partitions;
}

// Errors librdkafka recovers from by itself (reconnecting, finding the new leader or
// coordinator): the fold waits for them, for a bounded time. Anything else fails it.
bool transient(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
      return true;
    default:
      return false;
  }
}

// Keys -X may not set (lower case, without a "topic." prefix), and why.
constexpr std::pair<std::string_view, std::string_view> kGuardedProperties[] = {
    {"bootstrap.servers", "use --brokers"},
    {"metadata.broker.list", "use --brokers"},
    {"group.id", "use --group"},
    {"group.instance.id", "use --instance-id"},
    {"transactional.id", "use --transactional-id"},
    {"isolation.level", "the fold reads committed records only (read_committed)"},
    {"enable.auto.commit", "positions live in the store, never auto-committed"},
    {"auto.commit.enable", "positions live in the store, never auto-committed"},
    {"enable.auto.offset.store", "positions live in the store, never auto-stored"},
    {"offset.store.method", "positions live in the store"},
    {"auto.offset.reset", "an offset out of range must stop the fold, never jump"},
    {"enable.partition.eof", "--until-idle needs the end-of-partition events"},
    {"partition.assignment.strategy", "the fold's rebalance handling uses the eager range "
                                      "assignor"},
    {"group.protocol", "the fold's rebalance handling uses the classic protocol"},
    {"enable.idempotence", "appends are idempotent and transactional"},
    {"acks", "appends wait for all in-sync replicas"},
    {"request.required.acks", "appends wait for all in-sync replicas"},
    {"transaction.timeout.ms", "must stay above message.timeout.ms"},
    {"message.timeout.ms", "must stay below transaction.timeout.ms"},
    {"delivery.timeout.ms", "must stay below transaction.timeout.ms"},
    {"queuing.strategy", "records must keep their order"},
};

std::string default_transactional_id(const KafkaOptions& o) {
  return o.transactional_id.empty() ? "payledger-append." + o.topic : o.transactional_id;
}

// Copies consumed messages into `out` (which owns the bytes) and destroys them.
void copy_messages(std::vector<rd_kafka_message_t*>& msgs, ReadBatch* out) {
  size_t bytes = 0;
  for (auto* m : msgs) bytes += m->key_len + m->len;
  char* p = out->reserve(bytes);
  for (auto* m : msgs) {
    LogRecord rec;
    rec.partition = static_cast<uint32_t>(m->partition);
    rec.offset = static_cast<uint64_t>(m->offset);
    rd_kafka_headers_t* hdrs = nullptr;
    const void* fmt_value = nullptr;
    size_t fmt_size = 0;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, kFormatHeader.data(), &fmt_value, &fmt_size) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        std::string_view(static_cast<const char*>(fmt_value), fmt_size) == kRawJsonFormat) {
      rec.format = RecordFormat::kRawJson;
    }
    if (m->key_len > 0) std::memcpy(p, m->key, m->key_len);
    rec.key = std::string_view(p, m->key_len);
    p += m->key_len;
    if (m->len > 0) std::memcpy(p, m->payload, m->len);
    rec.value = std::string_view(p, m->len);
    p += m->len;
    out->records.push_back(rec);
    rd_kafka_message_destroy(m);
  }
  msgs.clear();
}

}  // namespace

Result<std::pair<std::string, std::string>> parse_kafka_property(std::string_view kv) {
  size_t eq = kv.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("-X expects key=value, got '{}'", kv));
  }
  std::pair<std::string, std::string> out(kv.substr(0, eq), kv.substr(eq + 1));
  if (Status s = check_kafka_property(out.first); !s) return s.error();
  return out;
}

bool valid_instance_id(std::string_view id) {
  if (id.empty() || id.size() > 249) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

Status check_kafka_property(std::string_view key) {
  std::string k(key);
  std::transform(k.begin(), k.end(), k.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  k.erase(0, k.find_first_not_of(" \t"));
  k.erase(k.find_last_not_of(" \t") + 1);
  if (k.starts_with("topic.")) k.erase(0, 6);
  for (const auto& [guarded, why] : kGuardedProperties) {
    if (k == guarded) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("-X {}: payledger sets this itself and it cannot be "
                                    "overridden ({})",
                                    key, why));
    }
  }
  return Status::Ok();
}

Result<TopicInfo> topic_info(const KafkaOptions& o) {
  auto conf = make_conf(o, {});
  if (!conf) return conf.error();
  auto rk = make_handle(RD_KAFKA_PRODUCER, *conf);
  if (!rk) return rk.error();
  auto info = metadata_of(rk->get(), o, o.timeout_ms);
  if (!info) return info;
  char* id = rd_kafka_clusterid(rk->get(), o.timeout_ms);
  if (id == nullptr) {
    return make_error(Code::kIo, fmt::format("Kafka broker(s) {} did not tell their cluster id "
                                             "(brokers older than 0.10.1?)",
                                             o.brokers));
  }
  info->cluster_id = id;
  rd_kafka_mem_free(rk->get(), id);
  return info;
}

std::string kafka_log_identity(const TopicInfo& info, const KafkaOptions& o) {
  return fmt::format("kafka:{}/{}", info.cluster_id, o.topic);
}

Error out_of_range_error(const KafkaOptions& o, uint32_t partition, int64_t offset,
                         Watermarks range) {
  return make_error(
      Code::kCorrupt,
      fmt::format("topic '{}' partition {}: the store's next offset {} is outside the offsets "
                  "the brokers hold, [{}, {}): records it has not folded were deleted "
                  "(retention, DeleteRecords) or the topic was recreated. Folding on would "
                  "skip records silently; restore the topic, or run `payledger rebuild` to "
                  "refold from the log as it is now (with --allow-partial-history if its "
                  "first records are gone)",
                  o.topic, partition, offset, range.low, range.high));
}

Result<uint32_t> topic_partitions(const KafkaOptions& o) {
  auto conf = make_conf(o, {});
  if (!conf) return conf.error();
  auto rk = make_handle(RD_KAFKA_PRODUCER, *conf);
  if (!rk) return rk.error();
  return partitions_of(rk->get(), o);
}

Status create_topic(const KafkaOptions& o, uint32_t partitions, int replication) {
  auto conf = make_conf(o, {});
  if (!conf) return conf.error();
  auto rk = make_handle(RD_KAFKA_PRODUCER, *conf);
  if (!rk) return rk.error();
  char errstr[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(o.topic.c_str(), static_cast<int>(partitions),
                                                  replication, errstr, sizeof errstr);
  if (nt == nullptr) return make_error(Code::kInvalidArgument, errstr);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk->get());
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(ao, o.timeout_ms, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_request_timeout(ao, o.timeout_ms, errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk->get(), &nt, 1, ao, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, o.timeout_ms + 1000);
  Status result = Status::Ok();
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (ev == nullptr) {
    result = unreachable(o, "no answer to CreateTopics");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = unreachable(o, rd_kafka_event_error_string(ev));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    if (n == 1) topic_err = rd_kafka_topic_result_error(res[0]);
    if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR &&
        topic_err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(res[0]);
      result = make_error(Code::kIo, fmt::format("create topic '{}': {}", o.topic,
                                                 msg ? msg : rd_kafka_err2str(topic_err)));
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  if (!result || topic_err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return result;
  auto existing = partitions_of(rk->get(), o);
  if (!existing) return existing.error();
  if (*existing != partitions) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("topic '{}' exists with {} partitions, not {}", o.topic,
                                  *existing, partitions));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- producer

struct KafkaProducer::Impl {
  KafkaOptions options;
  uint32_t partitions = 0;
  KafkaHandle rk;
  std::atomic<uint64_t> delivery_failures{0};
  std::mutex mu;
  std::string first_delivery_error;
  std::vector<int64_t> last_offsets;  // per partition, this transaction (delivery thread)

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::lock_guard<std::mutex> lock(self->mu);
      auto p = static_cast<size_t>(m->partition);
      if (p < self->last_offsets.size()) {
        self->last_offsets[p] = std::max<int64_t>(self->last_offsets[p], m->offset);
      }
      return;
    }
    self->delivery_failures.fetch_add(1);
    std::lock_guard<std::mutex> lock(self->mu);
    if (self->first_delivery_error.empty()) self->first_delivery_error = rd_kafka_err2str(m->err);
  }

  Status produce_all(std::span<const AppendRecord> records);
  Status run_transaction(std::span<const AppendRecord> records, bool abort);
};

Status KafkaProducer::Impl::produce_all(std::span<const AppendRecord> records) {
  for (const AppendRecord& r : records) {
    const bool broadcast = r.key == kBroadcastKey;
    const uint32_t first = broadcast ? 0 : partition_for_key(r.key, partitions);
    const uint32_t last = broadcast ? partitions - 1 : first;
    for (uint32_t p = first; p <= last; ++p) {
      rd_kafka_headers_t* headers = nullptr;
      if (r.format == RecordFormat::kRawJson) {
        headers = rd_kafka_headers_new(1);
        add_header(headers, kFormatHeader, kRawJsonFormat);
      }
      rd_kafka_resp_err_t err = produce(rk.get(), options.topic, p, r.key, r.value, headers);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (headers != nullptr) rd_kafka_headers_destroy(headers);
        return kafka_error("produce", err);
      }
    }
  }
  return Status::Ok();
}

Status KafkaProducer::Impl::run_transaction(std::span<const AppendRecord> records, bool abort) {
  for (int attempt = 1; attempt <= kTransactionAttemptsMax; ++attempt) {
    delivery_failures = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      last_offsets.assign(partitions, -1);
    }
    if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk.get())) {
      Error out = make_error(Code::kIo, fmt::format("begin transaction: {}",
                                                    rd_kafka_error_string(e)));
      rd_kafka_error_destroy(e);
      return out;
    }
    Status produced = produce_all(records);
    if (!produced || abort) {
      if (rd_kafka_error_t* e = rd_kafka_abort_transaction(rk.get(), -1)) {
        Error out = make_error(Code::kIo, fmt::format("abort transaction: {}",
                                                      rd_kafka_error_string(e)));
        rd_kafka_error_destroy(e);
        return out;
      }
      return produced;
    }
    // Commit flushes every message; retriable errors retry the commit itself.
    for (;;) {
      rd_kafka_error_t* e = rd_kafka_commit_transaction(rk.get(), -1);
      if (e == nullptr) {
        if (delivery_failures.load() == 0) return Status::Ok();
        std::lock_guard<std::mutex> lock(mu);
        return make_error(Code::kIo, fmt::format("{} records not delivered: {}",
                                                 delivery_failures.load(),
                                                 first_delivery_error));
      }
      std::string what = rd_kafka_error_string(e);
      bool retriable = rd_kafka_error_is_retriable(e);
      bool needs_abort = rd_kafka_error_txn_requires_abort(e);
      rd_kafka_error_destroy(e);
      if (retriable) continue;
      if (!needs_abort) {  // fatal (e.g. fenced) or unclassified: this producer is done
        return make_error(Code::kIo, fmt::format("commit transaction (fatal): {}", what));
      }
      if (rd_kafka_error_t* a = rd_kafka_abort_transaction(rk.get(), -1)) {
        Error out = make_error(Code::kIo, fmt::format("abort after '{}': {}", what,
                                                      rd_kafka_error_string(a)));
        rd_kafka_error_destroy(a);
        return out;
      }
      break;  // aborted: rewind and run the whole transaction again
    }
  }
  return make_error(Code::kIo, fmt::format("transaction aborted {} times; giving up",
                                           kTransactionAttemptsMax));
}

KafkaProducer::KafkaProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaProducer::~KafkaProducer() {
  if (impl_ && impl_->rk) rd_kafka_flush(impl_->rk.get(), 5000);
}

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::open(const KafkaOptions& options,
                                                           uint32_t partitions) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->partitions = partitions;
  auto rk = make_producer(options,
                          {{"transactional.id", default_transactional_id(options)},
                           {"enable.idempotence", "true"},
                           {"acks", "all"},
                           {"linger.ms", "5"},
                           {"batch.num.messages", "10000"},
                           {"transaction.timeout.ms", std::to_string(kTransactionTimeoutMs)},
                           {"message.timeout.ms", std::to_string(kMessageTimeoutMs)}},
                          &Impl::on_delivery, impl.get());
  if (!rk) return rk.error();
  impl->rk = std::move(rk).value();
  if (partitions == 0) {
    auto n = partitions_of(impl->rk.get(), options);
    if (!n) return n.error();
    impl->partitions = *n;
  }
  if (rd_kafka_error_t* e = rd_kafka_init_transactions(impl->rk.get(), options.timeout_ms)) {
    Error out = make_error(Code::kIo, fmt::format("init transactions on {}: {}", options.brokers,
                                                  rd_kafka_error_string(e)));
    rd_kafka_error_destroy(e);
    return out;
  }
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

Status KafkaProducer::append(std::span<const AppendRecord> records) {
  if (records.empty()) return Status::Ok();
  return impl_->run_transaction(records, /*abort=*/false);
}

std::vector<int64_t> KafkaProducer::last_offsets() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_offsets;
}

Status KafkaProducer::append_and_abort(std::span<const AppendRecord> records) {
  return impl_->run_transaction(records, /*abort=*/true);
}

// ---------------------------------------------------------------- log (assign-based reads)

struct KafkaLog::Impl {
  KafkaOptions options;
  uint32_t partitions = 0;
  KafkaHandle consumer;
  std::unique_ptr<KafkaProducer> producer;  // opened on first append
  int64_t assigned_partition = -1;
  uint64_t next_offset = 0;  // where the current assignment will deliver next
  bool at_end = false;
};

KafkaLog::KafkaLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaLog::~KafkaLog() {
  if (impl_ && impl_->consumer) rd_kafka_consumer_close(impl_->consumer.get());
}

Result<std::unique_ptr<KafkaLog>> KafkaLog::open(const KafkaOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto conf = make_conf(options, {{"group.id", "payledger-reader"},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"isolation.level", "read_committed"},
                                  {"enable.partition.eof", "true"},
                                  {"auto.offset.reset", "error"},
                                  {"fetch.wait.max.ms", "20"}});
  if (!conf) return conf.error();
  auto rk = make_handle(RD_KAFKA_CONSUMER, *conf);
  if (!rk) return rk.error();
  impl->consumer = std::move(rk).value();
  auto n = partitions_of(impl->consumer.get(), options);
  if (!n) return n.error();
  impl->partitions = *n;
  return std::unique_ptr<KafkaLog>(new KafkaLog(std::move(impl)));
}

uint32_t KafkaLog::partition_count() const { return impl_->partitions; }

Status KafkaLog::append(std::span<const AppendRecord> records) {
  if (!impl_->producer) {
    auto p = KafkaProducer::open(impl_->options, impl_->partitions);
    if (!p) return p.error();
    impl_->producer = std::move(p).value();
  }
  return impl_->producer->append(records);
}

Status KafkaLog::read(uint32_t partition, uint64_t from_offset, size_t max_records,
                      ReadBatch* out) {
  out->clear();
  Impl& s = *impl_;
  if (partition >= s.partitions) {
    return make_error(Code::kInvalidArgument, fmt::format("no partition {}", partition));
  }
  if (s.assigned_partition != partition || s.next_offset != from_offset) {
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), s.options.topic.c_str(),
                                      static_cast<int32_t>(partition))
        ->offset = static_cast<int64_t>(from_offset);
    rd_kafka_resp_err_t err = rd_kafka_assign(s.consumer.get(), list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error("assign", err);
    s.assigned_partition = partition;
    s.next_offset = from_offset;
    s.at_end = false;
  }
  std::vector<rd_kafka_message_t*> msgs;
  auto deadline = Clock::now() + std::chrono::milliseconds(s.options.timeout_ms);
  while (msgs.size() < std::min(max_records, kReadRecordsMax) && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(s.consumer.get(), msgs.empty() ? 100 : 0);
    if (m == nullptr) {
      if (!msgs.empty()) break;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      s.at_end = true;
      break;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      bool retry = transient(m->err);  // librdkafka reconnects; bounded by the deadline
      Error e = make_error(Code::kIo, fmt::format("read topic '{}' partition {} at offset {}: "
                                                  "{} ({})",
                                                  s.options.topic, partition, m->offset,
                                                  rd_kafka_message_errstr(m),
                                                  rd_kafka_err2name(m->err)));
      rd_kafka_message_destroy(m);
      if (retry) continue;
      for (auto* x : msgs) rd_kafka_message_destroy(x);
      s.assigned_partition = -1;  // reassign at the next read
      return e;
    }
    s.next_offset = static_cast<uint64_t>(m->offset) + 1;
    msgs.push_back(m);
  }
  copy_messages(msgs, out);
  return Status::Ok();
}

Result<uint64_t> KafkaLog::end_offset(uint32_t partition) {
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(impl_->consumer.get(), impl_->options.topic.c_str(),
                                       static_cast<int32_t>(partition), &low, &high,
                                       impl_->options.timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error("query watermarks", err);
  return static_cast<uint64_t>(high);
}

// ---------------------------------------------------------------- dead letters

struct KafkaDeadLetters::Impl {
  KafkaOptions options;  // topic = the dead-letter topic
  KafkaHandle rk;
  std::atomic<uint64_t> failures{0};
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) static_cast<Impl*>(opaque)->failures.fetch_add(1);
  }
};

KafkaDeadLetters::KafkaDeadLetters(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaDeadLetters::~KafkaDeadLetters() {
  if (impl_ && impl_->rk) rd_kafka_flush(impl_->rk.get(), 5000);
}
const std::string& KafkaDeadLetters::topic() const { return impl_->options.topic; }

Result<std::unique_ptr<KafkaDeadLetters>> KafkaDeadLetters::open(const KafkaOptions& source) {
  auto info = topic_info(source);
  if (!info) return info.error();
  auto impl = std::make_unique<Impl>();
  impl->options = source;
  impl->options.topic = source.topic + ".dlq";
  // As durable as the source: a dead letter is the only copy the topic keeps of a reject.
  if (Status s = create_topic(impl->options, info->partitions, info->replication); !s) {
    return s.error();
  }
  auto rk = make_producer(impl->options, {{"enable.idempotence", "true"}, {"linger.ms", "5"}},
                          &Impl::on_delivery, impl.get());
  if (!rk) return rk.error();
  impl->rk = std::move(rk).value();
  return std::unique_ptr<KafkaDeadLetters>(new KafkaDeadLetters(std::move(impl)));
}

Status KafkaDeadLetters::send(const DeadLetter& d) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(5);
  add_header(headers, "payledger-reject-code", d.code);
  add_header(headers, "payledger-reject-reason", d.reason);
  add_header(headers, "payledger-source-partition", std::to_string(d.partition));
  add_header(headers, "payledger-source-offset", std::to_string(d.offset));
  if (d.format == RecordFormat::kRawJson) add_header(headers, kFormatHeader, kRawJsonFormat);
  rd_kafka_resp_err_t err =
      produce(impl_->rk.get(), impl_->options.topic, d.partition, d.key, d.value, headers);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(headers);
    return kafka_error("produce dead letter", err);
  }
  return Status::Ok();
}

Status KafkaDeadLetters::flush() {
  rd_kafka_resp_err_t err = rd_kafka_flush(impl_->rk.get(), impl_->options.timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error("flush dead letters", err);
  // Sticky: a dead letter that was not delivered is lost to this producer, so every later
  // flush fails too and no commit can move the offsets past it.
  if (uint64_t n = impl_->failures.load(); n != 0) {
    return make_error(Code::kIo, fmt::format("{} dead letters not delivered", n));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- group consumer

struct KafkaGroupConsumer::Impl {
  KafkaOptions options;
  std::string group;
  std::string instance_id;  // static membership, or empty
  KafkaHandle rk;
  OnAssign on_assign;
  OnRevoke on_revoke;
  std::set<uint32_t> assigned;
  std::set<uint32_t> at_end;
  std::map<uint32_t, int64_t> end_positions;
  std::string transient_error;
  Status callback_error;

  void fail(Status s) {
    if (!s && callback_error.ok()) callback_error = s;
  }

  // Assigns the partitions at the starts on_assign chose; any refusal or assign error is
  // kept for poll() to return, with nothing assigned.
  void assign(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* parts,
              const std::vector<uint32_t>& ids) {
    auto starts = on_assign(ids);
    if (!starts) {
      fail(starts.error());
      return;
    }
    PAYLEDGER_CHECK(starts->size() == ids.size());
    // Offsets are set on a copy of the list before assign (librdkafka's documented way to
    // start from offsets stored elsewhere); never seek_partitions (broken timeout in 2.0).
    PartitionList copy(rd_kafka_topic_partition_list_copy(parts));
    for (int i = 0; i < copy->cnt; ++i) {
      int64_t start = (*starts)[static_cast<size_t>(i)];
      copy->elems[i].offset = start == -1 ? RD_KAFKA_OFFSET_BEGINNING : start;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, copy.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fail(make_error(Code::kIo, fmt::format("assign partitions of topic '{}': {}",
                                             options.topic, rd_kafka_err2str(err))));
      return;
    }
    assigned = std::set<uint32_t>(ids.begin(), ids.end());
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    std::vector<uint32_t> ids;
    for (int i = 0; i < parts->cnt; ++i) {
      ids.push_back(static_cast<uint32_t>(parts->elems[i].partition));
    }
    self->at_end.clear();
    self->end_positions.clear();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->assigned.clear();
      if (self->callback_error.ok()) self->assign(rk, parts, ids);
      return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) self->fail(self->on_revoke(ids));
    rd_kafka_resp_err_t unassigned = rd_kafka_assign(rk, nullptr);
    if (unassigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->fail(make_error(Code::kIo, fmt::format("unassign partitions of topic '{}': {}",
                                                   self->options.topic,
                                                   rd_kafka_err2str(unassigned))));
    }
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      self->fail(make_error(Code::kIo, fmt::format("rebalance of topic '{}': {}",
                                                   self->options.topic, rd_kafka_err2str(err))));
    }
    self->assigned.clear();
  }

  // If the consumer's fatal error is a fence of its static membership: what happened and
  // what to do.
  std::optional<Error> fenced_error() {
    char fatal[512] = "";
    if (rd_kafka_fatal_error(rk.get(), fatal, sizeof fatal) !=
        RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) {
      return std::nullopt;
    }
    return make_error(
        Code::kIo,
        fmt::format("group '{}': this fold (--instance-id {}) was fenced: another consumer "
                    "joined with the same instance id ({}). Give every running fold its own "
                    "--instance-id; if none other runs (librdkafka can fence itself after a "
                    "broker restart), run the fold again: its committed state is whole",
                    group, instance_id, fatal));
  }

  // The error a consumer message carries, named with its partition and offset.
  Error consumer_error(const rd_kafka_message_t* m) {
    std::string where = m->rkt != nullptr ? fmt::format("topic '{}' partition {} offset {}",
                                                        rd_kafka_topic_name(m->rkt),
                                                        m->partition, m->offset)
                                          : fmt::format("topic '{}'", options.topic);
    if ((m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
         m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) &&
        m->rkt != nullptr) {
      int64_t low = -1, high = -1;
      rd_kafka_query_watermark_offsets(rk.get(), options.topic.c_str(), m->partition, &low, &high,
                                       options.timeout_ms);
      return out_of_range_error(options, static_cast<uint32_t>(m->partition), m->offset,
                                {low, high});
    }
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
      if (auto e = fenced_error()) return *e;
    }
    return make_error(Code::kIo, fmt::format("Kafka consumer error on {}: {} ({})", where,
                                             rd_kafka_message_errstr(m),
                                             rd_kafka_err2name(m->err)));
  }
};

KafkaGroupConsumer::KafkaGroupConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaGroupConsumer::~KafkaGroupConsumer() = default;

Result<std::unique_ptr<KafkaGroupConsumer>> KafkaGroupConsumer::open(
    const KafkaOptions& options, const std::string& group, OnAssign on_assign,
    OnRevoke on_revoke, const std::string& instance_id) {
  if (!instance_id.empty() && !valid_instance_id(instance_id)) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("group instance id '{}': use 1-249 characters of "
                                  "A-Z a-z 0-9 . _ -",
                                  instance_id));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->group = group;
  impl->instance_id = instance_id;
  impl->on_assign = std::move(on_assign);
  impl->on_revoke = std::move(on_revoke);
  auto conf = make_conf(options, {{"group.id", group},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"isolation.level", "read_committed"},
                                  {"enable.partition.eof", "true"},
                                  // Never jump: an offset out of range (records
                                  // deleted, topic recreated) is an error.
                                  {"auto.offset.reset", "error"},
                                  {"partition.assignment.strategy", "range"},
                                  {"session.timeout.ms", "10000"},
                                  {"heartbeat.interval.ms", "1000"},
                                  {"fetch.wait.max.ms", "20"},
                                  // Catching up is fetch-bound, not CPU-bound: large fetches
                                  // and a deep prefetch queue (measured 128k -> 220k events/s).
                                  {"max.partition.fetch.bytes", "8388608"},
                                  {"queued.min.messages", "1000000"}});
  if (!conf) return conf.error();
  if (!instance_id.empty()) {
    char errstr[512];
    if (rd_kafka_conf_set(*conf, "group.instance.id", instance_id.c_str(), errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(*conf);
      return make_error(Code::kInvalidArgument, fmt::format("group.instance.id: {}", errstr));
    }
  }
  rd_kafka_conf_set_rebalance_cb(*conf, &Impl::on_rebalance);
  rd_kafka_conf_set_opaque(*conf, impl.get());
  auto rk = make_handle(RD_KAFKA_CONSUMER, *conf);
  if (!rk) return rk.error();
  impl->rk = std::move(rk).value();
  rd_kafka_poll_set_consumer(impl->rk.get());
  PartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(impl->rk.get(), topics.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error("subscribe", err);
  return std::unique_ptr<KafkaGroupConsumer>(new KafkaGroupConsumer(std::move(impl)));
}

Status KafkaGroupConsumer::poll(size_t max_records, int timeout_ms, ReadBatch* out) {
  out->clear();
  Impl& s = *impl_;
  std::vector<rd_kafka_message_t*> msgs;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (msgs.size() < std::min(max_records, kReadRecordsMax)) {
    int wait = msgs.empty() ? static_cast<int>(std::max<int64_t>(
                                  0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                         deadline - Clock::now())
                                         .count()))
                            : 0;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(s.rk.get(), wait);
    if (!s.callback_error.ok()) {
      for (auto* x : msgs) rd_kafka_message_destroy(x);
      if (m != nullptr) rd_kafka_message_destroy(m);
      return s.callback_error;
    }
    if (m == nullptr) break;
    uint32_t p = static_cast<uint32_t>(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (s.assigned.count(p) != 0) {
        s.at_end.insert(p);
        s.end_positions[p] = m->offset;
      }
      rd_kafka_message_destroy(m);
      if (msgs.empty() && idle()) break;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (transient(m->err)) {  // librdkafka reconnects; the caller bounds the wait
        s.transient_error = fmt::format("{} ({})", rd_kafka_message_errstr(m),
                                        rd_kafka_err2name(m->err));
        rd_kafka_message_destroy(m);
        continue;
      }
      Error e = s.consumer_error(m);
      rd_kafka_message_destroy(m);
      for (auto* x : msgs) rd_kafka_message_destroy(x);
      return e;
    }
    s.at_end.erase(p);
    msgs.push_back(m);
  }
  // A rebalance inside the loop may have taken partitions away: drop their records (the
  // new owner reads them from its own stored offsets).
  std::erase_if(msgs, [&](rd_kafka_message_t* m) {
    bool gone = s.assigned.count(static_cast<uint32_t>(m->partition)) == 0;
    if (gone) rd_kafka_message_destroy(m);
    return gone;
  });
  copy_messages(msgs, out);
  return Status::Ok();
}

std::string KafkaGroupConsumer::take_transient_error() {
  return std::exchange(impl_->transient_error, std::string());
}

const std::map<uint32_t, int64_t>& KafkaGroupConsumer::end_positions() const {
  return impl_->end_positions;
}

Result<Watermarks> KafkaGroupConsumer::watermarks(uint32_t partition, int timeout_ms) {
  Watermarks w;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      impl_->rk.get(), impl_->options.topic.c_str(), static_cast<int32_t>(partition), &w.low,
      &w.high, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(fmt::format("offsets of topic '{}' partition {} on {}",
                                   impl_->options.topic, partition, impl_->options.brokers),
                       err);
  }
  return w;
}

Result<std::vector<int64_t>> KafkaGroupConsumer::end_offsets(uint32_t partitions,
                                                              int timeout_ms) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions)));
  for (uint32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), impl_->options.topic.c_str(),
                                      static_cast<int32_t>(p))
        ->offset = RD_KAFKA_OFFSET_END;  // as a timestamp: "latest"
  }
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), timeout_ms);
  const std::string where =
      fmt::format("end offsets of topic '{}' on {}", impl_->options.topic, impl_->options.brokers);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(where, err);
  std::vector<int64_t> ends(partitions, -1);
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_error(fmt::format("{} (partition {})", where, tp.partition), tp.err);
    }
    if (tp.partition >= 0 && static_cast<uint32_t>(tp.partition) < partitions) {
      ends[static_cast<size_t>(tp.partition)] = tp.offset;
    }
  }
  for (uint32_t p = 0; p < partitions; ++p) {
    if (ends[p] < 0) {
      return make_error(Code::kIo, fmt::format("{}: no answer for partition {}", where, p));
    }
  }
  return ends;
}

Result<uint32_t> KafkaGroupConsumer::partition_count(int timeout_ms) {
  auto info = metadata_of(impl_->rk.get(), impl_->options, timeout_ms);
  if (!info) return info.error();
  return info->partitions;
}

bool KafkaGroupConsumer::idle() const {
  return !impl_->assigned.empty() && impl_->at_end.size() >= impl_->assigned.size() &&
         std::includes(impl_->at_end.begin(), impl_->at_end.end(), impl_->assigned.begin(),
                       impl_->assigned.end());
}

std::vector<uint32_t> KafkaGroupConsumer::assignment() const {
  return {impl_->assigned.begin(), impl_->assigned.end()};
}

void KafkaGroupConsumer::commit_informative(
    const std::vector<std::pair<uint32_t, uint64_t>>& next_offsets) {
  if (next_offsets.empty()) return;
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size())));
  for (const auto& [p, off] : next_offsets) {
    rd_kafka_topic_partition_list_add(list.get(), impl_->options.topic.c_str(),
                                      static_cast<int32_t>(p))
        ->offset = static_cast<int64_t>(off);
  }
  rd_kafka_commit(impl_->rk.get(), list.get(), /*async=*/1);
}

void KafkaGroupConsumer::abandon() {
  rd_kafka_destroy_flags(impl_->rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

Status KafkaGroupConsumer::close() {
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(impl_->rk.get());
  if (!impl_->callback_error.ok()) return impl_->callback_error;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    if (auto e = impl_->fenced_error()) return *e;
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error("close consumer", err);
  return Status::Ok();
}

}  // namespace payledger::events
