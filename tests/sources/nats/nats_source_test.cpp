// The NATS JetStream source against a real nats-server 2.9.10 (tests/sources/nats/nats_fixture.h)
// with backlogs made by a real publisher (js_Publish) and real consumers (pull fetch + ack).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "sources/nats/nats_source.h"
#include "tests/sources/nats/jetstream_test_client.h"
#include "tests/sources/nats/nats_credentials.h"
#include "tests/sources/nats/nats_fixture.h"

namespace lagpilot {
namespace {

using json = nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr const char* kStream = "ORDERS";
constexpr const char* kSubject = "orders.eu";

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

class NatsSourceTest : public ::testing::Test {
 protected:
  explicit NatsSourceTest(testkit::NatsServer::Options options = {}) : server(std::move(options)) {}

  json spec(const std::string& consumer, const std::string& stream = kStream) const {
    return json{{"servers", {server.url()}}, {"stream", stream}, {"consumer", consumer}};
  }
  std::unique_ptr<QueueSource> source(const json& s, const SourceCredentials& credentials = {}) {
    auto created = kind.create(s, credentials);
    if (!created.ok()) throw std::runtime_error(created.error().message);
    return std::move(created).value();
  }
  // A poll that must succeed.
  QueueSnapshot poll(QueueSource& s, WallTime now) {
    auto polled = s.poll(now);
    if (!polled.ok()) throw std::runtime_error(polled.error().code + ": " + polled.error().message);
    return *polled;
  }
  void make_stream_and_worker() {
    js().add_stream(kStream, "orders.>");
    js().add_pull_consumer(kStream, "worker");
  }
  testkit::JetStreamClient& js() {
    if (!publisher) publisher = std::make_unique<testkit::JetStreamClient>(server.url());
    return *publisher;
  }

