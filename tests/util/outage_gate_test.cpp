#include "util/outage_gate.h"

#include <gtest/gtest.h>

namespace lagpilot {
namespace {

TEST(OutageGate, KeysThatAnswerAreNeverHeldBack) {
  OutageGate gate;
  for (int i = 0; i < 3; ++i) {
    auto pass = gate.enter("orders", "Down");
    ASSERT_TRUE(pass.ok());
    EXPECT_FALSE(pass->probe);
    EXPECT_EQ(gate.leave(*pass, "orders", true, ""), "");
  }
  EXPECT_FALSE(gate.down("orders"));
}

TEST(OutageGate, DuringAnOutageOneCallerProbesAndTheOthersFailAtOnceWithTheFirstFailure) {
  OutageGate gate;
  auto first = gate.enter("orders", "Down");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(gate.leave(*first, "orders", false, "timed out (broker 1)"), "timed out (broker 1)");
  EXPECT_TRUE(gate.down("orders"));

  auto probe = gate.enter("orders", "Down");
  ASSERT_TRUE(probe.ok());
  EXPECT_TRUE(probe->probe);
  auto held = gate.enter("orders", "Down");
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.error().code, "Down");
  EXPECT_EQ(held.error().message, "timed out (broker 1)");
  auto other = gate.enter("payments", "Down");  // not down: goes ahead
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->probe);
  (void)gate.leave(*other, "payments", true, "");

  // The probe fails too, with other words: the outage keeps its first message.
  EXPECT_EQ(gate.leave(*probe, "orders", false, "timed out (broker 2)"), "timed out (broker 1)");
  auto next_probe = gate.enter("orders", "Down");  // the probe slot is free again
  ASSERT_TRUE(next_probe.ok());
  EXPECT_TRUE(next_probe->probe);
  (void)gate.leave(*next_probe, "orders", false, "refused");
}

TEST(OutageGate, AnAnsweredProbeEndsEveryOutageOfTheGate) {
  OutageGate gate;
  for (const char* key : {"orders", "payments"}) {
    auto pass = gate.enter(key, "Down");
    ASSERT_TRUE(pass.ok());
    (void)gate.leave(*pass, key, false, std::string(key) + " timed out");
  }
  auto probe = gate.enter("orders", "Down");
  ASSERT_TRUE(probe.ok() && probe->probe);
  (void)gate.leave(*probe, "orders", true, "");
  EXPECT_FALSE(gate.down("orders"));
  EXPECT_FALSE(gate.down("payments"));
}

TEST(OutageGate, AnAnswerOutsideAProbeEndsOnlyItsKeysOutage) {
  OutageGate gate;
  for (const char* key : {"orders", "payments"}) {
    auto pass = gate.enter(key, "Down");
    (void)gate.leave(*pass, key, false, "timed out");
  }
  // A caller that entered before "orders" went down (no probe) and was answered afterwards.
  (void)gate.leave(OutageGate::Pass{}, "orders", true, "");
  EXPECT_FALSE(gate.down("orders"));
  EXPECT_TRUE(gate.down("payments"));
}

}  // namespace
}  // namespace lagpilot
