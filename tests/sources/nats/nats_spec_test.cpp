// spec.source.natsJetStream checks and credentials, without a server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sources/builtin_sources.h"
#include "sources/nats/nats_source.h"

namespace lagpilot {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

json good_spec() {
  return json{{"servers", {"nats://nats-0.nats:4222", "nats://nats-1.nats:4222"}},
              {"stream", "ORDERS"},
              {"consumer", "order-processor"}};
}

TEST(NatsSpec, AcceptsAGoodSpecWithLabelsAndNoSecret) {
  NatsSourceKind kind;
  auto checked = kind.check(good_spec());
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_EQ(checked->labels, (std::map<std::string, std::string>{{"stream", "ORDERS"},
                                                                 {"consumer", "order-processor"}}));
  EXPECT_FALSE(checked->credentials);
  EXPECT_EQ(kind.name(), "natsJetStream");
}

TEST(NatsSpec, NamesTheSecretOfAuthSecretRef) {
  NatsSourceKind kind;
  json spec = good_spec();
  spec["authSecretRef"] = {{"name", "nats-auth"}};
  auto checked = kind.check(spec);
  ASSERT_TRUE(checked.ok());
  ASSERT_TRUE(checked->credentials);
  EXPECT_EQ(checked->credentials->name, "nats-auth");
  EXPECT_EQ(checked->credentials->field, "spec.source.natsJetStream.authSecretRef");
  ASSERT_EQ(checked->credentials->destinations.size(), 2u) << "every server";
  EXPECT_EQ(checked->credentials->destinations[1].field, "spec.source.natsJetStream.servers[1]");
  EXPECT_EQ(checked->credentials->destinations[1].address, "nats://nats-1.nats:4222");
}

struct BadSpec {
  std::string name;
  std::function<void(json&)> mutate;
  std::string message;
};

TEST(NatsSpec, RejectsBadFieldsNamingThem) {
  const std::vector<BadSpec> cases = {
      {"no servers", [](json& s) { s.erase("servers"); },
       "spec.source.natsJetStream.servers: required"},
      {"servers a string", [](json& s) { s["servers"] = "nats://a:4222"; },
       "spec.source.natsJetStream.servers: must be a list"},
      {"empty servers", [](json& s) { s["servers"] = json::array(); },
       "spec.source.natsJetStream.servers: required: at least one server"},
      {"http scheme", [](json& s) { s["servers"][1] = "http://a:4222"; },
       "spec.source.natsJetStream.servers[1]: \"http://a:4222\" must start with nats:// or tls://"},
      {"credentials in the URL", [](json& s) { s["servers"][0] = "nats://app:pw@a:4222"; },
       "spec.source.natsJetStream.servers[0]: \"nats://app:pw@a:4222\" must not carry credentials"},
      {"bad port", [](json& s) { s["servers"][0] = "nats://a:99999"; },
       "spec.source.natsJetStream.servers[0]: \"nats://a:99999\" port must be 1-65535"},
      {"empty host", [](json& s) { s["servers"][0] = "nats://:4222"; },
       "spec.source.natsJetStream.servers[0]: \"nats://:4222\" empty host"},
      {"server not a string", [](json& s) { s["servers"][0] = 4222; },
       "spec.source.natsJetStream.servers[0]: must be a string"},
      {"no stream", [](json& s) { s.erase("stream"); },
       "spec.source.natsJetStream.stream: required"},
      {"dotted stream", [](json& s) { s["stream"] = "orders.eu"; },
       "spec.source.natsJetStream.stream: \"orders.eu\" is not a valid JetStream name"},
      {"no consumer", [](json& s) { s["consumer"] = ""; },
       "spec.source.natsJetStream.consumer: required"},
      {"wildcard consumer", [](json& s) { s["consumer"] = "work*"; },
       "spec.source.natsJetStream.consumer: \"work*\" is not a valid JetStream name"},
      {"tls not a bool", [](json& s) { s["tls"] = "yes"; },
       "spec.source.natsJetStream.tls: must be true or false"},
      {"secret without name", [](json& s) { s["authSecretRef"] = json::object(); },
       "spec.source.natsJetStream.authSecretRef.name: required"},
  };
  NatsSourceKind kind;
  for (const auto& bad : cases) {
    json spec = good_spec();
    bad.mutate(spec);
    auto checked = kind.check(spec);
    ASSERT_FALSE(checked.ok()) << bad.name;
    EXPECT_EQ(checked.error().code, "InvalidSpec") << bad.name;
    EXPECT_THAT(checked.error().message, HasSubstr(bad.message)) << bad.name;
  }
  auto not_object = kind.check(json::array());
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(not_object.error().message, "spec.source.natsJetStream: must be an object");
}

TEST(NatsSpec, IsRegisteredAsABuiltinKind) {
  SourceRegistry registry = builtin_sources();
  auto selected = registry.select_source(json{{"natsJetStream", good_spec()}});
  ASSERT_TRUE(selected.ok()) << selected.error().message;
  EXPECT_EQ(selected->name, "natsJetStream");
  EXPECT_EQ(selected->spec_path, "spec.source.natsJetStream");
}

TEST(NatsCredentials, TakesOneMethodAndNamesKeysNeverValues) {
  auto token = NatsConnectionSettings::from({"nats://b:4222", "nats://a:4222"}, false,
                                            {{"token", "t0ken-value"}});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->servers, (std::vector<std::string>{"nats://a:4222", "nats://b:4222"}));
  EXPECT_EQ(token->describe(), "servers=nats://a:4222,nats://b:4222 auth=token tls=off");