  FakeClock clock;  // poll deadlines; `now` of each poll is given explicitly
  testkit::NatsServer server;
  NatsSourceKind kind{NatsOptions{1s, 5s}, clock};
  std::unique_ptr<testkit::JetStreamClient> publisher;  // destroyed before the kind
};

TEST_F(NatsSourceTest, DepthLagAndLagSecondsOfAPullConsumer) {
  make_stream_and_worker();
  js().publish(kSubject, 15);
  const auto [before16, after16] = js().publish(kSubject, 1);
  js().publish(kSubject, 34);
  // 20 delivered, the first 15 acknowledged: ack floor 15, 5 acks pending, 30 not delivered.
  js().fetch_and_ack(kStream, "worker", kSubject, 20, 15);

  auto orders = source(spec("worker"));
  const WallTime now = std::chrono::system_clock::now() + 100s;
  QueueSnapshot snapshot = poll(*orders, now);
  EXPECT_EQ(snapshot.consumer_lag, 35);
  EXPECT_EQ(snapshot.queue_depth, 35);
  EXPECT_EQ(snapshot.lag_seconds_method, "ack-floor");
  ASSERT_TRUE(snapshot.lag_seconds);
  // The age of message 16, the first after the ack floor.
  EXPECT_GE(*snapshot.lag_seconds, seconds(now - after16) - 0.001);
  EXPECT_LE(*snapshot.lag_seconds, seconds(now - before16) + 0.001);
  EXPECT_EQ(snapshot.progress_position, 15.0);
  EXPECT_FALSE(snapshot.consumers) << "a pull consumer's consumers are unknown";
  EXPECT_FALSE(snapshot.max_useful_consumers);
  EXPECT_FALSE(snapshot.ingress_rate) << "no rates at the first poll";
  EXPECT_FALSE(snapshot.egress_rate);
  EXPECT_EQ(snapshot.partitions, 0);
}

TEST_F(NatsSourceTest, RatesFromTheStreamEndAndTheAckFloorBetweenPolls) {
  make_stream_and_worker();
  js().publish(kSubject, 10);
  auto orders = source(spec("worker"));
  const WallTime t0 = std::chrono::system_clock::now();
  EXPECT_EQ(poll(*orders, t0).consumer_lag, 10);

  js().publish(kSubject, 30);
  js().fetch_and_ack(kStream, "worker", kSubject, 10, 10);
  QueueSnapshot later = poll(*orders, t0 + 10s);
  EXPECT_EQ(later.consumer_lag, 30);
  ASSERT_TRUE(later.ingress_rate);
  ASSERT_TRUE(later.egress_rate);
  EXPECT_DOUBLE_EQ(*later.ingress_rate, 3.0);  // 30 appended in 10 s
  EXPECT_DOUBLE_EQ(*later.egress_rate, 1.0);   // 10 acknowledged in 10 s
  EXPECT_EQ(later.progress_position, 10.0);
}

TEST_F(NatsSourceTest, ProgressIsTheAckFloorAndARecreatedConsumerRewindsIt) {
  make_stream_and_worker();
  js().publish(kSubject, 20);
  auto orders = source(spec("worker"));
  const WallTime t0 = std::chrono::system_clock::now();
  EXPECT_EQ(poll(*orders, t0).progress_position, 0.0);
  js().fetch_and_ack(kStream, "worker", kSubject, 12, 12);
  EXPECT_EQ(poll(*orders, t0 + 1s).progress_position, 12.0);
  // The same stall: nothing acknowledged, the position stays.
  EXPECT_EQ(poll(*orders, t0 + 2s).progress_position, 12.0);

  // Deleted and made again: it starts over (a rewind for stall/rewind detection); no rates from
  // sequences that went backwards.
  js().delete_consumer(kStream, "worker");
  js().add_pull_consumer(kStream, "worker");
  QueueSnapshot again = poll(*orders, t0 + 3s);
  EXPECT_EQ(again.progress_position, 0.0);
  EXPECT_EQ(again.consumer_lag, 20);
  EXPECT_FALSE(again.egress_rate);
  EXPECT_FALSE(again.ingress_rate);
}

TEST_F(NatsSourceTest, NoBacklogIsZeroLagSecondsWithoutReadingAMessage) {
  make_stream_and_worker();
  js().publish(kSubject, 5);
  js().fetch_and_ack(kStream, "worker", kSubject, 5, 5);
  auto orders = source(spec("worker"));
  QueueSnapshot snapshot = poll(*orders, std::chrono::system_clock::now());
  EXPECT_EQ(snapshot.consumer_lag, 0);
  EXPECT_EQ(snapshot.lag_seconds, 0.0);
  EXPECT_EQ(dynamic_cast<NatsSource&>(*orders).message_reads(), 0);
}

TEST_F(NatsSourceTest, ReadsTheMessageAfterTheAckFloorOnlyWhenTheFloorMoves) {
  make_stream_and_worker();
  js().publish(kSubject, 10);
  auto orders = source(spec("worker"));
  auto& nats = dynamic_cast<NatsSource&>(*orders);
  const WallTime now = std::chrono::system_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(poll(*orders, now + i * 1s).lag_seconds);
  EXPECT_EQ(nats.message_reads(), 1);
  js().fetch_and_ack(kStream, "worker", kSubject, 3, 3);
  ASSERT_TRUE(poll(*orders, now + 5s).lag_seconds);
  EXPECT_EQ(nats.message_reads(), 2);
}

TEST_F(NatsSourceTest, ADeletedMessageAfterTheFloorGivesTheNextOnesAge) {
  make_stream_and_worker();
  js().publish(kSubject, 1);
  const auto [before2, after2] = js().publish(kSubject, 1);
  js().publish(kSubject, 3);
  js().delete_message(kStream, 1);
  auto orders = source(spec("worker"));
  const WallTime now = std::chrono::system_clock::now() + 50s;
  QueueSnapshot snapshot = poll(*orders, now);
  EXPECT_EQ(snapshot.consumer_lag, 4);
  ASSERT_TRUE(snapshot.lag_seconds);
  EXPECT_GE(*snapshot.lag_seconds, seconds(now - after2) - 0.001);
  EXPECT_LE(*snapshot.lag_seconds, seconds(now - before2) + 0.001);
}

TEST_F(NatsSourceTest, AFilteredConsumersAgeIsOfItsOwnSubject) {
  js().add_stream(kStream, "orders.>");
  js().add_pull_consumer(kStream, "eu-worker", "orders.eu");
  js().publish("orders.us", 2);  // older, not the consumer's
  const auto [before, after] = js().publish("orders.eu", 1);
  auto orders = source(spec("eu-worker"));
  const WallTime now = std::chrono::system_clock::now() + 50s;
  QueueSnapshot snapshot = poll(*orders, now);
  EXPECT_EQ(snapshot.consumer_lag, 1);
  ASSERT_TRUE(snapshot.lag_seconds);
  EXPECT_GE(*snapshot.lag_seconds, seconds(now - after) - 0.001);
  EXPECT_LE(*snapshot.lag_seconds, seconds(now - before) + 0.001);
}

TEST_F(NatsSourceTest, APushConsumerCountsItsBoundSubscriberAndCapsAtOne) {
  js().add_stream(kStream, "orders.>");
  js().add_push_consumer(kStream, "pusher", "deliver.pusher");
  auto orders = source(spec("pusher"));
  const WallTime now = std::chrono::system_clock::now();
  QueueSnapshot unbound = poll(*orders, now);
  EXPECT_EQ(unbound.consumers, 0);
  EXPECT_EQ(unbound.max_useful_consumers, 1);
  js().bind_push("deliver.pusher");
  // The server marks the consumer bound once it has seen the subscription: wait for it.
  std::optional<int> consumers;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (consumers != 1 && std::chrono::steady_clock::now() < deadline) {
    consumers = poll(*orders, now + 1s).consumers;
    if (consumers != 1) std::this_thread::sleep_for(20ms);  // polling the server's state
  }
  EXPECT_EQ(consumers, 1);
}

TEST_F(NatsSourceTest, AMissingStreamOrConsumerIsAClearError) {
  make_stream_and_worker();
  auto no_stream = source(spec("worker", "NOPE"))->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(no_stream.ok());
  EXPECT_EQ(no_stream.error().code, "StreamNotFound");
  EXPECT_THAT(no_stream.error().message,
              AllOf(HasSubstr("stream NOPE not found"), HasSubstr(server.address())));
  auto no_consumer = source(spec("nobody"))->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(no_consumer.ok());
  EXPECT_EQ(no_consumer.error().code, "ConsumerNotFound");
  EXPECT_THAT(
      no_consumer.error().message,
      AllOf(HasSubstr("consumer nobody of stream ORDERS: not found"), HasSubstr(server.address())));
}

TEST_F(NatsSourceTest, SourcesOfOneServerShareOneConnection) {
  make_stream_and_worker();
  js().add_pull_consumer(kStream, "auditor");
  js().publish(kSubject, 4);
  auto worker = source(spec("worker"));
  auto auditor = source(spec("auditor"));
  EXPECT_EQ(&dynamic_cast<NatsSource&>(*worker).client(),
            &dynamic_cast<NatsSource&>(*auditor).client());
  EXPECT_EQ(kind.clients().size(), 1u);
  const WallTime now = std::chrono::system_clock::now();
  EXPECT_EQ(poll(*worker, now).consumer_lag, 4);
  EXPECT_EQ(poll(*auditor, now).consumer_lag, 4);
  EXPECT_EQ(dynamic_cast<NatsSource&>(*worker).client().connects(), 1);
  worker.reset();
  auditor.reset();
  EXPECT_EQ(kind.clients().size(), 0u);
  EXPECT_EQ(kind.live_sources(), 0);
}

TEST_F(NatsSourceTest, AFrozenServerHoldsOnePollAndFailsTheOthersAtOnce) {
  make_stream_and_worker();
  js().add_pull_consumer(kStream, "auditor");
  js().publish(kSubject, 3);
  auto worker = source(spec("worker"));
  auto auditor = source(spec("auditor"));
  const WallTime now = std::chrono::system_clock::now();
  ASSERT_EQ(poll(*worker, now).consumer_lag, 3);

  server.freeze();
  auto first = worker->poll(now + 1s);  // waits the poll timeout (1 s): the stream is down
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, "SourceUnreachable");
  EXPECT_THAT(first.error().message, HasSubstr(server.address()));

