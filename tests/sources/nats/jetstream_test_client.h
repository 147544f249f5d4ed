#pragma once
// A real JetStream publisher and consumer for the NATS source's tests (libnats): makes streams and
// durable consumers, publishes with js_Publish, fetches and acknowledges with a pull subscription,
// binds a push subscriber. Failures throw std::runtime_error. Include only from test .cpp files.
#include <nats/nats.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lagpilot::testkit {

class JetStreamClient {
 public:
  struct Auth {
    std::string user, password, token, ca_file;
    std::string creds_file{};  // a .creds file (user JWT and seed)
  };

  explicit JetStreamClient(const std::string& url) : JetStreamClient(url, Auth()) {}
  JetStreamClient(const std::string& url, const Auth& auth) {
    natsOptions* options = nullptr;
    check(natsOptions_Create(&options), "options");
    natsOptions_SetURL(options, url.c_str());
    natsOptions_SetTimeout(options, 5000);
    natsOptions_SetAllowReconnect(options, false);
    if (!auth.user.empty())
      natsOptions_SetUserInfo(options, auth.user.c_str(), auth.password.c_str());
    if (!auth.token.empty()) natsOptions_SetToken(options, auth.token.c_str());
    if (!auth.creds_file.empty()) {
      natsOptions_SetUserCredentialsFromFiles(options, auth.creds_file.c_str(), nullptr);
    }
    if (!auth.ca_file.empty()) {
      natsOptions_SetSecure(options, true);
      natsOptions_LoadCATrustedCertificates(options, auth.ca_file.c_str());
    }
    const natsStatus status = natsConnection_Connect(&nc_, options);
    natsOptions_Destroy(options);
    check(status, "connect to " + url);
    check(natsConnection_JetStream(&js_, nc_, nullptr), "JetStream context");
  }
  ~JetStreamClient() {
    for (auto* sub : subscriptions_) natsSubscription_Destroy(sub);
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
  }
  JetStreamClient(const JetStreamClient&) = delete;
  JetStreamClient& operator=(const JetStreamClient&) = delete;

