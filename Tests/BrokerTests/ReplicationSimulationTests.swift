import Foundation
import XCTest
@testable import Broker

/// Runs the data-path simulation (``ReplicationSimulation``) over a range of seeds. CI runs
/// `defaultRuns` seeds from 1; `SAMSA_REPL_SEED=<n>` replays one with its trace on failure,
/// `SAMSA_REPL_RUNS` / `SAMSA_REPL_SEED_BASE` run longer batches (scripts/replication-sim.sh).
final class ReplicationSimulationTests: XCTestCase {
    static let defaultRuns = 60
    static let steps = 600

    private func env(_ key: String) -> String? { ProcessInfo.processInfo.environment[key] }

    func testSeeds() throws {
        let runs = env("SAMSA_REPL_RUNS").flatMap(Int.init) ?? Self.defaultRuns
        let base = env("SAMSA_REPL_SEED_BASE").flatMap(UInt64.init) ?? 1
        var totals = (produced: 0, acked: 0, truncations: 0, elections: 0, faults: 0)
        for seed in base..<(base + UInt64(runs)) {
            let sim = try ReplicationSimulation(seed: seed)
            try sim.run(steps: Self.steps)
            totals.produced += sim.stats.produced; totals.acked += sim.stats.acked
            totals.truncations += sim.stats.truncations; totals.elections += sim.stats.elections
            totals.faults += sim.stats.faults
        }
        print("replication simulation: \(runs) seeds from \(base): \(totals.produced) records produced, \(totals.acked) acknowledged, \(totals.elections) leader elections, \(totals.truncations) follower truncations, \(totals.faults) faults")
        // The runs must exercise what they claim to test.
        XCTAssertGreaterThan(totals.acked, runs * 20)
        XCTAssertGreaterThan(totals.elections, runs)
        XCTAssertGreaterThan(totals.truncations, 0, "no run made a follower truncate")
    }

    func testReplaySeed() throws {
        guard let seed = env("SAMSA_REPL_SEED").flatMap(UInt64.init) else { throw XCTSkip("set SAMSA_REPL_SEED to replay one seed") }
        let sim = try ReplicationSimulation(seed: seed)
        try sim.run(steps: env("SAMSA_REPL_STEPS").flatMap(Int.init) ?? Self.steps)
        print(sim.trace.joined(separator: "\n"))
        print("seed \(seed): \(sim.stats)")
    }
}