  // Two monitors of the stream at once: one probes (and waits), the other fails at once with the
  // outage's first message.
  auto timed_poll = [&](QueueSource& s) {
    const auto started = std::chrono::steady_clock::now();
    auto result = s.poll(now + 2s);
    return std::make_pair(std::move(result), std::chrono::steady_clock::now() - started);
  };
  auto a = std::async(std::launch::async, [&] { return timed_poll(*worker); });
  auto b = std::async(std::launch::async, [&] { return timed_poll(*auditor); });
  auto [result_a, took_a] = a.get();
  auto [result_b, took_b] = b.get();
  ASSERT_FALSE(result_a.ok());
  ASSERT_FALSE(result_b.ok());
  EXPECT_LT(std::min(seconds(took_a), seconds(took_b)), 0.5);
  EXPECT_LT(std::max(seconds(took_a), seconds(took_b)), 2.5) << "never past the poll timeout";
  EXPECT_EQ(result_a.error().message, first.error().message);
  EXPECT_EQ(result_b.error().message, first.error().message);

  server.thaw();
  // The next poll probes and finds the server back.
  EXPECT_EQ(poll(*auditor, now + 3s).consumer_lag, 3);
  EXPECT_EQ(poll(*worker, now + 3s).consumer_lag, 3);
}

TEST_F(NatsSourceTest, AServerKilledMidPollFailsAndTheSourceRecoversAfterRestart) {
  make_stream_and_worker();
  js().publish(kSubject, 7);
  publisher.reset();  // its connection would die with the server
  auto worker = source(spec("worker"));
  const WallTime now = std::chrono::system_clock::now();
  ASSERT_EQ(poll(*worker, now).consumer_lag, 7);

  server.freeze();
  auto in_flight = std::async(std::launch::async, [&] { return worker->poll(now + 1s); });
  server.kill_now();  // the request in flight loses its connection
  auto during = in_flight.get();
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().code, "SourceUnreachable");
  EXPECT_THAT(during.error().message, HasSubstr(server.address()));

