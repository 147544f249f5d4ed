#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kube/config.h"

namespace lagpilot::kube {
namespace {

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lagpilot-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    auto path = dir_ / name;
    std::ofstream(path) << content;
    return path.string();
  }

  std::filesystem::path dir_;
};

const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: Q0EgUEVN
- name: prod-cluster
  cluster:
    server: https://prod.example:443
    certificate-authority: ca.pem
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: shop}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
users:
- name: dev-user
  user:
    token: " abc123 "
- name: prod-user
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
)";

TEST_F(KubeconfigTest, ReadsCurrentContextWithInlineData) {
  auto config = load_kubeconfig(write("config", kTwoContexts));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, "CA PEM");
  EXPECT_EQ(config->token, "abc123");
  EXPECT_EQ(config->default_namespace, "shop");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST_F(KubeconfigTest, ReadsNamedContextWithFilesRelativeToConfig) {
  write("ca.pem", "PROD CA");
  auto config = load_kubeconfig(write("config", kTwoContexts), "prod");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server, "https://prod.example:443");
  EXPECT_EQ(config->ca_pem, "PROD CA");
  EXPECT_EQ(config->client_cert_pem, "CERT");
  EXPECT_EQ(config->client_key_pem, "KEY");
  EXPECT_EQ(config->default_namespace, "default");
}

TEST_F(KubeconfigTest, MissingFileNamesThePath) {
  auto config = load_kubeconfig((dir_ / "nope").string());
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find((dir_ / "nope").string()), std::string::npos);
}

TEST_F(KubeconfigTest, MalformedYamlNamesFileAndLine) {
  auto path = write("config", "clusters:\n  - name: [unclosed\n");
  auto config = load_kubeconfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find(path), std::string::npos);
  EXPECT_NE(config.error().message.find("line"), std::string::npos);
}

TEST_F(KubeconfigTest, UnknownContextIsNamed) {
  auto config = load_kubeconfig(write("config", kTwoContexts), "staging");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("staging"), std::string::npos);
}

TEST_F(KubeconfigTest, MissingServerNamesTheField) {
  auto config = load_kubeconfig(write("config", R"(current-context: a
clusters: [{name: c, cluster: {}}]
contexts: [{name: a, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
)"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("clusters[c].cluster.server"), std::string::npos)
      << config.error().message;
}

TEST_F(KubeconfigTest, BadBase64NamesTheField) {
  auto config = load_kubeconfig(write("config", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://x:1", certificate-authority-data: "!!!"}}]
contexts: [{name: a, context: {cluster: c}}]
)"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("certificate-authority-data"), std::string::npos);
}

TEST_F(KubeconfigTest, UnreadableCaFileIsNamed) {
  auto config = load_kubeconfig(write("config", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://x:1", certificate-authority: missing-ca.pem}}]
contexts: [{name: a, context: {cluster: c}}]
)"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("missing-ca.pem"), std::string::npos);
}

TEST_F(KubeconfigTest, CertWithoutKeyIsRejected) {
  auto config = load_kubeconfig(write("config", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://x:1"}}]
contexts: [{name: a, context: {cluster: c, user: u}}]
users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]
)"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("client-key"), std::string::npos);
}

TEST_F(KubeconfigTest, NotAMappingIsAnError) {
  auto config = load_kubeconfig(write("config", "- just\n- a list\n"));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, "InvalidConfig");
}

TEST_F(KubeconfigTest, InClusterReadsMountedFiles) {
  write("token", "sa-token\n");
  write("ca.crt", "CLUSTER CA");
  write("namespace", "lagpilot-system");
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  auto lookup = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional(it->second);
  };
  auto config = load_in_cluster(lookup, dir_.string());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server, "https://10.0.0.1:443");
  EXPECT_EQ(config->ca_pem, "CLUSTER CA");
  EXPECT_EQ(config->default_namespace, "lagpilot-system");

  FakeClock clock;
  TokenSource tokens(*config, clock);
  EXPECT_EQ(tokens.token(), "sa-token");
  write("token", "rotated-token");
  EXPECT_EQ(tokens.token(), "sa-token");  // cached for a minute
  clock.advance(std::chrono::seconds(61));
  EXPECT_EQ(tokens.token(), "rotated-token");
}

TEST_F(KubeconfigTest, InClusterWithoutVariablesSaysWhichAreMissing) {
  auto config = load_in_cluster([](const std::string&) { return std::nullopt; }, dir_.string());
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("KUBERNETES_SERVICE_HOST"), std::string::npos);
}

TEST_F(KubeconfigTest, InClusterWithoutTokenNamesTheFile) {
  auto lookup = [](const std::string& k) -> std::optional<std::string> {
    if (k == "KUBERNETES_SERVICE_HOST") return "10.0.0.1";
    if (k == "KUBERNETES_SERVICE_PORT") return "443";
    return std::nullopt;
  };
  auto config = load_in_cluster(lookup, dir_.string());
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find(dir_.string() + "/token"), std::string::npos);
}

TEST_F(KubeconfigTest, DefaultSearchPrefersKubeconfigVariable) {
  auto path = write("config", kTwoContexts);
  auto lookup = [&](const std::string& k) -> std::optional<std::string> {
    if (k == "KUBECONFIG") return "/nonexistent/one:" + path;
    return std::nullopt;
  };
  auto config = load_default_config(lookup);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->token, "abc123");
}

TEST(Base64, RoundTrips) {
  for (std::string text : {"", "a", "ab", "abc", "abcd", "hello world\n"}) {
    bool ok = false;
    EXPECT_EQ(base64_decode(base64_encode(text), &ok), text);
    EXPECT_TRUE(ok);
  }
}

}  // namespace
}  // namespace lagpilot::kube