  auto both = NatsConnectionSettings::from(
      {"nats://a:4222"}, false,
      {{"token", "t0ken-value"}, {"username", "app"}, {"password", "pw-value"}});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error().code, "InvalidCredentials");
  EXPECT_THAT(both.error().message, Not(HasSubstr("t0ken-value")));
  EXPECT_THAT(both.error().message, Not(HasSubstr("pw-value")));

  auto half = NatsConnectionSettings::from({"nats://a:4222"}, false, {{"username", "app"}});
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.error().message,
              HasSubstr("spec.source.natsJetStream.authSecretRef: key password is required"));

  auto bad_ca = NatsConnectionSettings::from({"nats://a:4222"}, false, {{"ca.crt", "garbage"}});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_THAT(bad_ca.error().message, HasSubstr("key ca.crt: not a PEM certificate"));
}

TEST(NatsCredentials, TlsFromTheSchemeTheFlagOrACa) {
  EXPECT_TRUE(NatsConnectionSettings::from({"tls://a:4222"}, false, {})->tls);
  EXPECT_TRUE(NatsConnectionSettings::from({"nats://a:4222"}, true, {})->tls);
  EXPECT_FALSE(NatsConnectionSettings::from({"nats://a:4222"}, false, {})->tls);
  auto with_ca = NatsConnectionSettings::from(
      {"nats://a:4222"}, false,
      {{"ca.crt", "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n"}});
  ASSERT_TRUE(with_ca.ok());
  EXPECT_TRUE(with_ca->tls);
  EXPECT_EQ(with_ca->describe(), "servers=nats://a:4222 auth=none tls=ca.crt");
}

TEST(NatsCredentials, ReadsACredentialsFileHeldInTheSecret) {
  const std::string creds =
      "-----BEGIN NATS USER JWT-----\n"
      "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.payload.signature\n"
      "------END NATS USER JWT------\n\n"
      "************************* IMPORTANT *************************\n"
      "NKEY Seed printed below can be used to sign and prove identity.\n\n"
      "-----BEGIN USER NKEY SEED-----\n"
      "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4\n"
      "------END USER NKEY SEED------\n";
  auto settings = NatsConnectionSettings::from({"nats://a:4222"}, false, {{"creds", creds}});
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->user_jwt, "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.payload.signature");
  EXPECT_EQ(settings->user_seed, "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4");
  EXPECT_EQ(settings->describe(), "servers=nats://a:4222 auth=creds tls=off");

  auto no_seed = NatsConnectionSettings::from(
      {"nats://a:4222"}, false,
      {{"creds", "-----BEGIN NATS USER JWT-----\nabc\n------END NATS USER JWT------\n"}});
  ASSERT_FALSE(no_seed.ok());
  EXPECT_THAT(no_seed.error().message, HasSubstr("key creds: no user NKey seed"));
  EXPECT_THAT(no_seed.error().message, Not(HasSubstr("abc")));
}

TEST(NatsSpec, CreatingASourceNeverConnects) {
  // Port 1 on loopback: nothing listens. Creating must not fail or block; polling fails.
  NatsSourceKind kind(NatsOptions{std::chrono::seconds(2), std::chrono::seconds(5)});
  json spec = good_spec();
  spec["servers"] = {"nats://127.0.0.1:1"};
  auto source = kind.create(spec, {});
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ(kind.live_sources(), 1);
  EXPECT_EQ((*source)->describe(),
            "natsJetStream stream=ORDERS consumer=order-processor servers=nats://127.0.0.1:1 "
            "auth=none tls=off");
  auto polled = (*source)->poll(std::chrono::system_clock::now());
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().code, "SourceUnreachable");
  EXPECT_THAT(polled.error().message, HasSubstr("nats://127.0.0.1:1"));
  source->reset();
  EXPECT_EQ(kind.live_sources(), 0);
}

}  // namespace
}  // namespace lagpilot