  // Down: connecting is refused at once.
  const auto started = std::chrono::steady_clock::now();
  auto down = worker->poll(now + 2s);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, "SourceUnreachable");
  EXPECT_LT(seconds(std::chrono::steady_clock::now() - started), 1.5);

  server.restart();
  // JetStream recovers its streams after the server greets: poll until the source reads again.
  Result<QueueSnapshot> back = Error{};
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (int i = 0; !back.ok() && std::chrono::steady_clock::now() < deadline; ++i) {
    back = worker->poll(now + 3s + i * 1s);
    if (!back.ok()) std::this_thread::sleep_for(50ms);  // polling a restarting server
  }
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->consumer_lag, 7);
  EXPECT_GE(dynamic_cast<NatsSource&>(*worker).client().connects(), 2);
}

TEST(NatsServerKinds, AServerWithoutJetStreamIsAClearError) {
  testkit::NatsServer::Options plain;
  plain.jetstream = false;
  testkit::NatsServer server(plain);
  FakeClock clock;
  NatsSourceKind kind{NatsOptions{1s, 5s}, clock};
  auto created = kind.create(
      json{{"servers", {server.url()}}, {"stream", kStream}, {"consumer", "worker"}}, {});
  ASSERT_TRUE(created.ok());
  auto polled = (*created)->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().code, "SourceError");
  EXPECT_THAT(polled.error().message,
              AllOf(HasSubstr(server.address()), HasSubstr("JetStream is not enabled")));
}

// A server of another kind on the port (e.g. Redis, which waits for a command and never greets):
// the poll fails within its timeout, naming the server; nothing hangs or crashes.
TEST(NatsServerKinds, ASilentServerOfAnotherKindFailsWithinThePollTimeout) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 8), 0);  // the kernel accepts; nobody ever writes
  socklen_t length = sizeof(address);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string server = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));

  FakeClock clock;
  NatsSourceKind kind{NatsOptions{1s, 5s}, clock};
  auto created = kind.create(
      json{{"servers", {"nats://" + server}}, {"stream", kStream}, {"consumer", "worker"}}, {});
  ASSERT_TRUE(created.ok());
  const auto started = std::chrono::steady_clock::now();
  auto polled = (*created)->poll(std::chrono::system_clock::now());
  const double took = seconds(std::chrono::steady_clock::now() - started);
  ::close(listener);
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().code, "SourceUnreachable");
  EXPECT_THAT(polled.error().message, HasSubstr(server));
  EXPECT_LT(took, 2.5) << "the poll timeout is 1 s";
}

