// The latency controller against the arrival patterns a real guest produces
// (tests/unit/audio/arrival_sim.hpp), in simulated time: the rows of
// `porthole-bench-audio --arrivals --quick` the controller is inaudible on,
// judged by the criteria. Each row failed with the proportional loop
// on the instantaneous fill (a pitch swinging between its limits, or
// dropouts); a row missing here still fails (see the bench's table).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>

#include "arrival_sim.hpp"

namespace porthole::test {
namespace {

struct Row {
    Arrival arrival;
    double target_ms;
    double drift;  // guest clock: +0.005 = 0.5% fast
};

std::ostream& operator<<(std::ostream& os, const Row& r) {
    return os << arrival_name(r.arrival) << ' ' << r.target_ms << " ms, drift " << r.drift * 100
              << '%';
}

// The same runs as the bench's --quick table: 30 s, measured after 15 s.
void expect_inaudible(const Row& row) {
    const ArrivalRunConfig rc{row.arrival, row.target_ms, row.drift, 30, 15};
    const auto r = run_arrivals(rc);
    // Latency within 1 ms of what the engine holds, or a quantum where that
    // is larger (the output takes whole quanta).
    const double tol = std::max(1.0, r.quantum * 1000.0 / 48000.0);
    EXPECT_LE(r.p95_cents, 2.0) << row;
    EXPECT_LE(r.max_cents, 5.0) << row;
    EXPECT_EQ(r.dropouts, 0U) << row;
    EXPECT_EQ(r.resets, 0U) << row;
    EXPECT_NEAR(r.latency_ms, r.engine_target_ms, tol) << row;
}

// Where the guest stalls longer than the latency held can bridge (see
// gap_is_physical_stall): one dropout per stall is physics, anything beyond
// it and every other criterion is the controller's.
void expect_clean_but_for_stalls(const Row& row) {
    const ArrivalRunConfig rc{row.arrival, row.target_ms, row.drift, 30, 15};
    const auto r = run_arrivals(rc);
    const auto v = judge(r);
    EXPECT_GT(r.stalls, 0U) << row;
    EXPECT_TRUE(v.pitch_ok) << row << ": p95 " << r.p95_cents << ", max " << r.max_cents;
    EXPECT_TRUE(v.dropouts_ok) << row << ": " << r.dropouts << " dropouts, " << r.resets
                               << " re-buffers, " << r.stalls << " stalls";
    EXPECT_TRUE(v.latency_ok) << row << ": " << r.latency_ms << " ms, holding "
                              << r.engine_target_ms;
}

// Perfectly regular chunks at 60 and 100 ms: the old loop's gain swung the
// ratio between its limits there (a 17-cent warble most of the time).
TEST(ArrivalMatrix, RegularChunksAreInaudibleAtLongTargets) {
    for (const double target : {40.0, 60.0, 100.0, 200.0})
        for (const double drift : {0.0, 0.005, -0.005})
            expect_inaudible({Arrival::regular, target, drift});
}

// Scream's 20 ms chunks on a 10 ms DPC timer: the fill jumps by a whole
// chunk; the filtered fill and the floor keep the pitch still.
TEST(ArrivalMatrix, ScreamDpcChunksAreInaudibleFromFortyMsUp) {
    for (const double target : {40.0, 60.0})
        for (const double drift : {0.0, 0.005, -0.005, 0.01, -0.01})
            expect_inaudible({Arrival::dpc, target, drift});
    expect_inaudible({Arrival::dpc, 20.0, 0.0});
    expect_inaudible({Arrival::dpc, 100.0, 0.0});
}

// Chunks 10, 20 or 30 ms apart: about one dropout a second at 20 ms before;
// the floor learned from the gaps holds every target, with drift.
TEST(ArrivalMatrix, JitteredChunksAreInaudibleAtEveryTarget) {
    for (const double target : {5.0, 20.0, 40.0, 60.0})
        for (const double drift : {0.0, 0.005, -0.005, 0.01, -0.01})
            expect_inaudible({Arrival::jitter, target, drift});
    for (const double target : {10.0, 100.0, 200.0})
        expect_inaudible({Arrival::jitter, target, 0.0});
}

// A guest that stalls 100 ms every 5 s: at 200 ms the buffer rides it out
// without a dropout, and the backlog it writes after is not a trim.
TEST(ArrivalMatrix, BurstyGuestIsRiddenOutAtTwoHundredMs) {
    for (const double drift : {0.0, 0.005, -0.005, 0.01})
        expect_inaudible({Arrival::bursty, 200.0, drift});
}

// The same guest below 200 ms: each 110 ms gap runs the buffer dry (one
// dropout each, 3 in the measured 15 s). The re-buffer starts on the guest's
// next regular write, not on the backlog that ends the stall (whose newest
// chunk is already 10 ms old: starting there sat 5 ms high, the grain taken
// from the backlog up to 50 ms high, and the glide back was heard), so
// nothing but the dropout itself is heard.
TEST(ArrivalMatrix, BurstyGuestCostsOneDropoutPerStallAndNothingElse) {
    for (const double target : {5.0, 10.0})
        for (const double drift : {0.0, 0.005, -0.005, 0.01, -0.01})
            expect_clean_but_for_stalls({Arrival::bursty, target, drift});
    for (const double drift : {-0.005, 0.01, -0.01})
        expect_clean_but_for_stalls({Arrival::bursty, 20.0, drift});
    for (const double drift : {0.0, 0.005})
        expect_clean_but_for_stalls({Arrival::bursty, 40.0, drift});
    for (const double drift : {0.005, -0.005, 0.01})
        expect_clean_but_for_stalls({Arrival::bursty, 60.0, drift});
    for (const double drift : {0.0, 0.005, -0.005, 0.01, -0.01})
        expect_clean_but_for_stalls({Arrival::bursty, 100.0, drift});
}

}  // namespace
}  // namespace porthole::test
