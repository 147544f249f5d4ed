#include "controllers/own_status_writes.h"

#include <gtest/gtest.h>

namespace lagpilot::controllers {
namespace {

using nlohmann::json;

json object_at(const std::string& resource_version, const json& status) {
  json object = {{"metadata", {{"name", "orders"}, {"resourceVersion", resource_version}}}};
  if (!status.is_null()) object["status"] = status;
  return object;
}

const json kOneEntry = {{"scalingHistory", json::array({{{"from", 1}, {"to", 10}}})}};
const json kTwoEntries = {
    {"scalingHistory", json::array({{{"from", 10}, {"to", 5}}, {{"from", 1}, {"to", 10}}})}};

TEST(ResourceVersionNumber, ReadsDecimalNumbersOnly) {
  EXPECT_EQ(resource_version_number("12345"), 12345u);
  EXPECT_EQ(resource_version_number("0"), 0u);
  EXPECT_EQ(resource_version_number(""), std::nullopt);
  EXPECT_EQ(resource_version_number("12a"), std::nullopt);
  EXPECT_EQ(resource_version_number("-1"), std::nullopt);
  EXPECT_EQ(resource_version_number("99999999999999999999999"), std::nullopt);
}

TEST(OwnStatusWrites, WithoutAWriteTheCacheIsTheSource) {
  OwnStatusWrites writes;
  EXPECT_EQ(writes.status_to_build_on(object_at("7", kOneEntry)), kOneEntry);
  EXPECT_EQ(writes.status_to_build_on(object_at("7", nullptr)), json::object());
}

TEST(OwnStatusWrites, AWriteTheCacheHasNotSeenIsTheSource) {
  OwnStatusWrites writes;
  writes.wrote(object_at("20", kTwoEntries));
  // The cache still has the object before the write (or none of its status).
  EXPECT_EQ(writes.status_to_build_on(object_at("12", kOneEntry)), kTwoEntries);
  EXPECT_EQ(writes.status_to_build_on(object_at("12", nullptr)), kTwoEntries);
  EXPECT_TRUE(writes.remembers_a_write());
}

TEST(OwnStatusWrites, TheCacheIsTheSourceAgainOnceItHasTheWrite) {
  OwnStatusWrites writes;
  writes.wrote(object_at("20", kOneEntry));
  EXPECT_EQ(writes.status_to_build_on(object_at("20", kOneEntry)), kOneEntry);
  EXPECT_FALSE(writes.remembers_a_write()) << "forgotten once the cache has it";
  // Later cached versions come from the cache, even with fewer entries (the user cleared them).
  EXPECT_EQ(writes.status_to_build_on(object_at("25", json::object())), json::object());
}

TEST(OwnStatusWrites, ANewerCachedObjectWinsOverOurWrite) {
  // Another leader wrote after us (a fail-over and back): its status is the newer one.
  OwnStatusWrites writes;
  writes.wrote(object_at("20", kOneEntry));
  EXPECT_EQ(writes.status_to_build_on(object_at("31", kTwoEntries)), kTwoEntries);
  EXPECT_FALSE(writes.remembers_a_write());
}

TEST(OwnStatusWrites, TheNewestWriteIsRemembered) {
  OwnStatusWrites writes;
  writes.wrote(object_at("20", kOneEntry));
  writes.wrote(object_at("22", kTwoEntries));
  EXPECT_EQ(writes.status_to_build_on(object_at("12", json::object())), kTwoEntries);
  EXPECT_EQ(writes.status_to_build_on(object_at("21", kOneEntry)), kTwoEntries);
}

TEST(OwnStatusWrites, VersionsThatAreNoNumbersLeaveTheCacheTheSource) {
  OwnStatusWrites writes;
  writes.wrote(object_at("20", kTwoEntries));
  EXPECT_EQ(writes.status_to_build_on(object_at("opaque", kOneEntry)), kOneEntry);
  writes.wrote(object_at("opaque", kTwoEntries));
  EXPECT_FALSE(writes.remembers_a_write());
  EXPECT_EQ(writes.status_to_build_on(object_at("12", kOneEntry)), kOneEntry);
}

}  // namespace
}  // namespace lagpilot::controllers