class NatsAuthTest : public NatsSourceTest {
 protected:
  NatsAuthTest()
      : NatsSourceTest(testkit::NatsServer::Options{"app", "right-pass-1", "", "", ""}) {}
};

TEST_F(NatsAuthTest, WrongCredentialsNameTheServerNeverTheCredential) {
  auto wrong = source(spec("worker"), {{"username", "app"}, {"password", "wrong-pass-2"}});
  auto polled = wrong->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().code, "SourceAccessDenied");
  EXPECT_THAT(polled.error().message, HasSubstr(server.address()));
  EXPECT_THAT(polled.error().message,
              AllOf(Not(HasSubstr("wrong-pass-2")), Not(HasSubstr("right-pass-1"))));
  EXPECT_THAT(wrong->describe(), AllOf(HasSubstr("auth=user"), Not(HasSubstr("wrong-pass-2"))));

  auto none = source(spec("worker"))->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "SourceAccessDenied");

  testkit::JetStreamClient admin(server.url(), {"app", "right-pass-1", "", ""});
  admin.add_stream(kStream, "orders.>");
  admin.add_pull_consumer(kStream, "worker");
  admin.publish(kSubject, 2);
  auto right = source(spec("worker"), {{"username", "app"}, {"password", "right-pass-1"}});
  EXPECT_EQ(poll(*right, std::chrono::system_clock::now()).consumer_lag, 2);
}

class NatsTokenTest : public NatsSourceTest {
 protected:
  NatsTokenTest() : NatsSourceTest(testkit::NatsServer::Options{"", "", "s3cret-token", "", ""}) {}
};

TEST_F(NatsTokenTest, ATokenFromTheSecretAuthenticates) {
  testkit::JetStreamClient admin(server.url(), {"", "", "s3cret-token", ""});
  admin.add_stream(kStream, "orders.>");
  admin.add_pull_consumer(kStream, "worker");
  admin.publish(kSubject, 3);
  auto right = source(spec("worker"), {{"token", "s3cret-token"}});
  EXPECT_EQ(poll(*right, std::chrono::system_clock::now()).consumer_lag, 3);
  auto wrong =
      source(spec("worker"), {{"token", "other-token"}})->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "SourceAccessDenied");
  EXPECT_THAT(wrong.error().message, AllOf(HasSubstr(server.address()), Not(HasSubstr("token-"))));
}

// A credentials file (user JWT + NKey seed) from the Secret's `creds` key, against a server in
// operator mode with the user's account preloaded.
TEST(NatsCredsFile, ACredentialsFileFromTheSecretAuthenticates) {
  testkit::DecentralizedAuth auth;
  testkit::NatsServer::Options options;
  options.config = auth.server_config();
  testkit::NatsServer server(options);
  const std::string creds = auth.user_creds();
  const auto creds_file = server.dir() / "user.creds";
  std::ofstream(creds_file) << creds;
  {
    testkit::JetStreamClient admin(server.url(), {"", "", "", "", creds_file.string()});
    admin.add_stream(kStream, "orders.>");
    admin.add_pull_consumer(kStream, "worker");
    admin.publish(kSubject, 6);
  }
  FakeClock clock;
  NatsSourceKind kind{NatsOptions{2s, 5s}, clock};
  const json spec{{"servers", {server.url()}}, {"stream", kStream}, {"consumer", "worker"}};
  auto source = kind.create(spec, {{"creds", creds}});
  ASSERT_TRUE(source.ok()) << source.error().message;
  auto polled = (*source)->poll(std::chrono::system_clock::now());
  ASSERT_TRUE(polled.ok()) << polled.error().message;
  EXPECT_EQ(polled->consumer_lag, 6);

  // Another user's seed with this user's JWT: the signature does not match.
  testkit::DecentralizedAuth other;
  std::string forged = creds;
  const std::string seed_marker = "-----BEGIN USER NKEY SEED-----\n";
  const auto at = forged.find(seed_marker) + seed_marker.size();
  forged.replace(at, forged.find('\n', at) - at, other.user_key.seed());
  auto wrong = kind.create(spec, {{"creds", forged}});
  ASSERT_TRUE(wrong.ok());
  auto denied = (*wrong)->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, "SourceAccessDenied");
  EXPECT_THAT(denied.error().message,
              AllOf(HasSubstr(server.address()), Not(HasSubstr(other.user_key.seed()))));
}