  void add_stream(const std::string& name, const std::string& subjects) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = name.c_str();
    const char* subject_list[] = {subjects.c_str()};
    config.Subjects = subject_list;
    config.SubjectsLen = 1;
    jsStreamInfo* info = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    check(js_AddStream(&info, js_, &config, nullptr, &error), "add stream " + name);
    jsStreamInfo_Destroy(info);
  }

  // A durable pull consumer with explicit acks.
  void add_pull_consumer(const std::string& stream, const std::string& durable,
                         const std::string& filter = "") {
    add_consumer(stream, durable, "", filter);
  }
  // A durable push consumer delivering to `deliver_subject`.
  void add_push_consumer(const std::string& stream, const std::string& durable,
                         const std::string& deliver_subject) {
    add_consumer(stream, durable, deliver_subject, "");
  }

  // Publishes `count` messages on `subject`; the wall time just before the first and just after
  // the last publish.
  std::pair<std::chrono::system_clock::time_point, std::chrono::system_clock::time_point> publish(
      const std::string& subject, int count) {
    const auto before = std::chrono::system_clock::now();
    for (int i = 0; i < count; ++i) {
      const std::string data = "message " + std::to_string(i);
      jsPubAck* ack = nullptr;
      jsErrCode error = static_cast<jsErrCode>(0);
      check(js_Publish(&ack, js_, subject.c_str(), data.data(), static_cast<int>(data.size()),
                       nullptr, &error),
            "publish on " + subject);
      jsPubAck_Destroy(ack);
    }
    return {before, std::chrono::system_clock::now()};
  }

  // Publishes `count` messages on `subject` without waiting for each acknowledgement (one burst),
  // then waits for all of them.
  void publish_burst(const std::string& subject, int count) {
    for (int i = 0; i < count; ++i) {
      const std::string data = "message " + std::to_string(i);
      check(js_PublishAsync(js_, subject.c_str(), data.data(), static_cast<int>(data.size()),
                            nullptr),
            "publish on " + subject);
    }
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MaxWait = 30'000;
    check(js_PublishAsyncComplete(js_, &options), "publish burst on " + subject);
  }

  // Fetches `fetch` messages with a pull subscription bound to `durable` and acknowledges the
  // first `ack` of them (synchronously, so the server counts them before this returns). The
  // others stay delivered and unacknowledged. Returns how many were fetched.
  // With `burst`, acknowledgements are sent without waiting for each and flushed per batch.
  int fetch_and_ack(const std::string& stream, const std::string& durable,
                    const std::string& subject, int fetch, int ack, bool burst = false) {
    natsSubscription* sub = pull_subscription(stream, durable, subject);
    int fetched = 0;
    while (fetched < fetch) {
      natsMsgList list{};
      jsErrCode error = static_cast<jsErrCode>(0);
      check(natsSubscription_Fetch(&list, sub, fetch - fetched, 5000, &error), "fetch");
      for (int i = 0; i < list.Count; ++i, ++fetched) {
        if (fetched < ack) {
          check(burst ? natsMsg_Ack(list.Msgs[i], nullptr)
                      : natsMsg_AckSync(list.Msgs[i], nullptr, &error),
                "ack");
        }
      }
      natsMsgList_Destroy(&list);
      // The server has the batch's acks before the next pull (a pull consumer delivers at most
      // max_ack_pending, 1,000 by default, unacknowledged messages).
      if (burst) check(natsConnection_Flush(nc_), "flush acknowledgements");
    }
    return fetched;
  }

  // A subscriber on a push consumer's deliver subject (the consumer becomes push_bound).
  void bind_push(const std::string& deliver_subject) {
    natsSubscription* sub = nullptr;
    check(natsConnection_SubscribeSync(&sub, nc_, deliver_subject.c_str()), "subscribe");
    check(natsConnection_Flush(nc_), "flush");
    subscriptions_.push_back(sub);
  }

  void delete_consumer(const std::string& stream, const std::string& durable) {
    jsErrCode error = static_cast<jsErrCode>(0);
    check(js_DeleteConsumer(js_, stream.c_str(), durable.c_str(), nullptr, &error),
          "delete consumer " + durable);
  }

  void delete_message(const std::string& stream, uint64_t sequence) {
    jsErrCode error = static_cast<jsErrCode>(0);
    check(js_DeleteMsg(js_, stream.c_str(), sequence, nullptr, &error), "delete message");
  }

 private:
  static void check(natsStatus status, const std::string& what) {
    if (status != NATS_OK) {
      throw std::runtime_error("jetstream test client: " + what + ": " +
                               natsStatus_GetText(status));
    }
  }

  void add_consumer(const std::string& stream, const std::string& durable,
                    const std::string& deliver_subject, const std::string& filter) {
    jsConsumerConfig config;
    jsConsumerConfig_Init(&config);
    config.Durable = durable.c_str();
    config.AckPolicy = js_AckExplicit;
    config.DeliverPolicy = js_DeliverAll;
    if (!deliver_subject.empty()) config.DeliverSubject = deliver_subject.c_str();
    if (!filter.empty()) config.FilterSubject = filter.c_str();
    jsConsumerInfo* info = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    check(js_AddConsumer(&info, js_, stream.c_str(), &config, nullptr, &error),
          "add consumer " + durable);
    jsConsumerInfo_Destroy(info);
  }

  natsSubscription* pull_subscription(const std::string& stream, const std::string& durable,
                                      const std::string& subject) {
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = stream.c_str();
    options.Consumer = durable.c_str();
    natsSubscription* sub = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    check(js_PullSubscribe(&sub, js_, subject.c_str(), durable.c_str(), nullptr, &options, &error),
          "pull subscribe " + durable);
    subscriptions_.push_back(sub);
    return sub;
  }

  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::vector<natsSubscription*> subscriptions_;
};

}  // namespace lagpilot::testkit
