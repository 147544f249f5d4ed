#pragma once
// NATS decentralized auth for tests, made with OpenSSL at test time: Ed25519 NKeys (operator,
// account, user) and their JWTs, the server's config for them (operator, MEMORY resolver with the
// account preloaded, JetStream enabled for it) and a user's credentials file (.creds). Formats as
// nats-io/nkeys and nats-io/jwt v2 define them.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace lagpilot::testkit {

class NKey {
 public:
  // nkeys prefix bytes.
  static constexpr uint8_t kOperator = 14 << 3;
  static constexpr uint8_t kAccount = 0;
  static constexpr uint8_t kUser = 20 << 3;

  explicit NKey(uint8_t type) : type_(type) {
    if (RAND_bytes(seed_.data(), static_cast<int>(seed_.size())) != 1) fail("RAND_bytes");
    EVP_PKEY* key = private_key();
    std::size_t length = public_.size();
    if (EVP_PKEY_get_raw_public_key(key, public_.data(), &length) != 1) fail("public key");
    EVP_PKEY_free(key);
  }

  // "O..."/"A..."/"U...": the public key as nkeys prints it.
  std::string public_key() const {
    std::vector<uint8_t> raw{type_};
    raw.insert(raw.end(), public_.begin(), public_.end());
    return encode(raw);
  }
  // "SO..."/"SA..."/"SU...": the seed.
  std::string seed() const {
    std::vector<uint8_t> raw{static_cast<uint8_t>((18 << 3) | (type_ >> 5)),
                             static_cast<uint8_t>((type_ & 31) << 3)};
    raw.insert(raw.end(), seed_.begin(), seed_.end());
    return encode(raw);
  }
  std::string sign(const std::string& data) const {
    EVP_PKEY* key = private_key();
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    std::string signature(64, '\0');
    std::size_t length = signature.size();
    const bool ok =
        EVP_DigestSignInit(context, nullptr, nullptr, nullptr, key) == 1 &&
        EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(key);
    if (!ok) fail("sign");
    return signature;
  }

  // A JWT (nats-io/jwt v2) about `subject`, signed by this key.
  std::string jwt(const std::string& subject, const std::string& name, nlohmann::json nats) const {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    nats["version"] = 2;
    std::array<unsigned char, 20> jti{};
    RAND_bytes(jti.data(), static_cast<int>(jti.size()));
    const nlohmann::json claims{{"jti", base32(std::vector<uint8_t>(jti.begin(), jti.end()))},
                                {"iat", now},
                                {"iss", public_key()},
                                {"name", name},
                                {"sub", subject},
                                {"nats", nats}};
    const std::string signing_input =
        base64url(R"({"typ":"JWT","alg":"ed25519-nkey"})") + "." + base64url(claims.dump());
    return signing_input + "." + base64url(sign(signing_input));
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::runtime_error("nkey: " + what + " failed");
  }
  EVP_PKEY* private_key() const {
    EVP_PKEY* key =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), seed_.size());
    if (key == nullptr) fail("private key");
    return key;
  }
  static uint16_t crc16(const std::vector<uint8_t>& data) {  // CRC-16/XMODEM, as nkeys
    uint16_t crc = 0;
    for (uint8_t byte : data) {
      crc ^= static_cast<uint16_t>(byte) << 8;
      for (int bit = 0; bit < 8; ++bit) {
        crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                             : static_cast<uint16_t>(crc << 1);
      }
    }
    return crc;
  }
  static std::string base32(const std::vector<uint8_t>& data) {  // RFC 4648, no padding
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (uint8_t byte : data) {
      buffer = (buffer << 8) | byte;
      bits += 8;
      while (bits >= 5) {
        out += kAlphabet[(buffer >> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
    return out;
  }
  static std::string encode(std::vector<uint8_t> raw) {
    const uint16_t crc = crc16(raw);
    raw.push_back(static_cast<uint8_t>(crc & 0xff));
    raw.push_back(static_cast<uint8_t>(crc >> 8));
    return base32(raw);
  }
  static std::string base64url(const std::string& data) {  // no padding
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char byte : data) {
      buffer = (buffer << 8) | byte;
      bits += 8;
      while (bits >= 6) {
        out += kAlphabet[(buffer >> (bits - 6)) & 63];
        bits -= 6;
      }
    }
    if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
    return out;
  }

  uint8_t type_;
  std::array<unsigned char, 32> seed_{};
  std::array<unsigned char, 32> public_{};
};

// An operator with one JetStream-enabled account and one user of it.
struct DecentralizedAuth {
  NKey operator_key{NKey::kOperator};
  NKey account_key{NKey::kAccount};
  NKey system_account_key{NKey::kAccount};  // JetStream needs a system account in operator mode
  NKey user_key{NKey::kUser};

  // The nats-server config lines (add listen address and store with flags).
  std::string server_config() const {
    const std::string operator_jwt = operator_key.jwt(
        operator_key.public_key(), "lagpilot-test-operator", {{"type", "operator"}});
    const nlohmann::json limits{{"subs", -1},         {"conn", -1},        {"leaf", -1},
                                {"imports", -1},      {"exports", -1},     {"data", -1},
                                {"payload", -1},      {"wildcards", true}, {"mem_storage", -1},
                                {"disk_storage", -1}, {"streams", -1},     {"consumer", -1}};
    const std::string account_jwt =
        operator_key.jwt(account_key.public_key(), "lagpilot-test-account",
                         {{"type", "account"}, {"limits", limits}});
    const std::string system_jwt =
        operator_key.jwt(system_account_key.public_key(), "SYS", {{"type", "account"}});
    return "operator: \"" + operator_jwt +
           "\"\nsystem_account: " + system_account_key.public_key() +
           "\nresolver: MEMORY\nresolver_preload: {\n  " + account_key.public_key() + ": \"" +
           account_jwt + "\"\n  " + system_account_key.public_key() + ": \"" + system_jwt +
           "\"\n}\n";
  }
  // The user's credentials file, as `nsc generate creds` writes it.
  std::string user_creds() const {
    const nlohmann::json user{{"type", "user"},
                              {"pub", nlohmann::json::object()},
                              {"sub", nlohmann::json::object()},
                              {"subs", -1},
                              {"data", -1},
                              {"payload", -1}};
    return "-----BEGIN NATS USER JWT-----\n" +
           account_key.jwt(user_key.public_key(), "lagpilot-test-user", user) +
           "\n------END NATS USER JWT------\n\n"
           "************************* IMPORTANT *************************\n"
           "NKEY Seed printed below can be used to sign and prove identity.\n"
           "NKEYs are sensitive and should be treated as secrets.\n\n"
           "-----BEGIN USER NKEY SEED-----\n" +
           user_key.seed() + "\n------END USER NKEY SEED------\n";
  }
};

}  // namespace lagpilot::testkit