// A CA and a certificate for localhost/127.0.0.1, made before the server starts.
struct TlsFiles {
  TlsFiles() : dir(make_dir()), certificates(dir / "certs") {}
  ~TlsFiles() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  static std::filesystem::path make_dir() {
    char dir_template[] = "/tmp/lagpilot-nats-tls-XXXXXX";
    if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
    return dir_template;
  }
  std::filesystem::path dir;
  testkit::TestCertificates certificates;
};

class NatsTlsTest : public ::testing::Test {
 protected:
  TlsFiles files;
  testkit::NatsServer server{
      testkit::NatsServer::Options{"", "", "", files.certificates.server_cert().string(),
                                   files.certificates.server_key().string()}};
  FakeClock clock;
  NatsSourceKind kind{NatsOptions{2s, 5s}, clock};

  Result<QueueSnapshot> poll_with(const std::string& url, const SourceCredentials& credentials,
                                  bool tls_flag = false) {
    json spec{{"servers", {url}}, {"stream", kStream}, {"consumer", "worker"}};
    if (tls_flag) spec["tls"] = true;
    auto created = kind.create(spec, credentials);
    if (!created.ok()) return created.error();
    return (*created)->poll(std::chrono::system_clock::now());
  }
};

TEST_F(NatsTlsTest, VerifiesTheServerAndNamesItOnAMismatch) {
  {
    testkit::JetStreamClient admin(server.url("tls", "localhost"),
                                   {"", "", "", files.certificates.ca_cert().string()});
    admin.add_stream(kStream, "orders.>");
    admin.add_pull_consumer(kStream, "worker");
    admin.publish(kSubject, 2);
  }
  const SourceCredentials ca{{"ca.crt", files.certificates.ca_pem()}};

  // Plaintext against a TLS server.
  auto plain = poll_with(server.url(), {});
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code, "SourceTLSError");
  EXPECT_THAT(plain.error().message, HasSubstr(server.address()));

  // TLS without our CA: the system's CAs do not know the test CA.
  auto unknown_ca = poll_with(server.url("tls", "localhost"), {});
  ASSERT_FALSE(unknown_ca.ok());
  EXPECT_EQ(unknown_ca.error().code, "SourceTLSError");
  EXPECT_THAT(unknown_ca.error().message, HasSubstr("localhost:" + std::to_string(server.port())));

  // The CA from the Secret, and the name in the certificate: verified.
  auto verified = poll_with(server.url("tls", "localhost"), ca);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->consumer_lag, 2);
  auto flag = poll_with(server.url("nats", "localhost"), ca, /*tls_flag=*/true);
  ASSERT_TRUE(flag.ok()) << flag.error().message;
}

TEST(NatsTlsHostname, ACertificateForAnotherNameIsRejected) {
  TlsFiles other_files;
  testkit::TestCertificates other(other_files.dir / "other", "queue.example");
  testkit::NatsServer server{testkit::NatsServer::Options{"", "", "", other.server_cert().string(),
                                                          other.server_key().string()}};
  FakeClock clock;
  NatsSourceKind kind{NatsOptions{2s, 5s}, clock};
  json spec{{"servers", {server.url("tls", "localhost")}}, {"stream", kStream}, {"consumer", "w"}};
  auto created = kind.create(spec, {{"ca.crt", other.ca_pem()}});
  ASSERT_TRUE(created.ok());
  auto polled = (*created)->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().code, "SourceTLSError");
  EXPECT_THAT(polled.error().message, HasSubstr("hostname mismatch"));
  // libnats 3.4.1 checks the URL's host itself, also without natsOptions_SetExpectedHostname
  // (the test client sets none) ...
  EXPECT_THROW(testkit::JetStreamClient(server.url("tls", "localhost"),
                                        {"", "", "", other.ca_cert().string()}),
               std::runtime_error);
  // ... and an IP address against the certificate's IP SAN (127.0.0.1 here).
  EXPECT_NO_THROW(testkit::JetStreamClient(server.url("tls", "127.0.0.1"),
                                           {"", "", "", other.ca_cert().string()}));
}

}  // namespace
}  // namespace lagpilot
